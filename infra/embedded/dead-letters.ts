import { join } from 'node:path';
import { decodeTagValue } from '../../functions/feedback';
import { RENDERED_FOR_TAG } from '../../functions/journeys/test-send';
import type { BusEvent } from './event-bus';
import { idNumber, NdjsonLog } from './ndjson-log';

/** An event a target failed on after its retries (EventBridge would send it to the DLQ). */
export interface DeadLetter {
  /** `dl-N`, increasing across restarts. */
  id: string;
  /** The bus rule that delivered it (its redrive goes to that rule's target again). */
  rule?: string;
  functionName: string;
  event: BusEvent;
  error: string;
  attempts: number;
  at: string;
  /**
   * Set while the sink has not yet checked the tombstones of the ids the letter names (`idsNamedBy`): it is
   * written so (a crash before the check leaves it set), cleared in memory once checked, and checked again at
   * start, before a listing or redrive, and at stop. Until then a listing withholds its event.
   */
  unchecked?: true;
  /**
   * Its event is reduced to its consent denials and suppressions (`denialsOnly`): a denial of an erased customer received
   * after the erasure completed, kept for their new life (the sink's check hands it on). Redaction keeps it, unless a
   * later erasure of the customer completed after its receipt.
   */
  denials?: true;
}

/**
 * The ids an event names, as erasure reads them (the dead-letter sink's tombstone check and `erasure.redact`
 * share it): `userId`, `previousId` and `properties.customerId` name a customer (or, as a profile id, a visitor
 * `anon:<v>`), `anonymousId` names visitor `anon:<v>`, and an SES event names its customer in the message's
 * `customer` tag (simulated feedback; its `mail` holds the address too). Never both: visitor `anon:B` is not `B`.
 */
export function idsNamedBy(detail: unknown): string[] {
  if (typeof detail !== 'object' || detail === null) return [];
  const d = detail as { userId?: unknown; anonymousId?: unknown; previousId?: unknown; properties?: { customerId?: unknown }; mail?: { tags?: Record<string, unknown> } };
  const tagged = (name: string) => {
    const value = d.mail?.tags?.[name];
    return Array.isArray(value) && typeof value[0] === 'string' ? decodeTagValue(value[0]) : undefined;
  };
  // The customer a message was for, or (a test send) the customer it was rendered with.
  const tag = tagged('customer');
  const renderedFor = tagged(RENDERED_FOR_TAG);
  const customerId = typeof d.properties === 'object' && d.properties !== null ? d.properties.customerId : undefined;
  const ids = [d.userId, d.previousId, customerId, tag, renderedFor, statusChangeCustomer(detail)].filter((x): x is string => typeof x === 'string');
  if (typeof d.anonymousId === 'string') ids.push(`anon:${d.anonymousId}`);
  return [...new Set(ids)];
}

/**
 * A live customer's event without the ids it names to join that are erased (`erased`): a visitor its `anonymousId`
 * links (an event with a `userId`, an alias included), a known id an alias's `previousId` joins. The link is the erased
 * life's; the rest is the customer's, and the profile consumer applies it so (`withoutJoin`). Undefined when the
 * event names no erased id to join. Whether the customer it names is live is the caller's to check.
 */
export function withoutErasedJoin(detail: unknown, erased: (id: string) => boolean): object | undefined {
  if (typeof detail !== 'object' || detail === null) return undefined;
  const d = detail as { type?: unknown; userId?: unknown; anonymousId?: unknown; previousId?: unknown };
  // An alias's previousId, and any event's anonymousId beside a userId (Segment's SDKs add it to every call, an alias too).
  const previous = d.type === 'alias' && typeof d.previousId === 'string' && erased(d.previousId);
  const visitor = typeof d.userId === 'string' && typeof d.anonymousId === 'string' && erased(`anon:${d.anonymousId}`);
  if (!previous && !visitor) return undefined;
  const { previousId: _previousId, anonymousId: _anonymousId, ...rest } = d;
  return { ...rest, ...(!previous && d.previousId !== undefined && { previousId: d.previousId }), ...(!visitor && d.anonymousId !== undefined && { anonymousId: d.anonymousId }) };
}

/** The customer of a Step Functions "Execution Status Change" (a journey run's end): `customerId` in its `input` (JSON text). */
function statusChangeCustomer(detail: object): string | undefined {
  const input = (detail as { input?: unknown; executionArn?: unknown }).input;
  if (typeof input !== 'string' || typeof (detail as { executionArn?: unknown }).executionArn !== 'string') return undefined;
  try {
    const parsed = JSON.parse(input) as { customerId?: unknown };
    return typeof parsed.customerId === 'string' ? parsed.customerId : undefined;
  } catch {
    return undefined;
  }
}

