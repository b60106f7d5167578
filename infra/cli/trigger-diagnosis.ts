/**
 * Why nobody entered a journey in a simulation: how many of the events on the bus its trigger matched and,
 * when none did, the closest miss (an event of the trigger's name and which of the pattern's fields it
 * failed, with the value it had), or, when no event has that name, the names that came and the nearest one.
 * Read from the bus log of the simulation (what really went on the bus, derived events included), with the
 * same EventBridge-pattern matcher the rules use.
 */
import { matchesEventPattern, type EventPattern } from '../../shared/pattern';
import { OR_KEY } from '../../shared/pattern/matcher';
import { closest } from '../../shared/segmentation/text';

interface BusEventLike {
  source?: unknown;
  'detail-type'?: unknown;
  detail?: unknown;
}

/** The pattern's leaves, each as a pattern of its own (the path down to one value list); `$or` alternatives are left whole. */
function leaves(pattern: EventPattern, path: string[] = []): Array<{ path: string[]; pattern: EventPattern }> {
  return Object.entries(pattern).flatMap(([key, value]) => {
    const here = [...path, key];
    if (key !== OR_KEY && value !== null && typeof value === 'object' && !Array.isArray(value)) return leaves(value as EventPattern, here);
    const nested = here.reduceRight<EventPattern>((inner, k) => ({ [k]: inner }) as unknown as EventPattern, value as unknown as EventPattern);
    return [{ path: here, pattern: nested }];
  });
}

const valueAt = (event: unknown, path: readonly string[]): unknown =>
  path.reduce<unknown>((node, key) => (Array.isArray(node) ? node.map((n) => (n as Record<string, unknown>)?.[key]) : (node as Record<string, unknown> | undefined)?.[key]), event);

const show = (value: unknown) => (value === undefined ? 'none' : JSON.stringify(value));

/** Lines saying how the trigger fared against the events (empty when it matched some). */
export function diagnoseTrigger(events: readonly BusEventLike[], patterns: readonly EventPattern[]): string[] {
  const matched = events.filter((e) => patterns.some((p) => matchesEventPattern(p, e))).length;
  if (matched > 0) return [];
  const lines = [`the trigger matched 0 of ${events.length} events on the bus`];
  for (const pattern of patterns) {
    const names = (Array.isArray(pattern['detail-type']) ? pattern['detail-type'] : []).filter((n): n is string => typeof n === 'string');
    const named = events.filter((e) => typeof e['detail-type'] === 'string' && names.includes(e['detail-type']));
    if (named.length === 0) {
      const seen = new Map<string, number>();
      for (const e of events) if (typeof e['detail-type'] === 'string') seen.set(e['detail-type'], (seen.get(e['detail-type']) ?? 0) + 1);
      const nearest = names.map((n) => closest(n, [...seen.keys()])).find((n) => n !== undefined);
      const common = [...seen].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([n, k]) => `${n} ${k}`).join(', ');
      lines.push(`no ${names.join(' or ') || 'matching'} event came${nearest !== undefined ? ` (did you mean ${nearest}?)` : ''}; the events were: ${common || 'none'}`);
      continue;
    }
    // The closest miss: the named event failing the fewest of the pattern's fields.
    const fields = leaves(pattern).filter((l) => l.path[0] !== 'detail-type');
    let best: { event: BusEventLike; failed: typeof fields } | undefined;
    for (const event of named) {
      const failed = fields.filter((f) => !matchesEventPattern(f.pattern, event));
      if (best === undefined || failed.length < best.failed.length) best = { event, failed };
    }
    const failedText = best!.failed.map((f) => `${f.path.slice(f.path[0] === 'detail' ? 1 : 0).join('.')} ${show(valueAt(best!.event, f.path))} (expected ${JSON.stringify(valueAt(pattern, f.path))})`).join(', ');
    lines.push(`${named.length} ${names.join(' or ')} event(s) came, none matching; the closest had ${failedText || 'every field but one alternative of $or'}`);
    // Categories the events never carry: the demo generates a population with them.
    const categories = best!.failed.filter((f) => f.path.at(-1) === 'category').flatMap((f) => [valueAt(pattern, f.path)].flat()).filter((v): v is string => typeof v === 'string');
    if (categories.length > 0) lines.push(`a population whose orders have these categories: npm run demo -- --categories ${[...new Set(categories)].join(',')} --out demo.ndjson --generate-only`);
  }
  return lines;
}
