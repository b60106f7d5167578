import type { Profile } from '../../shared';

/**
 * Bounds of one customer's profile as a whole, so its DynamoDB item stays under
 * 400 KB whatever valid events arrive (ARCHITECTURE decision 9). Per event the
 * ingest already refuses more than `SENDER_LIMITS`; these hold across many
 * events (identifies with ever new keys, long properties, many complaints).
 *
 * The worst case, every list full of incompressible text: traits and their
 * times 160 KB + recent events 96 KB + open complaints 100 × 200 B + product
 * views, resolved complaints and the outbox (~35 KB) + joined ids 100 × 256 B + purchases and the pairs of
 * the last two orders (co-purchases.ts, ~10 KB) ≈ 370 KB of JSON before
 * brotli (tests/integration/profile-limits.test.ts measures the stored item).
 */
export const PROFILE_LIMITS = {
  /** Distinct trait keys one profile keeps (a deleted trait keeps its key's time, so it counts). */
  traitKeys: 512,
  /** Bytes of the traits and their times, as JSON. */
  traitBytes: 160 * 1024,
  /** Bytes of the recent events the tag rules read, as JSON: the oldest go first beyond it. */
  recentEventBytes: 96 * 1024,
  /** Bytes of one recent event's properties, as JSON (lists of products included; see recent.ts). */
  recentEventPropertyBytes: 4 * 1024,
  /** Open complaints one profile tracks (ids of up to 200 characters). */
  openComplaints: 100,
  /** Characters of a recent event's property key, or a viewed product's category, kept. */
  keptKeyLength: 64,
  /** Refused trait writes kept on the profile as the record of why (newest last). */
  refusedTraits: 20,
  /**
   * Visitor ids one customer's profile lists (linked by identify). Linking never stops: past it the newest
   * is listed and the oldest leaves the list (evicted), still linked (its events land on the customer) and
   * marked in the customer's partition, so erasure still reaches it. An alias join unites two customers'
   * lists whole (a later link evicts one at a time), so erasure still reaches every one.
   */
  anonymousIds: 100,
  /**
   * Known ids joined into one customer by `alias` (`mergedIds`, ids of up to 256 characters: ≤ ~26 KB).
   * Past it an alias joins nothing: the event is applied to the customer (stats, timeline), and its
   * `previousId` stays a customer of its own (its events make its own profile, erasable by its id).
   * Not refused: a valid event never becomes a dead letter, and ingest cannot know a profile's count.
   * A join that would take the list past it (the other customer's own joined ids come along whole, so
   * erasure still reaches every one) joins nothing either.
   */
  mergedIds: 100,
  /** Tags journeys set on one profile (names come from the journeys' YAML): the first in name order are kept. */
  journeyTags: 100,
} as const;

/** A trait write the profile refused, and why: the value is not kept. */
export interface RefusedTrait {
  key: string;
  reason: string;
  at: string;
}

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value) ?? 'null');
/** What one key adds to the JSON of traits and traitTimes: `"key":value,` and `"key":"<time>",`. */
const entryBytes = (key: string, value: unknown, at: string) => 2 * (bytes(key) + 2) + bytes(value) + bytes(at);

/** Bytes of a profile's traits and their times, as JSON (what `PROFILE_LIMITS.traitBytes` bounds). */
export function traitBytes(p: Pick<Profile, 'traits' | 'traitTimes'>): number {
  return bytes(p.traits) + bytes(p.traitTimes);
}

/**
 * Set (or, with null, delete) one trait within `PROFILE_LIMITS`: a new key beyond
 * the key limit, or a value that would take the traits over their bytes, is refused
 * and recorded in `refusedTraits` (the old value stays). Shrinking or deleting a
 * trait is always allowed. `size` is the running `traitBytes`, updated in place.
 */
export function setTraitWithin(p: Profile, key: string, value: unknown, at: string, size: { bytes: number }): void {
  const known = Object.hasOwn(p.traitTimes, key);
  if (!known && Object.keys(p.traitTimes).length >= PROFILE_LIMITS.traitKeys) {
    return refuse(p, key, at, `the profile holds ${PROFILE_LIMITS.traitKeys} trait keys, the limit; a new key is not kept`);
  }
  const before = known ? entryBytes(key, Object.hasOwn(p.traits, key) ? p.traits[key] : null, p.traitTimes[key]!) : 0;
  const after = entryBytes(key, value, at);
  if (after > before && size.bytes + after - before > PROFILE_LIMITS.traitBytes) {
    return refuse(p, key, at, `the profile's traits would be ${size.bytes + after - before} bytes; the limit is ${PROFILE_LIMITS.traitBytes / 1024} KB`);
  }
  if (value === null) delete p.traits[key];
  else p.traits[key] = value;
  p.traitTimes[key] = at;
  size.bytes += after - before;
}

function refuse(p: Profile, key: string, at: string, reason: string): void {
  const kept = (p.refusedTraits ?? []).filter((r) => r.key !== key);
  p.refusedTraits = [...kept, { key: key.slice(0, 128), reason, at }].slice(-PROFILE_LIMITS.refusedTraits);
}
