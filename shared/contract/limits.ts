import { CHANNELS } from './known-events';

/**
 * What one sender may put into one customer's profile with one event, checked
 * at ingest (a 400 naming the field and the limit), so work per request and the
 * profile item stay bounded (ARCHITECTURE decision 9). Segment itself takes at
 * most 32 KB per event, so every event a Segment source sends fits these.
 */
export const SENDER_LIMITS = {
  /** Top-level keys in one event's `traits`. */
  traitsPerEvent: 256,
  /** Characters of one trait key. */
  traitKeyLength: 128,
  /** Bytes of one trait's value (as JSON, UTF-8). */
  traitValueBytes: 16 * 1024,
  /** Bytes of one event's `traits` (as JSON, UTF-8). */
  traitsBytes: 64 * 1024,
  /** Tags in one identify's `traits.tags` (each a declared manual tag, so in practice far fewer). */
  tagsPerEvent: 50,
  /** Characters of one tag name. */
  tagLength: 64,
} as const;

/** The tags senders may set through `traits.tags` (declared `manualTags`) and those Rapport computes (tag rules). */
export interface SenderTagPolicy {
  manual: ReadonlySet<string>;
  computed: ReadonlySet<string>;
}

/** One thing wrong with an event's traits: JSONPath and what is allowed. */
export interface TraitProblem {
  path: string;
  message: string;
}

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value) ?? '');
const KB = (n: number) => `${n / 1024} KB`;
const shown = (s: string) => JSON.stringify(s.length > SENDER_LIMITS.tagLength ? `${s.slice(0, SENDER_LIMITS.tagLength)}…` : s);
const keyPath = (full: string) => {
  const key = full.slice(0, SENDER_LIMITS.traitKeyLength);
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `$.traits.${key}` : `$.traits[${JSON.stringify(key)}]`;
};

/**
 * Check an identify's traits against `SENDER_LIMITS` and its `tags` against
 * the declared manual tags. Every problem is returned (an empty list: fine).
 */
export function checkTraits(traits: Record<string, unknown>, tags: SenderTagPolicy): TraitProblem[] {
  const problems: TraitProblem[] = [];
  const keys = Object.keys(traits);
  if (keys.length > SENDER_LIMITS.traitsPerEvent) {
    problems.push({ path: '$.traits', message: `holds ${keys.length} traits; the limit is ${SENDER_LIMITS.traitsPerEvent} per event` });
  }
  const total = bytes(traits);
  if (total > SENDER_LIMITS.traitsBytes) {
    problems.push({ path: '$.traits', message: `is ${total.toLocaleString('en-US')} bytes as JSON; the limit is ${KB(SENDER_LIMITS.traitsBytes)} per event` });
  }
  for (const key of keys) {
    // `tags` has limits of its own (count and length of each tag), checked below.
    if (key === 'tags') continue;
    if (key.length > SENDER_LIMITS.traitKeyLength) {
      problems.push({ path: keyPath(key), message: `trait key is ${key.length} characters; the limit is ${SENDER_LIMITS.traitKeyLength}` });
      continue;
    }
    const size = bytes(traits[key]);
    if (size > SENDER_LIMITS.traitValueBytes) {
      problems.push({ path: keyPath(key), message: `is ${size.toLocaleString('en-US')} bytes as JSON; the limit is ${KB(SENDER_LIMITS.traitValueBytes)} per trait` });
    }
  }
  if (Object.hasOwn(traits, 'tags')) problems.push(...checkTags(traits.tags, tags));
  if (Object.hasOwn(traits, 'consent')) problems.push(...checkConsent(traits.consent));
  return problems;
}

/**
 * `traits.consent`: Rapport's contract, like the consent events' properties. `{<channel>: true | false}` for
 * the channels Rapport knows; anything else (`"false"`, `0`, `null`, `Email`) would be accepted and then
 * silently ignored, and a denial the sender meant would be lost: refused, naming the field.
 */
function checkConsent(value: unknown): TraitProblem[] {
  const expected = `expected {${CHANNELS.map((c) => `"${c}": true | false`).join(', ')}} (true grants, false denies; any subset of the channels)`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [{ path: '$.traits.consent', message: expected }];
  return Object.entries(value as Record<string, unknown>).flatMap(([channel, given]): TraitProblem[] => {
    const path = /^[A-Za-z_$][\w$]*$/.test(channel) ? `$.traits.consent.${channel}` : `$.traits.consent[${JSON.stringify(channel.slice(0, SENDER_LIMITS.traitKeyLength))}]`;
    if (!(CHANNELS as readonly string[]).includes(channel)) return [{ path, message: `${shown(channel)} is not a channel; ${expected}` }];
    return typeof given === 'boolean' ? [] : [{ path, message: `expected true (granted) or false (denied), received ${JSON.stringify(given)}` }];
  });
}

/** `traits.tags`: a list (or null, which clears the sender's tags) of declared manual tags, within the limits. */
function checkTags(value: unknown, policy: SenderTagPolicy): TraitProblem[] {
  const allowed = `senders may set only the manual tags declared under manualTags in tags.yaml (${list(policy.manual)})`;
  if (value === null) return [];
  if (!Array.isArray(value)) return [{ path: '$.traits.tags', message: `expected a list of tag names; ${allowed}` }];
  if (value.length > SENDER_LIMITS.tagsPerEvent) {
    return [{ path: '$.traits.tags', message: `holds ${value.length} tags; the limit is ${SENDER_LIMITS.tagsPerEvent} per event` }];
  }
  const problems: TraitProblem[] = [];
  value.forEach((tag: unknown, i) => {
    const path = `$.traits.tags[${i}]`;
    if (typeof tag !== 'string') problems.push({ path, message: `expected a tag name (a string); ${allowed}` });
    else if (tag.length > SENDER_LIMITS.tagLength) problems.push({ path, message: `tag is ${tag.length} characters; the limit is ${SENDER_LIMITS.tagLength}` });
    else if (policy.computed.has(tag)) problems.push({ path, message: `${shown(tag)} is a computed tag: Rapport sets it from a rule in tags.yaml, never a sender; ${allowed}` });
    else if (!policy.manual.has(tag)) problems.push({ path, message: `${shown(tag)} is not a declared manual tag; ${allowed}` });
  });
  return problems;
}

function list(names: ReadonlySet<string>): string {
  if (names.size === 0) return 'none are declared';
  const sorted = [...names].sort();
  return sorted.length > 20 ? `${sorted.slice(0, 20).join(', ')}, … ${sorted.length - 20} more` : sorted.join(', ');
}
