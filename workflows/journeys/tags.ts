/**
 * The tags a journey reads, and the tags it adds. A journey reads a tag in a
 * `Tag Added` / `Tag Removed` pattern (trigger, goals, exits, wait_for, an event
 * condition), in `audience.tags`, in a branch's `{ tag: ... }` condition and in a
 * `tag: { remove }` step. Each must be a tag that can exist: a tag rule, a tag
 * some journey adds with `tag: { add }`, or a manual tag declared in tags.yaml
 * (`manualTags`); a misspelt one would silently never match.
 */
import { DERIVED_EVENTS } from '../../shared';
import { didYouMean } from '../../shared/segmentation';
import type { PathSegment } from './errors';
import type { Journey } from './schema';

/** The tags that can exist, for the meaning pass. */
export interface KnownTags {
  /** The tag rules' names (tags.yaml `tags[].name`). */
  readonly rules: Iterable<string>;
  /** The manual tags declared in tags.yaml (`manualTags[].name`). */
  readonly manual: Iterable<string>;
  /** Tags the journeys add with `tag: { add }`; the checked journey's own adds count without being listed. */
  readonly added?: Iterable<string>;
}

export interface TagRead {
  readonly path: readonly PathSegment[];
  readonly tag: string;
}

const TAG_EVENTS: ReadonlySet<string> = new Set([DERIVED_EVENTS.TAG_ADDED, DERIVED_EVENTS.TAG_REMOVED]);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The tags `journey` adds with `tag: { add }` steps. */
export function addedTags(journey: Pick<Journey, 'steps'>): string[] {
  return journey.steps.flatMap((step) => ('tag' in step && 'add' in step.tag ? [step.tag.add] : []));
}

/** The tags added by `tag: { add }` steps in a journey as parsed from YAML, before (or without) the shape check. */
export function addedTagsInDocument(document: unknown): string[] {
  const steps = isRecord(document) && Array.isArray(document['steps']) ? document['steps'] : [];
  return steps.flatMap((step) => {
    const tag = isRecord(step) ? step['tag'] : undefined;
    return isRecord(tag) && typeof tag['add'] === 'string' ? [tag['add']] : [];
  });
}

/** Every tag `journey` reads, with the path of the node that names it. */
export function tagReads(journey: Journey): TagRead[] {
  const reads: TagRead[] = [];
  const filter = (f: { event: string; where?: Record<string, unknown> | undefined }, at: PathSegment[]) => {
    if (TAG_EVENTS.has(f.event) && f.where !== undefined) patternReads(f.where, [...at, 'where'], reads);
  };
  filter(journey.trigger, ['trigger']);
  journey.goals?.forEach((goal, i) => filter(goal, ['goals', i]));
  journey.exits?.forEach((exit, i) => filter(exit, ['exits', i]));
  for (const list of ['include', 'exclude'] as const) {
    journey.audience?.tags?.[list]?.forEach((tag, i) => reads.push({ path: ['audience', 'tags', list, i], tag }));
  }
  journey.steps.forEach((step, index) => {
    const at: PathSegment[] = ['steps', index];
    if ('wait_for' in step) filter(step.wait_for, [...at, 'wait_for']);
    else if ('branch' in step) step.branch.forEach((rule, i) => 'when' in rule && conditionReads(rule.when, [...at, 'branch', i, 'when'], reads));
    else if ('tag' in step && 'remove' in step.tag) reads.push({ path: [...at, 'tag', 'remove'], tag: step.tag.remove });
  });
  return reads;
}

/** Tags named in the `tag` property of an event pattern (`{ tag: [vip] }`, also under `$or`); trigger references are left alone. */
function patternReads(pattern: Record<string, unknown>, at: PathSegment[], reads: TagRead[]): void {
  const values = pattern['tag'];
  if (Array.isArray(values)) {
    values.forEach((value, i) => {
      if (typeof value === 'string' && !value.includes('{{')) reads.push({ path: [...at, 'tag', i], tag: value });
    });
  }
  const alternatives = pattern['$or'];
  if (Array.isArray(alternatives)) alternatives.forEach((p, i) => isRecord(p) && patternReads(p, [...at, '$or', i], reads));
}

/** Tags a branch condition reads: `{ tag: x }` / `{ tag: [x, y] }`, and `Tag Added` / `Tag Removed` event conditions, at any depth. */
function conditionReads(condition: unknown, at: PathSegment[], reads: TagRead[]): void {
  if (!isRecord(condition)) return;
  const tag = condition['tag'];
  if (typeof tag === 'string') reads.push({ path: [...at, 'tag'], tag });
  else if (Array.isArray(tag)) tag.forEach((t, i) => typeof t === 'string' && reads.push({ path: [...at, 'tag', i], tag: t }));
  for (const kind of ['all', 'any'] as const) {
    const list = condition[kind];
    if (Array.isArray(list)) list.forEach((c, i) => conditionReads(c, [...at, kind, i], reads));
  }
  conditionReads(condition['not'], [...at, 'not'], reads);
  for (const kind of ['event', 'no_event'] as const) {
    const name = condition[kind];
    const where = condition['where'];
    if (typeof name === 'string' && TAG_EVENTS.has(name.trim()) && isRecord(where)) patternReads(where, [...at, 'where'], reads);
  }
}

/** `unknown tag "vipp" (did you mean "vip"?): expected ...`, or nothing when the tag can exist. */
export function unknownTagMessage(tag: string, known: { rules: readonly string[]; added: readonly string[]; manual: readonly string[] }): string | undefined {
  if (known.rules.includes(tag) || known.added.includes(tag) || known.manual.includes(tag)) return undefined;
  const list = (names: readonly string[]) => (names.length === 0 ? 'none' : names.join(', '));
  const candidates = [...new Set([...known.rules, ...known.added, ...known.manual])];
  return (
    `unknown tag "${tag}"${didYouMean(tag, candidates)}: expected a tag rule in tags.yaml (${list(known.rules)}), ` +
    `a tag a journey adds with tag: { add } (${list(known.added)}) or a manual tag declared under manualTags in tags.yaml (${list(known.manual)})`
  );
}