/** Where a target puts what it gave up on. */
export interface DeadLetterSink {
  add(letter: Omit<DeadLetter, 'id'>): DeadLetter | Promise<unknown>;
}

/**
 * The embedded engine's dead-letter queue: in memory (`letters`) and, with a data
 * folder, in `<dataDir>/dead-letters.ndjson`, reloaded at start. A letter is written
 * before its delivery counts as finished (the bus cursor moves past it only then).
 */
export class DeadLetters implements DeadLetterSink {
  readonly letters: DeadLetter[] = [];
  readonly #file: NdjsonLog<DeadLetter>;

  constructor(dataDir?: string) {
    this.#file = new NdjsonLog<DeadLetter>(dataDir ? join(dataDir, 'dead-letters.ndjson') : undefined, (l) => idNumber(l.id));
    for (const letter of this.#file.load()) this.letters.push(letter);
  }

  add(letter: Omit<DeadLetter, 'id'>): DeadLetter {
    const full: DeadLetter = { id: `dl-${this.#file.next()}`, ...letter };
    this.letters.push(full);
    this.#file.append(full);
    return full;
  }

  /** Letters whose tombstone check is owed (`unchecked`). */
  unchecked(): DeadLetter[] {
    return this.letters.filter((l) => l.unchecked);
  }

  /** The check of this letter was made: in memory only (the file keeps the mark until its next rewrite; a start checks it again). */
  checked(id: string): void {
    const letter = this.letters.find((l) => l.id === id);
    if (letter) delete letter.unchecked;
  }

  /** Put `letter` in place of the letter with its id (its event reduced, `denials`), in memory and in the file. */
  replace(letter: DeadLetter): void {
    const i = this.letters.findIndex((l) => l.id === letter.id);
    if (i < 0) return;
    this.letters[i] = letter;
    this.#file.rewrite(this.letters);
  }

  /** Remove letters (redriven, or of an erased customer). Returns those removed. */
  remove(predicate: (letter: DeadLetter) => boolean): DeadLetter[] {
    const removed = this.letters.filter(predicate);
    if (removed.length === 0) return [];
    const kept = this.letters.filter((l) => !predicate(l));
    this.letters.splice(0, this.letters.length, ...kept);
    this.#file.rewrite(kept);
    return removed;
  }
}

export interface RedriveResult {
  /** Delivered to their rule's target again; `outcome` says whether it failed again (then it is a new letter, `newId`). */
  redriven: Array<{ id: string; outcome: 'delivered' | 'dead-lettered again'; newId?: string }>;
  /** Asked-for ids that are not dead letters (or are being redriven already). */
  notFound: string[];
  /** Letters whose rule no longer exists (a journey removed): left in place. */
  noRule: string[];
}

/**
 * Redrive dead letters (all, or those with the given ids): each goes to its rule's target again, and
 * leaves the list once that delivery has finished (a crash meanwhile keeps it: at least once). A
 * delivery that fails again after its retries is a new dead letter.
 */
export async function redrive(
  letters: DeadLetters,
  deliver: (rule: string, event: BusEvent) => Promise<void> | undefined,
  ids?: readonly string[],
  inProgress: Set<string> = new Set(),
): Promise<RedriveResult> {
  const wanted = ids ? new Set(ids) : undefined;
  const chosen = letters.letters.filter((l) => (!wanted || wanted.has(l.id)) && !inProgress.has(l.id));
  const notFound = wanted ? [...wanted].filter((id) => !chosen.some((l) => l.id === id)) : [];
  const noRule: string[] = [];
  const runs: Array<Promise<RedriveResult['redriven'][number]>> = [];
  const before = new Set(letters.letters.map((l) => l.id));
  for (const letter of chosen) {
    const delivery = letter.rule === undefined ? undefined : deliver(letter.rule, letter.event);
    if (!delivery) {
      noRule.push(letter.id);
      continue;
    }
    inProgress.add(letter.id);
    runs.push(
      delivery.then(() => {
        inProgress.delete(letter.id);
        letters.remove((l) => l.id === letter.id);
        const again = letters.letters.find((l) => !before.has(l.id) && l.rule === letter.rule && l.event.id === letter.event.id);
        return again ? { id: letter.id, outcome: 'dead-lettered again' as const, newId: again.id } : { id: letter.id, outcome: 'delivered' as const };
      }),
    );
  }
  return { redriven: await Promise.all(runs), notFound, noRule };
}
