import { LIFECYCLE_STAGES, profileTags, VALUE_TIERS, type Profile } from '../profile';

/**
 * Segments: every tag, lifecycle stage and RFM value tier is a segment a marketer can count, list and
 * (later) send to, and workflows/segments.yaml names more as conditions. Ids: `tag:<name>`,
 * `lifecycle:<stage>`, `rfm:<tier>`, `segment:<id>`.
 *
 * Members are known customers: a visitor (`anon:<id>`) is counted once identified, as the customer it
 * joins; a customer joined into another by alias leaves every segment (the joined customer holds it all).
 */
export const SEGMENT_KINDS = ['tag', 'lifecycle', 'rfm', 'segment'] as const;
export type SegmentKind = (typeof SEGMENT_KINDS)[number];

/** The outbox entry of one membership change (never published: the profile consumer applies it to the segment counts). */
export const SEGMENT_CHANGE = 'rapport:segment-change';
/** The outbox entry that takes a customer joined into another by alias out of every segment. */
export const SEGMENT_LEAVE_ALL = 'rapport:segment-leave-all';
/** Whether an outbox entry is a segment entry (applied to the counts) rather than a derived event (published). */
export const isSegmentEntry = (o: { name: string }): boolean => o.name === SEGMENT_CHANGE || o.name === SEGMENT_LEAVE_ALL;

/** Whether a customer id is counted in segments (known customers, not visitors). */
export const inSegments = (customerId: string): boolean => !customerId.startsWith('anon:');

/** The segments a profile is a member of, sorted. */
export function segmentsOf(profile: Pick<Profile, 'computedTags' | 'manualTags' | 'journeyTags' | 'lifecycleStage' | 'rfm' | 'namedSegments'>): string[] {
  return [
    ...[...profileTags(profile)].map((t) => `tag:${t}`),
    `lifecycle:${profile.lifecycleStage}`,
    ...(profile.rfm.tier !== undefined ? [`rfm:${profile.rfm.tier}`] : []),
    ...(profile.namedSegments ?? []).map((s) => `segment:${s}`),
  ].sort();
}

/** The segments entered and left between two states of one profile (`before` undefined: a new profile), each sorted. */
export function segmentChanges(before: Parameters<typeof segmentsOf>[0] | undefined, after: Parameters<typeof segmentsOf>[0]): { entered: string[]; left: string[] } {
  const was = new Set(before ? segmentsOf(before) : []);
  const is = new Set(segmentsOf(after));
  return { entered: [...is].filter((s) => !was.has(s)), left: [...was].filter((s) => !is.has(s)) };
}

/** A segment id taken apart, or a reason it is not one (for a 400 that names the problem). */
export function parseSegmentId(id: string): { kind: SegmentKind; value: string } | { error: string } {
  const at = id.indexOf(':');
  const kind = id.slice(0, at);
  const value = id.slice(at + 1);
  if (at < 1 || !(SEGMENT_KINDS as readonly string[]).includes(kind)) return { error: `segment id ${JSON.stringify(id)} must be <kind>:<value> with kind one of ${SEGMENT_KINDS.join(', ')}` };
  if (value.length === 0 || value.length > 200) return { error: `segment id ${JSON.stringify(id)}: the ${kind} after "${kind}:" must be 1 to 200 characters` };
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(value)) return { error: `segment id ${JSON.stringify(id)}: control characters are not allowed` };
  if (kind === 'segment' && !/^[a-z0-9]+(?:[-_][a-z0-9]+)*$/.test(value)) return { error: `segment id ${JSON.stringify(id)}: a named segment's id is lowercase letters, digits, "-" or "_" (workflows/segments.yaml)` };
  if (kind === 'lifecycle' && !(LIFECYCLE_STAGES as readonly string[]).includes(value)) return { error: `segment id ${JSON.stringify(id)}: lifecycle stage must be one of ${LIFECYCLE_STAGES.join(', ')}` };
  if (kind === 'rfm' && !(VALUE_TIERS as readonly string[]).includes(value)) return { error: `segment id ${JSON.stringify(id)}: RFM tier must be one of ${VALUE_TIERS.join(', ')}` };
  return { kind: kind as SegmentKind, value };
}

/** The segments that always exist (every lifecycle stage and RFM tier) and the named ones configured. */
export function knownSegments(named: readonly string[] = []): string[] {
  return [...new Set([...LIFECYCLE_STAGES.map((s) => `lifecycle:${s}`), ...VALUE_TIERS.map((t) => `rfm:${t}`), ...named.map((id) => `segment:${id}`)])].sort();
}
