import { createHash, randomBytes } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type BatchGetCommandOutput, type BatchWriteCommandOutput, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { scanEach } from '../scan-each';
import { addressNamedBy, consentDenials, suppressionsOf, topicConsentChanges, CHANNEL_ADDRESS_TRAIT, emailAddressHash, EVENTS, eventKey, MESSAGE_FEEDBACK_EVENTS, ONE_CLICK_SOURCE_ID, SES_FEEDBACK_SOURCE_ID, PROFILE_TABLE_LAYOUT as L, RapportError, type Channel, type ConsentRecord, type NormalisedEvent, PHONE_CHANNELS, namedPhoneNumberOf, phoneNumberHash, phoneNumberOf, type Profile, type Suppression } from '../../shared';
import { idsOfOversizedBody, packContents, ProfileTooLargeError, readContents, type OutboxEntry } from './item';
import { BroadcastCursors, parseCursorPointer } from './broadcast-cursor';
import { MEMBER_PREFIX, SegmentStore } from './segment-store';
import { CoPurchaseStore } from './co-purchase-store';

export type { OutboxEntry } from './item';

/**
 * The profile store: one DynamoDB table (single-table design), the same code on
 * AWS and on dynalite. Items:
 *
 * | item      | PK                 | SK                          | notes |
 * |-----------|--------------------|-----------------------------|-------|
 * | profile   | `C#<customerId>`   | `P`                         | optimistic lock on `version`; sparse GSI1 (due for re-evaluation), GSI2 (last order) |
 * | event     | `C#<customerId>`   | `E#<timestamp>#<sourceId>/<messageId>` | the timeline; `ttl` for retention, also filtered on read (before 2026-12: `E#<timestamp>#<messageId>`) |
 * | alias     | `A#<anonymousId>`  | `A`                         | routes a visitor's later events to the known customer |
 * | tombstone | `X#<sha256(id)>`   | `X`                         | an erased id, hashed; late events for it are dropped |
 * | link marker | `C#<customerId>`  | `N#<linked id>`             | a link an event of theirs writes (`anon:<visitor>`, a known id to join) before their profile names it |
 * | parked denial | `X#<sha256(id)>` | `D#<receivedAt>#<parked messageId>` | a denial received after the erasure, for the new life to fold in; no id; `ttl` |
| denial    | `C#<customerId>`   | `K#<channel>`               | the latest consent denial ingest received, written before it answers; `ttl` |
 * | suppression | `C#<customerId>` | `S#<channel>`               | the earliest suppression (hard bounce) ingest received, written before it answers; `ttl` |
 * | parked hold | `XH#<sha256(id)>` | `K#<channel>` / `S#<channel>` | a denial or suppression hold of an erased id received after the erasure, no new life yet; no id; `ttl` |
 * | open hold write | `XW#<sha256(id)>` | `<sha256(address)>#<hold sort key>#<base>` | an address hold's write whose check has not completed (`#checkOpenHoldWrites`); the id, no address; GSI1 `OPENHOLD#<shard>` (`recheckOpenHoldWrites`); `ttl` |
 * | address pointer | `C#<customerId>` | `AP#<sha256(address)>` | an address whose hold this customer wrote: erasure finds it after the address changed and the timeline naming it expired; no `ttl` |
 * | address hold | `AH#<sha256(address)>` | `K#<channel>` / `S#<channel>` | an email address's (`K#email`) or a phone number's (`K#sms`, `K#whatsapp`) latest consent change (a denial holds for every customer with the address) and earliest suppression; no id, no address, no `ttl` |
 * | number holder | `AH#<sha256(number)>` | `H#<sha256(id)>` | a customer whose profile has (or had) this phone number, written before the profile (`put`): erasure's strongly consistent list of the number's holders; `id`; no `ttl` |
 * | co-purchase | `CP#<item>` | `B#<item>` / `TOP` | "bought after" counts, no id (co-purchase-store.ts) |
 *
 * Writes are conditional single-item writes, no transactions.
 */

export class VersionConflictError extends RapportError {
  readonly retryable = true;
}

export interface StoredProfile {
  profile: Profile;
  version: number;
  /** Marks (`appliedMark`) of the messageIds applied most recently (bounded): a redelivery within this window changes nothing. */
  applied: string[];
  /** Derived events of the most recent changes, republished if their cause is redelivered. */
  outbox: OutboxEntry[];
  /** Earliest instant the profile's segments can change with time alone (sweep index). */
  nextChangeAt?: string;
  /**
   * The cause of a sweep change whose derived events are not known to be published
   * yet: the profile stays due, and the next sweep publishes them (again) and clears it.
   */
  pendingCause?: string;
  /** The last segment change numbered on this profile (`segmentSeq` orders a customer's membership changes). */
  segmentSeq?: number;
  /**
   * Set on a visitor's (`anon:<id>`) profile once an identify linked it to a known
   * customer: frozen, kept as the forwarding record, merged into that customer;
   * an event that still finds it goes to the customer instead.
   */
  mergedInto?: string;
  /**
   * Set on a profile begun after the customer was erased (by events dated and received after the
   * erasure): the `erasedAt` of that erasure. Older events meeting it are dropped, not applied.
   */
  rebornAfter?: string;
  /**
   * The phone number (its hash) this record is listed as a holder of (`addressHolderKey`): `put` lists it anew when the
   * profile's number is another. Marked lapsed (`lapsedHold`) once the profile has no number: an erasure of another
   * holder may delete the listing meanwhile, so a number set again is listed again (defined either way: the record
   * had a number once).
   */
  heldNumber?: string;
  /** The same for the email address (its hash): listed under it as a number's holder is, beside the email index. */
  heldEmail?: string;
}

/** How many joins a chain of aliases may have (a → b → c is two): resolving stops there and reports a cycle. */
export const ALIAS_CHAIN_MAX = 32;

/** Where an id's history is now (`ProfileStore.resolve`). */
export interface ResolvedProfile {
  /** The id at the end of the chain: the live profile's (or the id itself when it has no profile). */
  id: string;
  stored?: StoredProfile;
  chain: string[];
  cycle?: true;
}

/** Every id whose items belong to this profile: its own, the known ids joined into it, its visitors'. */
export const idsOfProfile = (p: Pick<Profile, 'id' | 'mergedIds' | 'anonymousIds'>): string[] => [p.id, ...(p.mergedIds ?? []), ...p.anonymousIds.map((a) => `anon:${a}`)];

/** A live tombstone: when the erasure began and, once its deletes are done, when it completed. */
/**
 * A profile writer's hold (the consumer's, for the profile it has just written): its time, by which the check after
 * the write judges erasures and holders, and the life of the profile it wrote (its `rebornAfter`; undefined: the
 * first). The hold is the erased life's when an erasure came after that life began, whatever its receipt (a denial a
 * join brought, a bounce dated in an erased life but received in the new one are the new life's).
 */
export interface HoldWriter {
  now: Date;
  life: string | undefined;
  /**
   * The marks (`eventMark`) of the events whose write puts the hold: recorded on an address's hold (`causes`), so the
   * undo of one of them (`undoErasedLifeWrites`) takes back only what it put, never a hold another record's event gave
   * or relies on.
   */
  causes?: readonly string[];
}

/** The event a hold's writer writes it for (ingest's, the SES feedback function's): its mark is the hold's cause (`HoldWriter.causes`). */
export type HoldCause = Pick<NormalisedEvent, 'sourceId' | 'messageId'>;

export interface Tombstone {
  erasedAt: string;
  completedAt?: string;
  /**
   * A repeated erasure of an id with no new life since (a DSAR tool's retry): when the first of these erasures
   * completed. Since then nothing of the person was kept but what was parked: a denial received after it is of
   * their next life (`receivedAfterErasure`), not of the life this erasure repeats the erasing of.
   */
  erasedSince?: string;
  /** When it expires (epoch seconds, its TTL). */
  expires?: number;
  /** How long it must live after an event of the erased customer was received (`extendTombstone`), in days. */
  lifetimeDays?: number;
}

/**
 * Whether an event of an erased customer starts their new life: dated after the erasure began and
 * received after it completed. Anything else (a late event, a redelivery, an archive replay) is dropped.
 * A click on a one-click unsubscribe link (`ONE_CLICK_SOURCE_ID`: the link outlives the customer in an
 * inbox) starts nothing: it applies to a new life already begun, and otherwise leaves no trace. Nor does
 * a report on a message sent before (`MESSAGE_FEEDBACK_EVENTS`: a delivery, an open, a click, a bounce or a spam
 * report, from SES or any email tool: the message outlives the customer too), nor a denial (`Unsubscribed`, from
 * any source: an email tool's own link in an old email, a CRM): their denials and suppressions are parked for the
 * comeback as a click's are, and nothing else of them is kept.
 */
export const startsNewLife = (event: Pick<NormalisedEvent, 'timestamp' | 'receivedAt'> & { sourceId?: string; type?: string; event?: string }, tombstone: Tombstone) =>
  !LIVE_PROFILE_SOURCES.has(event.sourceId ?? '') &&
  !(event.type === 'track' && (MESSAGE_FEEDBACK_EVENTS.has(event.event ?? '') || event.event === EVENTS.UNSUBSCRIBED)) &&
  belongsAfter(event, tombstone);

/** Sources whose events apply to a live profile only (one-click unsubscribes, SES feedback on an old email). */
const LIVE_PROFILE_SOURCES: ReadonlySet<string> = new Set([ONE_CLICK_SOURCE_ID, SES_FEEDBACK_SOURCE_ID]);

/**
 * Whether an event applies to a live profile only and never creates one: a click on an email's one-click link and
 * SES's report on a message outlive the customer, their erasure and its tombstone (a link clicked a year on).
 */
export const appliesToLiveProfileOnly = (event: { sourceId?: string }) => LIVE_PROFILE_SOURCES.has(event.sourceId ?? '');

/** Dated after the erasure began and received after it completed: an event of the customer's new life, if they have one. */
export const belongsAfter = (event: Pick<NormalisedEvent, 'timestamp' | 'receivedAt'>, tombstone: Tombstone) =>
  tombstone.completedAt !== undefined && event.timestamp > tombstone.erasedAt && event.receivedAt > tombstone.completedAt;

/**
 * Received after the erasure completed, whatever its date. A denial (an unsubscribe, a suppression) received
 * so applies to the customer's new life if they have one: a denial received after a grant wins over it, and
 * the date a sender gave it cannot make it the erased life's. It never starts a new life.
 * Received in the very millisecond of `completedAt` counts as after: DELETE answers only once the tombstone is
 * complete, so a request sent on its answer is received then (on virtual time, always), and a denial racing the
 * erasure in that millisecond is honoured too widely at worst. `belongsAfter` (a new life) stays strict.
 * After a repeated erasure (`erasedSince`), received after the first one completed, whether or not the repeat has
 * completed yet: a click on an old email's link given between two DELETEs of the same erased person, still on its way
 * to the consumer, is theirs to keep.
 */
export const receivedAfterErasure = (event: Pick<NormalisedEvent, 'receivedAt'>, tombstone: Tombstone) =>
  tombstone.erasedSince !== undefined ? event.receivedAt >= tombstone.erasedSince : tombstone.completedAt !== undefined && event.receivedAt >= tombstone.completedAt;

/** How many applied messageIds a profile remembers (as 12-character hashes, ~2.6 KB). */
export const APPLIED_MAX = 200;
/**
 * What a profile remembers of an applied event (`eventKey`: source and messageId) or journey change
 * (its cause): short, so the item (and its write units) stay small. Profiles written before events
 * were keyed by source hold marks of the messageId alone (`appliedMark(event.messageId)`); the consumer reads both.
 */
export const appliedMark = (key: string) => createHash('sha1').update(key).digest('base64url').slice(0, 12);
/**
 * An event's identity for deduplication: what makes a redelivery, a replay or a sender's repeat
 * "the same event" (its source and messageId: a messageId is unique per source only). The one place
 * that decides it (the applied marks and the journey router read it).
 */
export const dedupeKey = (event: Pick<NormalisedEvent, 'sourceId' | 'messageId'>): string => eventKey(event);
/** The applied mark of an event (`appliedMark` of its `dedupeKey`). */
export const eventMark = (event: Pick<NormalisedEvent, 'sourceId' | 'messageId'>): string => appliedMark(dedupeKey(event));
/**
 * Where an event's timeline item may be: under the customer, or under the id it was applied to before a
 * merge (the visitor id, or the known id an alias joined into this customer since).
 */
export const timelineIdsOf = (customerId: string, event: Pick<NormalisedEvent, 'userId' | 'anonymousId'>): string[] => [
  ...new Set([customerId, ...(event.userId !== undefined ? [event.userId] : []), ...(event.anonymousId !== undefined ? [`anon:${event.anonymousId}`] : [])]),
];
/**
 * The timeline item's sort key: time first (the timeline reads in order), then source and messageId.
 * Items written before events were keyed by source lack the source (`legacyTimelineSortKey`).
 */
/** When a timeline item expires (epoch seconds): `retentionDays` after the event's time. */
const timelineExpiry = (event: Pick<NormalisedEvent, 'timestamp'>, retentionDays: number) => Math.floor(new Date(event.timestamp).getTime() / 1000) + retentionDays * 86_400;
export const timelineSortKey = (event: Pick<NormalisedEvent, 'timestamp' | 'sourceId' | 'messageId'>) => `E#${event.timestamp}#${eventKey(event)}`;
const legacyTimelineSortKey = (event: Pick<NormalisedEvent, 'timestamp' | 'messageId'>) => `E#${event.timestamp}#${event.messageId}`;
/** How long a consent hold is kept: the profile consumer has applied the denial long before (retries, DLQ redrive). */
export const CONSENT_HOLD_DAYS = 30;
/** A channel's consent hold, or (with `topic`) a subscription topic's on that channel: `K#email`, `K#email#offers`. */
const consentHoldKey = (id: string, channel: Channel, topic?: string) => ({ [L.partitionKey]: `C#${id}`, [L.sortKey]: topic === undefined ? `K#${channel}` : `K#${channel}#${topic}` });
const suppressionHoldKey = (id: string, channel: Channel) => ({ [L.partitionKey]: `C#${id}`, [L.sortKey]: `S#${channel}` });
/**
 * A hold of an erased id with no new life (nor joined) received after the erasure completed (`#undoHoldIfErased`): kept
 * under a hash of the id (`XH#`: not a tombstone partition, so ingest may write it without reaching tombstones), with the
 * hold's sort key, no id in it. A send reads it under every id of the customer (`holdsOf`), so an alias or an identify
 * that joins or links that id as its new life before the consumer applies the denial still honours it.
 */
const PARKED_HOLD_PREFIX = 'XH#';
const parkedHoldKey = (id: string, hold: Record<string, string>) => ({ [L.partitionKey]: `${PARKED_HOLD_PREFIX}${hashId(id)}`, [L.sortKey]: hold[L.sortKey]! });
/**
 * An address's own holds (`putAddressConsent`, `putAddressSuppression`), as Customer.io, Braze or Klaviyo keep an
 * address-level denial and SES an account-level suppression list: whoever the customer record is (a guest checkout
 * and the account of one person are two records with one address), a denial or a suppression of the address stops
 * marketing (a suppression every message) to it. Keyed by a hash of the address trimmed and lower-cased (the email
 * index's, `emailIndexKey`): no id and no address in it. No TTL: an address's choice stands until a later grant of the
 * address (the consent order) lifts a denial; a suppression is never lifted. Erasure deletes it with the last customer
 * that has the address (`erase`).
 */
const ADDRESS_HOLD_PREFIX = 'AH#';
/**
 * The channels whose addresses have holds of their own: email (its address is `traits.email`, indexed by GSI3), SMS and
 * WhatsApp (the phone number, `traits.phone` in E.164: a STOP is the number's, as carriers and the CTIA/TCPA rules
 * treat it; each channel its own sort key, a WhatsApp opt-out is not one of SMS). Erasure finds a number's live holders
 * by the holder items under the number (`addressHolderKey`), not an index.
 */
const PHONE_HOLD_CHANNELS: ReadonlySet<Channel> = new Set(PHONE_CHANNELS);
export const ADDRESS_HOLD_CHANNELS: ReadonlySet<Channel> = new Set([...(Object.keys(CHANNEL_ADDRESS_TRAIT) as Channel[]).filter((channel) => CHANNEL_ADDRESS_TRAIT[channel] === 'email'), ...PHONE_CHANNELS]);
const addressHash = emailAddressHash;
/** The hash of an email address (trimmed, lower-cased), if it is one. */
const emailHashOf = (value: unknown): string | undefined => {
  const address = addressOf(value);
  return address === undefined ? undefined : addressHash(address);
};
/** The hash of a phone number (its E.164 form, `phoneNumberOf`), if it is one a channel reaches. */
const numberHash = (value: unknown): string | undefined => {
  const number = phoneNumberOf(value);
  return number === undefined ? undefined : phoneNumberHash(number);
};
/** The hash of the address a channel's holds are kept under: email's, or the phone number's; undefined for none. */
const holdAddressHash = (channel: Channel, value: unknown): string | undefined => (PHONE_HOLD_CHANNELS.has(channel) ? numberHash(value) : emailHashOf(value));
/**
 * The same for an address an event names (an SMS STOP's sender): a number reported without its `+` is read with it
 * (`namedPhoneNumberOf`). Only a named one: a profile's number without `+` reaches no channel (E.164), so holds nothing.
 */
const namedHoldHash = (channel: Channel, value: unknown): string | undefined => {
  if (!PHONE_HOLD_CHANNELS.has(channel)) return emailHashOf(value);
  const number = namedPhoneNumberOf(value);
  return number === undefined ? undefined : phoneNumberHash(number);
};
/** The hash of a profile's phone number (the `phone` trait), if it has one a channel reaches. */
const numberHashOf = (profile: Pick<Profile, 'traits'>): string | undefined => numberHash(profile.traits.phone);
/**
 * A customer with (or who had) the phone number `hash`: written, with the customer's pointer (`addressPointerKey`), before
 * a profile with the number is (`put`), so a strongly consistent query of the number's partition lists every record whose
 * profile has it (an index would be eventually consistent: an erasure could miss a record that just got the number and
 * delete the holds it needs). A record that moved to another number stays listed: erasure reads each listed profile.
 */
const ADDRESS_HOLDER_PREFIX = 'H#';
/**
 * How long a listing (`listedAt`) may precede the profile write it was put for (`forVersion`): the longest a function
 * may run (Lambda's 15-minute maximum; a write the embedded engine retries after a crash lists the record again). An
 * erasure counts a record listed under an address for a version its profile has not passed, more recently than this,
 * as the address's holder even though its profile lacks the address: its write bringing the address may be in flight
 * (or lost a race to another writer of that version, and its retry will list it again). A record whose profile went
 * past that version has written the address, or moved away from it since: its profile says.
 */
const LISTING_IN_FLIGHT_MS = 15 * 60_000;
/** How long a write of an address's hold may be open before the sweep takes it for one left open (`recheckOpenHoldWrites`): as long as a listing's. */
export const OPEN_HOLD_WRITE_GRACE_MS = LISTING_IN_FLIGHT_MS;
/** The mark of a `heldNumber`/`heldEmail` whose profile no longer has it (a frozen record keeps its own as it is). */
const LAPSED = '-';
const lapsedHold = (held: string, mergedInto: string | undefined): string => (mergedInto !== undefined || held.startsWith(LAPSED) ? held : `${LAPSED}${held}`);
/** The hash a stored `heldNumber`/`heldEmail` names, lapsed or not. */
const heldHash = (held: unknown): string | undefined => (typeof held === 'string' ? (held.startsWith(LAPSED) ? held.slice(LAPSED.length) : held) : undefined);
const addressHolderKey = (hash: string, id: string) => ({ [L.partitionKey]: `${ADDRESS_HOLD_PREFIX}${hash}`, [L.sortKey]: `${ADDRESS_HOLDER_PREFIX}${hashId(id)}` });
/** The customer's pointer to an address whose hold they wrote (`AP#<sha256(address)>`, in their partition): erasure reads it. */
const addressPointerKey = (id: string, hash: string) => ({ [L.partitionKey]: `C#${id}`, [L.sortKey]: `AP#${hash}` });
const addressHoldKey = (hash: string, sortKey: string) => ({ [L.partitionKey]: `${ADDRESS_HOLD_PREFIX}${hash}`, [L.sortKey]: sortKey });
/** An address as a hold's key takes it: a non-empty string, else undefined. */
const addressOf = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value : undefined);
/** The address hold kinds (sort keys: `K#<channel>`, `K#<channel>#<topic>`, `S#<channel>`) an event denies or suppresses. */
const holdKindsOf = (event: NormalisedEvent): Set<string> =>
  new Set([
    ...consentDenials(event).map((c) => `K#${c.channel}`),
    ...topicConsentChanges(event)
      .filter((c) => c.status === 'denied')
      .map((c) => `K#${c.channel}#${c.topic}`),
    ...suppressionsOf(event).map((s) => `S#${s.channel}`),
  ]);

/** The causes of a hold written by `writer` (its events' marks), or for `cause` (an event's mark). */
const causesFor = (writer: HoldWriter | undefined, cause: HoldCause | undefined): readonly string[] => writer?.causes ?? (cause ? [eventMark(cause)] : []);

/**
 * An address's hold's version (`#writeAddressHold`): each write puts a new random one, never a number that could come
 * again (a hold deleted and written anew, or put back by an undo, never matches a version a writer read before).
 */
const HOLD_VERSION = 'v';
const newHoldVersion = (): string => randomBytes(9).toString('base64url');
/**
 * The version of an item an undo puts back as it was: another than any it had (a writer that read the item before
 * never writes over it), that keeps the base of the write that made it (`<base>.<n>`): an open write's check
 * (`#checkAddressHold`) still tells its own hold by it.
 */
const restoredVersion = (old: Record<string, unknown>): string => {
  const version = old[HOLD_VERSION];
  const dot = typeof version === 'string' ? version.indexOf('.') : -1;
  return dot > 0 ? `${(version as string).slice(0, dot)}.r${newHoldVersion()}` : newHoldVersion();
};
/**
 * Reads and puts a write of an address's hold may take: concurrent writers of one hold (ingest writes up to 16
 * customers at once, a shared address's; a family's one-click links clicked at once) each lose at most one round to
 * each of the others, so the last wins within as many rounds as there are writers.
 */
const HOLD_WRITE_ATTEMPTS = 100;
/**
 * The condition of a write over an address's hold as read: none there; the same version; for one written before
 * versions, no version and the same key (a consent) or date (a suppression).
 */
const asRead = (old: Record<string, unknown> | undefined): { ConditionExpression: string; ExpressionAttributeNames: Record<string, string>; ExpressionAttributeValues?: Record<string, unknown> } => {
  if (old === undefined) return { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': L.partitionKey } };
  if (typeof old[HOLD_VERSION] === 'string') return { ConditionExpression: '#v = :v', ExpressionAttributeNames: { '#v': HOLD_VERSION }, ExpressionAttributeValues: { ':v': old[HOLD_VERSION] } };
  const mark = old.key !== undefined ? 'key' : 'at';
  return { ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#v) AND #m = :m', ExpressionAttributeNames: { '#pk': L.partitionKey, '#v': HOLD_VERSION, '#m': mark }, ExpressionAttributeValues: { ':m': old[mark] } };
};

/**
 * At most this many causes on a hold: past it, the hold stands for `MANY_CAUSES` alone, and no undo takes it back (an
 * address's restriction kept, the safe side; its erasure still frees it). Keeps the item far from DynamoDB's 400 KB.
 */
const CAUSES_MAX = 50;
const MANY_CAUSES = '*';
const boundedCauses = (causes: readonly string[]): Set<string> => {
  const set = new Set(causes);
  return set.size > CAUSES_MAX || set.has(MANY_CAUSES) ? new Set([MANY_CAUSES]) : set;
};

/**
 * How many items a grant keeps under it (`replaced`, nested): each grant of an address keeps the one it replaced with
 * what that one kept, so the undo of an open grant (`#checkAddressHold`) puts back an item that can itself be undone
 * again, down to the denial under a stack of grants. At most this many levels: the deepest is the first restriction
 * at or below the cut (none: nothing kept there), so an undo past the cut errs on the safe side (the address restricted).
 */
const REPLACED_DEPTH_MAX = 8;
const isRestriction = (item: Record<string, unknown>): boolean => String(item[L.sortKey]).startsWith('S#') || item.status === 'denied';
export const keptReplaced = (old: Record<string, unknown>, depth = 1): Record<string, unknown> | undefined => {
  const below = (item: Record<string, unknown>) => (typeof item.replaced === 'object' && item.replaced !== null ? (item.replaced as Record<string, unknown>) : undefined);
  if (depth >= REPLACED_DEPTH_MAX) {
    for (let level: Record<string, unknown> | undefined = old; level !== undefined; level = below(level)) {
      const { replaced: _replaced, ...plain } = level;
      if (isRestriction(plain)) return plain;
    }
    return undefined;
  }
  const { replaced: _replaced, ...item } = old;
  const under = below(old);
  const kept = under === undefined ? undefined : keptReplaced(under, depth + 1);
  return kept === undefined ? item : { ...item, replaced: kept };
};

/** The events an address's hold stands for (`HoldWriter.causes`; a string set), none when written without. */
const causesOf = (item: Record<string, unknown>): string[] => (item.causes instanceof Set ? [...(item.causes as Set<unknown>)].filter((c): c is string => typeof c === 'string') : []);

/** A conditional put of a hold: its condition (the greater key, the earlier suppression) and what the condition reads. */
interface HoldWrite {
  item: Record<string, unknown>;
  condition: { expression: string; names: Record<string, string>; values: Record<string, unknown> };
}
/** The hold of a suppression in the customer's partition: the earliest wins; its receipt kept (`carryHolds` judges by it). */
const suppressionHoldWrite = (suppression: Suppression, receivedAt: string, ttl: number): HoldWrite => ({
  item: { itemType: 'suppression-hold', reason: suppression.reason, at: suppression.at, receivedAt, [L.ttlAttribute]: ttl },
  condition: { expression: 'attribute_not_exists(#pk) OR #at > :at', names: { '#pk': L.partitionKey, '#at': 'at' }, values: { ':at': suppression.at } },
});
/**
 * A write of an address's hold as its check needs it (`#putAddressHold`), kept while the write is open
 * (`#openHoldWrite`): the address (its hash) and the hold's sort key, the events it is written for, its receipt and
 * the writer's time, a profile writer's life (`HoldWriter`), whether the customer must have a profile, whether it
 * restricts (a denial, a suppression).
 */
interface OpenHoldWrite {
  hash: string;
  /** The start of every version the write puts (`#writeAddressHold`): an open write's hold is told by it. */
  base: string;
  holdSortKey: string;
  causes: readonly string[];
  receivedAt: string;
  now: string;
  writer?: true;
  life?: string;
  ofProfile?: true;
  restricts: boolean;
}
/** A write of a hold in the customer's partition (`#putCustomerHold`) as its check needs it: the hold's sort key, the mark it is deleted by, the event's dates, a profile writer's life. */
interface OpenCustomerHoldWrite {
  kind: 'customer';
  base: string;
  holdSortKey: string;
  markName: string;
  markValue: string;
  timestamp: string;
  receivedAt: string;
  writer?: true;
  life?: string;
}
/**
 * Open writes of an address's hold (`#openHoldWrite`) under a hash of the customer's id (`XW#<sha256(id)>`), not a
 * customer partition: erasure does not take them, and ingest may write them. The id is in one (the sweep checks a
 * write left open with it: `recheckOpenHoldWrites`) only while the write is open: closed once checked.
 */
const OPEN_HOLD_WRITE_PREFIX = 'XW#';
/** GSI1's partitions of open hold writes, by the time they were opened: the sweep finds those left open (`recheckOpenHoldWrites`). */
const OPEN_HOLD_INDEX_PREFIX = 'OPENHOLD';
/** A write of an address's hold (`#writeAddressHold`, by version): its item, and whether it goes over the one there (`old`, none when there is none). */
interface AddressHoldWrite {
  item: Record<string, unknown>;
  accepts: (old: Record<string, unknown> | undefined) => boolean;
}
/** The holds of one channel a send reads (`holdsOf`): the consent denials and suppressions ingest recorded under its customer's ids. */
export interface ChannelHolds {
  consent: ConsentRecord[];
  /** The denials of the topic asked for (`holdsOf`'s `topic`) on the channel. */
  topicConsent?: ConsentRecord[];
  /** The earliest suppression among them. */
  suppression?: Suppression;
}
/** Default tombstone lifetime: the default archive retention (30 d) + DLQ retention (14 d) + redelivery (24 h + 6 h, rounded up to 2 d) + 1 d. */
export const DEFAULT_TOMBSTONE_DAYS = 47;

const profileKey = (id: string) => ({ [L.partitionKey]: `C#${id}`, [L.sortKey]: 'P' });
const shardOf = (id: string) => createHash('sha1').update(id).digest()[0]! % L.shards;
const hashId = (id: string) => createHash('sha256').update(id).digest('hex');
const tombstoneKey = (id: string) => ({ [L.partitionKey]: `X#${hashId(id)}`, [L.sortKey]: 'X' });
/**
 * An erasure's progress, until it completes: one item per id it reached (`id`), under the tombstone partition of the
 * id it began from (its root, `erasingRoot` on every tombstone it wrote). Bounded whatever the number of ids: each
 * item holds one id, each tombstone one hash.
 */
const ERASING_PREFIX = 'E#';
const erasingKey = (rootHash: string, id: string) => ({ [L.partitionKey]: `X#${rootHash}`, [L.sortKey]: `${ERASING_PREFIX}${hashId(id)}` });
/** GSI1's partitions of erasures not completed: the root's own progress item is in it (`interruptedErasures`) until it is deleted. */
const ERASING_INDEX_PREFIX = 'ERASING';
const erasingIndexKeys = (id: string, erasedAt: string) => ({ [L.dueIndex.partitionKey]: `${ERASING_INDEX_PREFIX}#${shardOf(id)}`, [L.dueIndex.sortKey]: `${erasedAt}#${hashId(id)}` });
/**
 * A link mark (`markLinks`): under the linking customer's tombstone partition, keyed by a hash of the id it names (held in
 * its `id`), with a pointer back under that id's tombstone partition (`R#<hash(customer)>`, no id in it), so the erasure
 * of either id finds and deletes both. Marks written before (2026-12) are `C#<customer>` / `N#<linked id>`
 * (`legacyLinkMarkerKey`): still read and deleted; `migrateOldLinkMarkers` rewrites them.
 */
const LINK_MARK_PREFIX = 'N#';
const LINK_BACK_PREFIX = 'R#';
const linkMarkerKey = (id: string, linked: string) => ({ [L.partitionKey]: `X#${hashId(id)}`, [L.sortKey]: `${LINK_MARK_PREFIX}${hashId(linked)}` });
const linkBackKey = (id: string, linked: string) => ({ [L.partitionKey]: `X#${hashId(linked)}`, [L.sortKey]: `${LINK_BACK_PREFIX}${hashId(id)}` });
const legacyLinkMarkerKey = (id: string, linked: string) => ({ [L.partitionKey]: `C#${id}`, [L.sortKey]: `N#${linked}` });
/** A denial parked under an erased id's tombstone (`parkDenial`): by its receipt and `parkedMessageId`. */
const parkedDenialKey = (id: string, event: Pick<NormalisedEvent, 'receivedAt' | 'messageId'>) => ({ [L.partitionKey]: `X#${hashId(id)}`, [L.sortKey]: `D#${event.receivedAt}#${event.messageId}` });
/** The messageId a parked denial is kept and applied under: a hash of the event's source and messageId (a messageId may name a customer). */
export const parkedMessageId = (event: Pick<NormalisedEvent, 'sourceId' | 'messageId'>) => `parked-${hashId(eventKey(event)).slice(0, 32)}`;
/** The key a parked denial folded into a new life was applied under (`parkedMessageId`): a redelivery of its event finds it (`appliedUnder`). */
export const parkedKey = (event: Pick<NormalisedEvent, 'sourceId' | 'messageId'>) => dedupeKey({ sourceId: event.sourceId, messageId: parkedMessageId(event) });

/** Every item a query matches, following LastEvaluatedKey page by page. */
export async function queryAll(doc: DynamoDBDocumentClient, input: QueryCommandInput): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(new QueryCommand({ ...input, ...(startKey && { ExclusiveStartKey: startKey }) }));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/** A sparse GSI whose partitions are `<prefix>#<shard>` (L.shards of them) and whose sort keys start with an ISO time. */
export interface ShardedIndex {
  name: string;
  partitionKey: string;
  sortKey: string;
}

/**
 * The items of every shard of a sharded index (`<prefix>#<shard>`) whose sort key's time is at or before `upperIso`,
 * oldest first, paged until about `limitPerShard` per shard: the last page may go past it, unless `exactLimit` asks
 * DynamoDB for no more than what is left (the rest waits for the next call).
 */
export async function queryShardsBefore(
  doc: DynamoDBDocumentClient,
  tableName: string,
  index: ShardedIndex,
  prefix: string,
  upperIso: string,
  limitPerShard: number,
  options: { exactLimit?: boolean } = {},
): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = [];
  for (let shard = 0; shard < L.shards; shard++) {
    let startKey: Record<string, unknown> | undefined;
    let count = 0;
    do {
      const page = await doc.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: index.name,
          KeyConditionExpression: '#pk = :pk AND #sk < :upper',
          ExpressionAttributeNames: { '#pk': index.partitionKey, '#sk': index.sortKey },
          // '~' sorts after '#', so every `<time>#<id>` with time <= upperIso is included.
          ExpressionAttributeValues: { ':pk': `${prefix}#${shard}`, ':upper': `${upperIso}~` },
          ...(options.exactLimit && { Limit: limitPerShard - count }),
          ...(startKey && { ExclusiveStartKey: startKey }),
        }),
      );
      items.push(...(page.Items ?? []));
      count += page.Items?.length ?? 0;
      startKey = page.LastEvaluatedKey;
    } while (startKey && count < limitPerShard);
  }
  return items;
}

export class ProfileStore {
  /** Readers waiting for this store's next write of a profile, by customer id (see `nextWrite`). */
  readonly #writeWaiters = new Map<string, Set<() => void>>();

  /** Segment membership and counts, in the same table. */
  readonly segments: SegmentStore;
  /** Broadcasts' page cursors (each names a customer: erasure rewinds them). */
  readonly broadcastCursors: BroadcastCursors;
  /** The "bought after" counts (no customer id in them) and the recommendations they make. */
  readonly coPurchases: CoPurchaseStore;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    private readonly options: {
      /** How long an erasure's tombstones live when `erase` is not told (`ERASURE_TOMBSTONE_DAYS` in AWS): every eraser's, the consumer's of a visitor too. */
      tombstoneDays?: number;
      /**
       * The embedded engine on virtual time (`VirtualClock.othersIdle`): `done` once no work but the waiting
       * readers' is in flight, when no write could come before time moves. `nextWrite` then ends at once.
       */
      othersIdle?: () => { done: Promise<void>; cancel(): void };
      /** The time now (the engine's clock): when a write of an address's hold is opened (`#openHoldWrite`). @default the system clock */
      now?: () => Date;
    } = {},
  ) {
    this.segments = new SegmentStore(doc, tableName);
    this.broadcastCursors = new BroadcastCursors(doc, tableName, this.segments);
    this.coPurchases = new CoPurchaseStore(doc, tableName);
  }

  /**
   * Resolves true when this store object next writes the profile of `id` (`put`), or false after `timeoutMs`,
   * whichever comes first. A reader polling for a change made by a writer sharing the store (the
   * embedded engine's journey starter waiting for its profile consumer) wakes at the write rather than
   * on its next poll; a write by another process (another Lambda) is seen at the timeout, as by plain polling.
   * With `othersIdle` (virtual time) it also resolves false once no other work is in flight: no write can come then.
   */
  nextWrite(id: string, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const waiters = this.#writeWaiters.get(id) ?? new Set<() => void>();
      this.#writeWaiters.set(id, waiters);
      const idle = this.options.othersIdle?.();
      const end = (written: boolean) => {
        clearTimeout(timer);
        idle?.cancel();
        waiters.delete(wake);
        if (waiters.size === 0 && this.#writeWaiters.get(id) === waiters) this.#writeWaiters.delete(id);
        resolve(written);
      };
      const wake = () => end(true);
      const timer = setTimeout(() => end(false), timeoutMs);
      void idle?.done.then(() => end(false));
      waiters.add(wake);
    });
  }

  async get(id: string): Promise<StoredProfile | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: profileKey(id), ConsistentRead: true }));
    if (!Item) return undefined;
    return {
      ...readContents(Item, id),
      version: Item.version as number,
      ...(Item.nextChangeAt && { nextChangeAt: Item.nextChangeAt as string }),
      ...(Item.pendingCause && { pendingCause: Item.pendingCause as string }),
      ...(Item.segmentSeq !== undefined && { segmentSeq: Item.segmentSeq as number }),
      ...(Item.mergedInto && { mergedInto: Item.mergedInto as string }),
      ...(Item.rebornAfter && { rebornAfter: Item.rebornAfter as string }),
      ...(Item.heldNumber && { heldNumber: Item.heldNumber as string }),
      ...(Item.heldEmail && { heldEmail: Item.heldEmail as string }),
    };
  }

  /**
   * Undo a freeze (`frozen`, written over `was`, or over nothing): put `was` back as it was (one version
   * on), or delete the record the freeze created; only if the frozen record is still as written.
   */
  async unfreeze(frozen: StoredProfile, was: StoredProfile | undefined, now: Date = new Date()): Promise<void> {
    try {
      if (was) {
        const { mergedInto: _m, ...live } = was;
        await this.put({ ...live, version: frozen.version + 1 }, frozen.version, now, frozen.rebornAfter);
      } else {
        await this.doc.send(
          new DeleteCommand({
            TableName: this.tableName,
            Key: profileKey(frozen.profile.id),
            ConditionExpression: '#v = :v',
            ExpressionAttributeNames: { '#v': 'version' },
            ExpressionAttributeValues: { ':v': frozen.version },
          }),
        );
      }
    } catch (error) {
      if (!(error instanceof VersionConflictError || error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /**
   * Follow forwarding records (`mergedInto`: a visitor identified, a known customer joined by
   * `alias`) from `id` to the profile that holds its history now. `chain` lists every id on the way,
   * `id` first, the end last; `cycle` when the chain comes back to itself (a moment of two opposing
   * aliases racing: the consumer undoes one, see `claimKnown`), or is longer than `ALIAS_CHAIN_MAX`.
   */
  async resolve(id: string): Promise<ResolvedProfile> {
    const chain = [id];
    let stored = await this.get(id);
    while (stored?.mergedInto !== undefined) {
      const next = stored.mergedInto;
      if (chain.includes(next) || chain.length > ALIAS_CHAIN_MAX) return { id: next, chain: [...chain, next], stored, cycle: true };
      chain.push(next);
      stored = await this.get(next);
    }
    return { id: chain[chain.length - 1]!, chain, ...(stored && { stored }) };
  }

  /**
   * Write a profile if nobody else wrote it since we read `expectedVersion` of the life `expectedLife` (the record's
   * `rebornAfter` as read, by default the one written; `undefined`: the first life) (`expectedVersion` undefined: it
   * must not exist yet). Throws VersionConflictError otherwise.
   */
  async put(stored: StoredProfile, expectedVersion: number | undefined, now: Date = new Date(), expectedLife: string | undefined = stored.rebornAfter): Promise<void> {
    const id = stored.profile.id;
    const shard = shardOf(id);
    // A live profile with a phone number or an email address is listed under it before it is written (`addressHolderKey`):
    // an erasure of another record with it finds this one at once (the email index lags the table).
    const number = stored.mergedInto === undefined ? numberHashOf(stored.profile) : undefined;
    if (number !== undefined && number !== stored.heldNumber) await this.#listAddressHolder(id, number, now, stored.version, stored.rebornAfter);
    const email = stored.mergedInto === undefined ? emailHashOf(stored.profile.traits.email) : undefined;
    if (email !== undefined && email !== stored.heldEmail) await this.#listAddressHolder(id, email, now, stored.version, stored.rebornAfter);
    const item: Record<string, unknown> = {
      ...profileKey(id),
      itemType: 'profile',
      version: stored.version,
      ...packContents({ profile: stored.profile, applied: stored.applied.slice(-APPLIED_MAX), outbox: stored.outbox }),
      ...(stored.pendingCause && { pendingCause: stored.pendingCause }),
      ...(stored.segmentSeq !== undefined && { segmentSeq: stored.segmentSeq }),
      ...(stored.rebornAfter && { rebornAfter: stored.rebornAfter }),
      ...(number !== undefined ? { heldNumber: number } : stored.heldNumber !== undefined && { heldNumber: lapsedHold(stored.heldNumber, stored.mergedInto) }),
      ...(email !== undefined ? { heldEmail: email } : stored.heldEmail !== undefined && { heldEmail: lapsedHold(stored.heldEmail, stored.mergedInto) }),
      ...(stored.mergedInto !== undefined ? { mergedInto: stored.mergedInto } : indexKeys(stored, id, shard)),
    };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ...(expectedVersion === undefined
            ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': L.partitionKey } }
            : // The life read too: a new life after an erasure starts again at version 1, and a writer that read the erased
              // life's version 1 must not write over it.
              expectedLife === undefined
              ? { ConditionExpression: '#v = :v AND attribute_not_exists(#r)', ExpressionAttributeNames: { '#v': 'version', '#r': 'rebornAfter' }, ExpressionAttributeValues: { ':v': expectedVersion } }
              : { ConditionExpression: '#v = :v AND #r = :r', ExpressionAttributeNames: { '#v': 'version', '#r': 'rebornAfter' }, ExpressionAttributeValues: { ':v': expectedVersion, ':r': expectedLife } }),
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        // A listing this write put (before the profile) stays for its retry, unless the profile is gone because the
        // customer was erased meanwhile (write, then check): then nothing of theirs may stay, the id in it least of all.
        if ((number !== undefined && number !== stored.heldNumber) || (email !== undefined && email !== stored.heldEmail)) {
          if (await this.erasedNow(id, now)) await this.#unlistAddressHolder(id, now, number, email);
        }
        throw new VersionConflictError(`profile ${id} changed concurrently`, { cause: error });
      }
      throw error;
    }
    for (const wake of [...(this.#writeWaiters.get(id) ?? [])]) wake();
  }

  /**
   * List `id` as a holder of the phone number or email address `hash` (`addressHolderKey`), for the write of the
   * profile's `version` at `now` (`forVersion`, `listedAt`: a write in flight, `LISTING_IN_FLIGHT_MS`), its pointer
   * (`addressPointerKey`) first: its erasure finds the item by it. A write of an erased customer's profile is undone
   * (`undoWrites`) with these items. `life`: the profile's `rebornAfter` (a new life's, after that erasure), so a
   * listing written after an erasure tells a new life's on its way from the erased life's late write.
   */
  async #listAddressHolder(id: string, hash: string, now: Date, version: number, life: string | undefined): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { ...addressPointerKey(id, hash), itemType: 'address-pointer' } }));
    await this.doc.send(
      new PutCommand({ TableName: this.tableName, Item: { ...addressHolderKey(hash, id), itemType: 'address-holder', id, forVersion: version, listedAt: now.toISOString(), ...(life !== undefined && { life }) } }),
    );
    // Write, then check: erased meanwhile (the erasure may have taken the pointer before the listing landed, and the
    // profile write may never land nor check: an address a join or a visitor's link brought is named by no event), a
    // listing of the erased life is settled at once. A new life's listing on its way (`life`) stays, as does any once the
    // customer has come back (the new life's erasure judges the address).
    const tombstone = await this.tombstone(id, now);
    if (tombstone !== undefined && life !== tombstone.erasedAt && !(await this.hasNewLife(id, tombstone))) await this.#settleAddressOfGone(id, hash, now, tombstone.erasedAt);
  }

  /**
   * Undo `#listAddressHolder` for a customer whose profile write was undone (erased, no new life): their erasure's query
   * may have run before the pointer was written. Every address the pointers in their partition name, and `held` (the
   * undone profile's `heldNumber`/`heldEmail`: its pointer may be gone with the erasure, its listing written after the
   * erasure read the address's list), is settled as their erasure settles it (`#settleAddressOfGone`): a pointer may
   * also be the one to holds they wrote of a former address, which must not outlive its last holder.
   */
  async #unlistAddressHolder(id: string, now: Date, ...held: Array<string | undefined>): Promise<void> {
    // A new life's listing on its way (its profile not written yet) is spared: only the erased life's writes are undone.
    await this.#settleAddressesOfGone(id, now, (await this.tombstone(id, now))?.erasedAt, held);
  }

  /**
   * Settle (`#settleAddressOfGone`) every address the pointers in the partition of `id` name, and `held`. With
   * `erasedAt`: a new life's listing on its way is spared (see there).
   */
  async #settleAddressesOfGone(id: string, now: Date, erasedAt: string | undefined, held: ReadonlyArray<string | undefined>): Promise<void> {
    const hashes = new Set([...(await this.#pointedAddresses(id)), ...held.filter((h): h is string => h !== undefined)]);
    for (const hash of hashes) await this.#settleAddressOfGone(id, hash, now, erasedAt);
  }

  /** The addresses (hashes) the pointers in the partition of `id` name (`addressPointerKey`), strongly consistent. */
  async #pointedAddresses(id: string): Promise<string[]> {
    const pointers = await queryAll(this.doc, {
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :ap)',
      ExpressionAttributeNames: { '#pk': L.partitionKey, '#sk': L.sortKey },
      ExpressionAttributeValues: { ':pk': `C#${id}`, ':ap': 'AP#' },
      ProjectionExpression: '#pk, #sk',
      ConsistentRead: true,
    });
    return pointers.map((pointer) => String(pointer[L.sortKey]).slice(3));
  }

  /**
   * Undo what an earlier attempt of an erased life's event may have written after the erasure read the partition of
   * `id`, for the consumer that now drops the event (no new life has a profile): its timeline item, and the addresses
   * its pointers and the event's own addresses name (its listing under an address it brings, whose pointer the erasure
   * may have taken before the listing landed; an address hold of the profile's with its pointer), settled as the
   * erasure settles them, and the suppression hold it put for the event's bounce or complaint. A new life's listing on
   * its way (written for the life after the erasure) is spared. Once
   * the customer has come back, only the erased life's listings under the event's addresses and its timeline item go.
   */
  async undoErasedLifeWrites(id: string, event: NormalisedEvent, tombstone: Tombstone, now: Date, kept?: NormalisedEvent): Promise<void> {
    // `kept`: the event reduced to its denials, applied to the new life: its timeline item (the same key) and the holds
    // of what it denies or suppresses are the new life's; only its address holds of the rest are undone.
    if (kept !== undefined) return this.#takeErasedLifeHolds(id, event, tombstone, now, holdKindsOf(kept));
    await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: { [L.partitionKey]: `C#${id}`, [L.sortKey]: timelineSortKey(event) } }));
    // The suppression hold a write of the profile put for this event's bounce or complaint (the id in its key), as written
    // and received before the erasure completed (its expiry counts from its receipt): a new life's report of the same
    // bounce (the same date, received since) keeps the hold ingest wrote for it.
    const receivedBy = Math.floor(Date.parse(tombstone.completedAt ?? now.toISOString()) / 1000) + CONSENT_HOLD_DAYS * 86_400;
    for (const { channel, suppression } of suppressionsOf(event)) {
      try {
        await this.doc.send(
          new DeleteCommand({
            TableName: this.tableName,
            Key: suppressionHoldKey(id, channel),
            ConditionExpression: '#at = :at AND #ttl < :by',
            ExpressionAttributeNames: { '#at': 'at', '#ttl': L.ttlAttribute },
            ExpressionAttributeValues: { ':at': suppression.at, ':by': receivedBy },
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    const named = [emailHashOf(addressNamedBy(event, 'email')), namedHoldHash('sms', addressNamedBy(event, 'phone'))].filter((h): h is string => h !== undefined);
    if (await this.hasNewLife(id, tombstone)) {
      // The customer came back (maybe since this drop read no profile): the partition's pointers and the address holds
      // are the new life's now (its erasure judges them). Only the erased life's listings under the event's addresses go.
      for (const hash of named) {
        const key = addressHolderKey(hash, id);
        try {
          await this.doc.send(
            new DeleteCommand({ TableName: this.tableName, Key: key, ConditionExpression: 'attribute_exists(#pk) AND (attribute_not_exists(#life) OR #life <> :life)', ExpressionAttributeNames: { '#pk': L.partitionKey, '#life': 'life' }, ExpressionAttributeValues: { ':life': tombstone.erasedAt } }),
          );
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
      }
      await this.#takeErasedLifeHolds(id, event, tombstone, now);
    } else await this.#settleAddressesOfGone(id, now, tombstone.erasedAt, named);
    // Then an earlier attempt's hold writes whose check failed after the erasure took their pointers: see there.
    await this.#checkOpenHoldWrites(id, now, [eventMark(event)]);
  }

  /**
   * With a new life (begun after `tombstone`'s erasure; none: nothing to do): the address holds `event` caused
   * (`HoldWriter.causes`) in the erased life, under the addresses the pointers of `id` name, taken back (a pointer to an
   * address the new life lacks, with holds of this event alone, settled as erasure would). `keep`: the hold kinds
   * (`K#email`, `S#sms`, …) the new life takes of it.
   */
  async #takeErasedLifeHolds(id: string, event: NormalisedEvent, tombstone: Tombstone, now: Date, keep: ReadonlySet<string> = new Set()): Promise<void> {
    const stored = await this.get(id).catch((error: unknown) => (error instanceof ProfileTooLargeError ? undefined : Promise.reject(error)));
    if (stored === undefined || stored.rebornAfter !== tombstone.erasedAt) return;
    const own = new Set([emailHashOf(stored.profile.traits.email), numberHashOf(stored.profile)]);
    const named = new Set([emailHashOf(addressNamedBy(event, 'email')), namedHoldHash('sms', addressNamedBy(event, 'phone'))]);
    // This event's holds: those its write put or relied on (`HoldWriter.causes`). A hold with other causes, or none
    // (ingest's, the feedback function's, written before causes were kept), is another event's: another record's
    // choice, the new life's, a parked denial folded into it; never taken back here.
    const cause = eventMark(event);
    for (const hash of await this.#pointedAddresses(id)) {
      // What the new life takes of the event is the holds of its own addresses and of those the event names: another
      // address's (the erased life's number, say) are the erased life's, kept kinds too.
      const holds = (await this.#addressHolds(hash)).filter((item) => !((own.has(hash) || named.has(hash)) && keep.has(String(item[L.sortKey]))));
      const ofThisEvent = holds.filter((item) => causesOf(item).includes(cause));
      if (ofThisEvent.length === 0) continue;
      const newLifeHas = own.has(hash) || (await this.#addressHoldersOf(hash)).some((l) => l.id === id);
      if (!newLifeHas && ofThisEvent.length === holds.length && ofThisEvent.every((item) => causesOf(item).length === 1)) {
        await this.#settleAddressOfGone(id, hash, now);
        continue;
      }
      // The new life has the address too (or other holds are there): this event's holds go unless another, live
      // record has the address (a clean new life does not inherit them; that record's choice stands).
      if ((await this.#liveHolderOf(hash, now, new Set([id]))) === undefined) for (const item of ofThisEvent) await this.#takeCause(item, cause);
    }
  }

  async deleteProfileItem(id: string): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: profileKey(id) }));
  }

  /**
   * Record a consent denial as ingest receives it, before it answers: the send
   * step reads it (`consentHold`), so nothing goes out between the answer and the
   * profile consumer applying the event. Keeps the greatest key of a channel (a
   * denial's key is its receipt); idempotent. In the customer's partition, so
   * erasure deletes it; it expires after `CONSENT_HOLD_DAYS`, when the profile has long had it.
   *
   * Erasure's writer half (write, then check): after writing, it reads the tombstone; if the
   * customer is erased and has no new life yet, it deletes what it wrote (a hold never outlives
   * nor re-creates a customer: the consumer drops the denial, or, dated after the erasure, starts
   * the new life with it). Otherwise the write came before the tombstone, so before the eraser's
   * query, which deletes it.
   */
  async putConsentHold(id: string, channel: Channel, record: ConsentRecord, topic?: string, writer?: HoldWriter): Promise<void> {
    const key = record.key ?? record.at;
    const hold: HoldWrite = {
      item: { itemType: 'consent-hold', status: record.status, source: record.source, at: record.at, key, [L.ttlAttribute]: Math.floor(Date.parse(key) / 1000) + CONSENT_HOLD_DAYS * 86_400 },
      condition: { expression: 'attribute_not_exists(#pk) OR #key < :key', names: { '#pk': L.partitionKey, '#key': 'key' }, values: { ':key': key } },
    };
    // The key is the denial's receipt: ingest's now. A denial's `at` is min(event time, receipt): belongsAfter reads the same from them.
    await this.#putCustomerHold(id, consentHoldKey(id, channel, topic), hold, { timestamp: record.at, receivedAt: key }, { name: 'key', value: key }, writer?.now, writer);
  }

  /**
   * Record a suppression (a hard bounce) as ingest receives it, before it answers, as `putConsentHold` does a
   * denial: the send step reads it (`holdsOf`), so nothing goes out on the channel, transactional messages
   * included, between the answer and the profile consumer applying the event. Keeps the earliest (as the
   * profile does); idempotent; in the customer's partition; expires `CONSENT_HOLD_DAYS` after its receipt.
   * Erasure's writer half as `putConsentHold`. The customer's address (email) is suppressed too, for every customer
   * record with it (`#putAddressHold`; the earliest suppression, never lifted, no TTL).
   */
  async putSuppressionHold(id: string, channel: Channel, suppression: Suppression, receivedAt: string, address?: string, writer?: HoldWriter, cause?: HoldCause): Promise<void> {
    const now = writer?.now ?? new Date(receivedAt);
    const hold = suppressionHoldWrite(suppression, receivedAt, Math.floor(Date.parse(receivedAt) / 1000) + CONSENT_HOLD_DAYS * 86_400);
    await this.#putCustomerHold(id, suppressionHoldKey(id, channel), hold, { timestamp: suppression.at, receivedAt }, { name: 'at', value: suppression.at }, now, writer);
    // The address is suppressed too, whichever customer record it is sent for (SES's account-level suppression list).
    // `address`: the one the message went to (SES's report), else the customer's now.
    const earlier = (old: Record<string, unknown> | undefined) => old === undefined || (old.at as string) > suppression.at;
    await this.#putAddressHold(id, channel, 'S', { item: { itemType: 'address-suppression', reason: suppression.reason, at: suppression.at, receivedAt }, accepts: earlier }, receivedAt, address, { now, ...(writer && { writer }), causes: causesFor(writer, cause) });
  }

  /**
   * Record a consent change of a customer (a denial or a grant, ordered as the profile orders them: `compareConsent`)
   * as the change of their address (`traits.email` of their live profile, or `address` when the event names it), for
   * every customer record with that address: the address keeps its latest change in consent order, and a send to the
   * address reads it (`holdsOf`): while it is a denial, no marketing goes to the address, whoever it is sent for; a
   * later grant of the address (dated and received after the denial) lifts it. Channels without address holds, and a
   * customer without an address, record nothing. Write, then check, as `putConsentHold`. With `topic`, the change of
   * that subscription topic on the channel (`K#<channel>#<topic>`): leaving the newsletter from one record leaves it
   * for the address. `now`: the writer's time, by which the check after the write judges erasures and holders (a denial
   * applied long after its receipt, e.g. to an address the record moved to, is judged now, not at its receipt); the
   * change's key by default.
   */
  async putAddressConsent(id: string, channel: Channel, record: ConsentRecord, address?: string, topic?: string, writer?: HoldWriter, cause?: HoldCause): Promise<void> {
    if (record.status === 'unknown') return;
    const key = record.key ?? record.at;
    // The greater key wins, and a denial wins a tie (`compareConsent`). A grant only lifts a denial: with no record of
    // the address it writes none (a denial received after it has the greater key anyway: its receipt).
    const hold: AddressHoldWrite = {
      item: { itemType: 'address-consent', status: record.status, source: record.source, at: record.at, key },
      accepts: (old) => (record.status === 'denied' ? old === undefined || (old.key as string) <= key : old !== undefined && (old.key as string) < key),
    };
    // Most grants find no denial of their address: they cost a read, not a failed write.
    const lifts = record.status === 'denied' ? undefined : (item: Record<string, unknown>) => item.status === 'denied' && (item.key as string) < key;
    await this.#putAddressHold(id, channel, topic === undefined ? 'K' : { topic }, hold, key, address, { ...(lifts && { onlyOver: lifts }), ...(writer && { now: writer.now, writer }), causes: causesFor(writer, cause) });
  }

  /**
   * Put an address hold (`addressHoldKey`) of the customer's address (`address`: one the event names, or the hash a
   * one-click link carries; else the live profile's); then, write then check, settle it if the customer is erased (and
   * has no new life, nor joined another's): their erasure may have looked for their addresses' holds before this
   * write. A denial or a suppression is the address's, not the person's: while another, live record has the address
   * (the email index) it stays, for that record, with the pointer under it (`#keepForLiveHolder`: a late complaint or
   * unsubscribe from the mail of an erased guest record still stops marketing to the address the account shares).
   * Otherwise, and for a grant, it is taken back, unless a later write replaced it (its version); only this write is
   * undone: the item it replaced (read before the put, `#writeAddressHold`) is put back, so an address's denial or suppression another
   * record relies on is never removed nor weakened by an erased id's late event; an item this write created is deleted.
   */
  async #putAddressHold(
    id: string,
    channel: Channel,
    /** Consent (`K#<channel>`), a subscription topic's consent on the channel (`K#<channel>#<topic>`), or suppression (`S#<channel>`). */
    kind: 'K' | 'S' | { topic: string },
    hold: AddressHoldWrite,
    receivedAt: string,
    address?: string | { hash: string },
    options: {
      /** Written only over an item this accepts (read first, eventually consistent: a read unit is cheaper than a failed conditional write). */
      onlyOver?: (item: Record<string, unknown>) => boolean;
      /** The customer must have a profile (a one-click link outlives its record and its tombstone): with none, as if erased. */
      ofProfile?: boolean;
      /** The writer's time, by which the check after the write judges erasures and holders; `receivedAt` by default. */
      now?: Date;
      /** A profile writer's hold: judged by the life it wrote, not by its receipt (`HoldWriter`). */
      writer?: HoldWriter;
      /** The marks of the events the hold is written for (`HoldWriter.causes`); none for a writer that names none. */
      causes?: readonly string[];
    } = {},
  ): Promise<void> {
    const { onlyOver } = options;
    if (!ADDRESS_HOLD_CHANNELS.has(channel)) return;
    const now = options.now ?? new Date(receivedAt);
    // Writes of this customer's holds whose check never completed (it failed, the writer died) are checked first: an
    // erasure between one's pointer and its hold took the pointer, and nothing else finds the hold it left.
    await this.#checkOpenHoldWrites(id, now, options.causes ?? []);
    // A named address this channel cannot take even read as some SMS providers report a STOP's sender (no `+`): the
    // record's own, as if none were named.
    const hash = typeof address === 'object' ? address.hash : (namedHoldHash(channel, addressOf(address)) ?? holdAddressHash(channel, await this.#liveAddress(id, channel)));
    if (hash === undefined) return;
    const Key = addressHoldKey(hash, typeof kind === 'object' ? `K#${channel}#${kind.topic}` : `${kind}#${channel}`);
    if (onlyOver !== undefined) {
      const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key }));
      if (Item === undefined || !onlyOver(Item)) return;
    }
    const causes = options.causes ?? [];
    const open: OpenHoldWrite = {
      hash,
      base: newHoldVersion(),
      holdSortKey: Key[L.sortKey]!,
      causes,
      receivedAt,
      now: now.toISOString(),
      ...(options.writer !== undefined && { writer: true, ...(options.writer.life !== undefined && { life: options.writer.life }) }),
      ...(options.ofProfile === true && { ofProfile: true }),
      restricts: kind === 'S' || hold.item.status === 'denied',
    };
    // Opened before the pointer, closed once checked: see `#checkOpenHoldWrites`.
    const openKey = await this.#openHoldWrite(id, open);
    // The customer's pointer to the address first (no address in it, no ttl): their erasure finds the address's holds
    // by it even once the profile has another address and the timeline naming this one has expired.
    const pointer = addressPointerKey(id, hash);
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { ...pointer, itemType: 'address-pointer' } }));
    const written = await this.#writeAddressHold(Key, hold, causes, open.restricts, open.base);
    await this.#checkAddressHold(id, open, written);
    await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: openKey }));
  }

  /**
   * Record a write of an address's hold as open (`OpenHoldWrite`, under a hash of the customer's id, with the id and
   * no address), before its pointer: a write whose check never completes is checked again from it
   * (`#checkOpenHoldWrites`, `recheckOpenHoldWrites`). Its `ttl` (a tombstone's life) only reaps one the sweep could not close.
   */
  async #openHoldWrite(id: string, open: OpenHoldWrite | OpenCustomerHoldWrite): Promise<Record<string, string>> {
    const openedAt = this.#now().toISOString();
    const where = 'kind' in open ? 'C' : open.hash;
    const Key = { [L.partitionKey]: `${OPEN_HOLD_WRITE_PREFIX}${hashId(id)}`, [L.sortKey]: `${where}#${open.holdSortKey}#${open.base}` };
    const ttl = Math.floor(Date.parse(openedAt) / 1000) + Math.ceil((this.options.tombstoneDays ?? DEFAULT_TOMBSTONE_DAYS) * 86_400);
    const { causes, ...rest } = 'kind' in open ? { ...open, causes: [] } : open;
    const index = { [L.dueIndex.partitionKey]: `${OPEN_HOLD_INDEX_PREFIX}#${shardOf(id)}`, [L.dueIndex.sortKey]: `${openedAt}#${open.base}` };
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...Key, ...index, itemType: 'open-hold-write', id, ...rest, ...(causes.length > 0 && { causes: new Set(causes) }), openedAt, [L.ttlAttribute]: ttl },
      }),
    );
    return Key;
  }

  /**
   * Carry the consent and suppression holds of visitor `visitorId` (`anon:<visitor>`) to customer `customerId`, as their
   * own: a visitor's denial ingest answered before the visitor was linked is held under the visitor, and a send reads
   * the holds of the visitors the profile lists; one evicted from that list (past PROFILE_LIMITS.anonymousIds) would
   * no longer be read. Called before the write that drops it (the consumer's eviction). Each carried as its kind is
   * written (the greater key, the earlier suppression win; write, then check: erasure judges it by its receipt).
   */
  async carryHolds(visitorId: string, customerId: string, now: Date, life?: string): Promise<number> {
    // Written as the life the consumer writes (`life`: the erasure the customer came back after, if any): a visitor's
    // hold received before that erasure is the new life's, which has the visitor now (the erasure never reached it).
    const writer: HoldWriter = { now, life };
    const nowSeconds = now.getTime() / 1000;
    let carried = 0;
    // Its own holds, and those parked under a hash of it (received after its erasure, before a new life linked it).
    for (const pk of [`C#${visitorId}`, `${PARKED_HOLD_PREFIX}${hashId(visitorId)}`]) {
      for (const item of [...(await this.#queryPrefix(pk, 'K#')), ...(await this.#queryPrefix(pk, 'S#'))]) {
        if (typeof item[L.ttlAttribute] === 'number' && (item[L.ttlAttribute] as number) <= nowSeconds) continue;
        const [, channel, topic] = String(item[L.sortKey]).split('#') as [string, Channel, string | undefined];
        if (item.itemType === 'consent-hold') {
          await this.putConsentHold(customerId, channel, { status: item.status as ConsentRecord['status'], source: item.source as string, at: item.at as string, key: item.key as string }, topic, writer);
          carried++;
        } else if (item.itemType === 'suppression-hold') {
          const at = item.at as string;
          const ttl = typeof item[L.ttlAttribute] === 'number' ? (item[L.ttlAttribute] as number) : Math.floor(now.getTime() / 1000) + CONSENT_HOLD_DAYS * 86_400;
          // Its receipt as written (one written before it was kept: from its expiry, to the second).
          const receivedAt = typeof item.receivedAt === 'string' ? item.receivedAt : new Date((ttl - CONSENT_HOLD_DAYS * 86_400) * 1000).toISOString();
          const hold = suppressionHoldWrite({ reason: item.reason as Suppression['reason'], at }, receivedAt, ttl);
          await this.#putCustomerHold(customerId, suppressionHoldKey(customerId, channel), hold, { timestamp: at, receivedAt }, { name: 'at', value: at }, now, writer);
          carried++;
        }
      }
    }
    return carried;
  }

  /**
   * Put a hold in the customer's partition (`putConsentHold`, `putSuppressionHold`) and check it (`#undoHoldIfErased`),
   * the write open meanwhile (`#openHoldWrite`): one whose check never ran is checked again (`#checkCustomerHold`).
   */
  async #putCustomerHold(id: string, Key: Record<string, string>, hold: HoldWrite, event: Pick<NormalisedEvent, 'timestamp' | 'receivedAt'>, mark: { name: string; value: string }, now?: Date, writer?: HoldWriter): Promise<void> {
    const open: OpenCustomerHoldWrite = {
      kind: 'customer',
      base: newHoldVersion(),
      holdSortKey: Key[L.sortKey]!,
      markName: mark.name,
      markValue: mark.value,
      timestamp: event.timestamp,
      receivedAt: event.receivedAt,
      ...(writer !== undefined && { writer: true, ...(writer.life !== undefined && { life: writer.life }) }),
    };
    const openKey = await this.#openHoldWrite(id, open);
    if (await this.#putHold(Key, hold)) await this.#undoHoldIfErased(id, Key, event, mark, hold, now, writer);
    await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: openKey }));
  }

  /**
   * The check of a hold write in the customer's partition left open (`#putCustomerHold`), as `#undoHoldIfErased` would
   * have done it, judged at `now`: the hold deleted (unless a later write replaced it: its mark) if the customer is
   * erased and it is not their new life's. (A denial received after the erasure is not parked here: its event, if it
   * was ever published, is parked by the profile consumer.)
   */
  async #checkCustomerHold(id: string, item: Record<string, unknown>, now: Date): Promise<void> {
    const tombstone = await this.tombstone(id, now);
    if (tombstone === undefined) return;
    if (item.writer === true && tombstone.erasedAt === item.life) return;
    const event = { timestamp: item.timestamp as string, receivedAt: item.receivedAt as string };
    if (receivedAfterErasure(event, tombstone) && ((await this.hasNewLife(id, tombstone)) || (await this.isJoined(id)))) return;
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { [L.partitionKey]: `C#${id}`, [L.sortKey]: item.holdSortKey as string },
          ConditionExpression: '#m = :m',
          ExpressionAttributeNames: { '#m': item.markName as string },
          ExpressionAttributeValues: { ':m': item.markValue },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /** Check an open hold write again (`#checkCustomerHold` or `#checkAddressHold`, not knowing what it wrote), judged at `now`. */
  async #checkOpenHoldWrite(id: string, item: Record<string, unknown>, now: Date): Promise<void> {
    if (item.kind === 'customer') await this.#checkCustomerHold(id, item, now);
    else await this.#checkAddressHold(id, this.#openHoldWriteOf(item, now), 'unknown');
  }

  readonly #now = (): Date => this.options.now?.() ?? new Date();

  /** An open hold write's record (`#openHoldWrite`) as its check takes it, judged at `now`. */
  #openHoldWriteOf(item: Record<string, unknown>, now: Date): OpenHoldWrite {
    const { hash, base, holdSortKey, receivedAt, restricts } = item as { hash: string; base: string; holdSortKey: string; receivedAt: string; restricts: boolean };
    return {
      hash,
      base,
      holdSortKey,
      causes: causesOf(item),
      receivedAt,
      now: now.toISOString(),
      ...(item.writer === true && { writer: true, ...(typeof item.life === 'string' && { life: item.life }) }),
      ...(item.ofProfile === true && { ofProfile: true }),
      restricts,
    };
  }

  /**
   * The sweep's check of the hold writes left open (`#openHoldWrite`) since before `before` (more than a write may take:
   * their writers are done or dead), as their own check would have done (`#checkAddressHold`, `unknown`), then closed:
   * a write whose check failed and that nobody retries (a one-click POST, a sender that gave up on a 503) and no other
   * write of the customer's id ever checks again. Returns how many were checked and how many failed (left open).
   */
  async recheckOpenHoldWrites(before: Date, now: Date, limitPerShard = 100): Promise<{ checked: number; failed: number }> {
    const keys = await queryShardsBefore(this.doc, this.tableName, L.dueIndex, OPEN_HOLD_INDEX_PREFIX, before.toISOString(), limitPerShard, { exactLimit: true });
    let checked = 0;
    let failed = 0;
    for (const key of keys) {
      const Key = { [L.partitionKey]: key[L.partitionKey], [L.sortKey]: key[L.sortKey] };
      try {
        const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key, ConsistentRead: true }));
        if (Item === undefined || typeof Item.id !== 'string') continue;
        await this.#checkOpenHoldWrite(Item.id, Item, now);
        await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key }));
        checked++;
      } catch {
        // Not logged: the id (and an error naming it) may be an erased customer's. The next sweep tries again.
        failed++;
      }
    }
    return { checked, failed };
  }

  /**
   * Check again the writes of `id`'s address holds left open (`#openHoldWrite`: the writer's check failed, or it died
   * after its pointer), as their own check would have (`#checkAddressHold`), not knowing whether their hold landed: an
   * erasure between the pointer and the hold took the pointer, so neither the erasure nor a drop's undo (which reads the
   * pointers) finds the hold. Run before each hold write of the customer and by a drop of their event. One opened less
   * than a write may take (`LISTING_IN_FLIGHT_MS`) may be a writer's still in flight (its hold not landed yet: it checks
   * itself): checked, not closed, unless it was written for an event in `retrying` (the marks of the events this write
   * is for: an earlier attempt's, over by now).
   */
  async #checkOpenHoldWrites(id: string, now: Date, retrying: readonly string[]): Promise<void> {
    const open = await queryAll(this.doc, {
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': L.partitionKey },
      ExpressionAttributeValues: { ':pk': `${OPEN_HOLD_WRITE_PREFIX}${hashId(id)}` },
      ConsistentRead: true,
    });
    for (const item of open) {
      await this.#checkOpenHoldWrite(id, item, now);
      const Key = { [L.partitionKey]: item[L.partitionKey], [L.sortKey]: item[L.sortKey] };
      if (this.#now().getTime() - Date.parse(item.openedAt as string) >= LISTING_IN_FLIGHT_MS) {
        await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key }));
        continue;
      }
      if (!causesOf(item).some((cause) => retrying.includes(cause))) continue;
      // An earlier attempt's of an event this write retries, of a life erased since, while the customer has a new one:
      // closed. The retry is the new life's, and so is the event's mark on the address's holds from now on; a later
      // check of the record would take that mark from the new life's hold.
      if (await this.#ofErasedLifeSinceCameBack(id, item, now)) {
        await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key }));
        continue;
      }
      // An earlier attempt's of an event this write retries: most likely over, but a duplicate delivery of the event
      // may still be in flight (its hold not landed yet). Kept without the id (and out of the sweep's index): the next
      // check of the id (that delivery's own retry, if its check fails) still finds it; nothing names the id.
      if (typeof item.id === 'string') {
        const { id: _id, [L.dueIndex.partitionKey]: _pk, [L.dueIndex.sortKey]: _sk, ...stub } = item;
        try {
          await this.doc.send(new PutCommand({ TableName: this.tableName, Item: stub, ConditionExpression: 'attribute_exists(#pk)', ExpressionAttributeNames: { '#pk': L.partitionKey } }));
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
      }
    }
  }

  /** Whether an open hold write (`#openHoldWrite`) is of a life of `id` erased since, and the customer has come back. */
  async #ofErasedLifeSinceCameBack(id: string, item: Record<string, unknown>, now: Date): Promise<boolean> {
    const tombstone = await this.tombstone(id, now);
    if (tombstone === undefined || !(await this.hasNewLife(id, tombstone))) return false;
    return item.writer === true ? tombstone.erasedAt !== item.life : !receivedAfterErasure({ receivedAt: item.receivedAt as string }, tombstone);
  }

  /**
   * The check of an address hold's write (`#putAddressHold`; write, then check): if the customer is erased (and has no
   * new life, nor joined another's), their erasure may have looked for their addresses' holds before this write, so it
   * is settled here. `written`: what the write did (`#writeAddressHold`), or `unknown` for an open write checked again
   * (`#checkOpenHoldWrites`): then its events' causes are taken from the hold (`#takeCause`: with the last, it goes).
   */
  async #checkAddressHold(id: string, open: OpenHoldWrite, written: false | { old?: Record<string, unknown>; version: string } | 'unknown'): Promise<void> {
    const { hash, receivedAt } = open;
    const Key = addressHoldKey(hash, open.holdSortKey);
    const now = new Date(open.now);
    const tombstone = await this.tombstone(id, now);
    // A profile writer's hold is the erased life's when an erasure came after the life it wrote began. Otherwise one
    // received before the erasure completed is the erased life's whatever became of the customer since (a new life, a
    // join); one received after is the new life's (or, with none yet, parked by the caller's own check).
    const newLife = tombstone !== undefined && (await this.hasNewLife(id, tombstone));
    const gone =
      tombstone === undefined
        ? open.ofProfile === true && !(await this.#hasProfile(id))
        : open.writer === true
          ? tombstone.erasedAt !== open.life
          : !receivedAfterErasure({ receivedAt }, tombstone) || (!newLife && !(await this.isJoined(id)));
    if (!gone) return;
    // Erased meanwhile (its erasure may have read the partition before the pointer was written), or long gone: this
    // write is undone, then the pointer goes as the erasure takes it (`#settleAddressOfGone`: the pointer may be the
    // one the erasure needs to find the address, its listing under it or holds it wrote before).
    let kept = false;
    if (written === 'unknown') {
      // Whether it landed is not known. A restriction: its events' part of the hold is taken back (a restriction it
      // replaced keeps its own causes, carried over). A grant: if the hold is still its write (a version it put), the
      // item it replaced is put back.
      kept = open.restricts && (await this.#keepForLiveHolder(hash, now, new Set([id])));
      if (!kept && open.restricts) {
        for (const cause of open.causes) {
          const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key, ConsistentRead: true }));
          if (Item !== undefined) await this.#takeCause(Item, cause);
        }
      }
      if (!open.restricts) {
        const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key, ConsistentRead: true }));
        const version = Item?.[HOLD_VERSION];
        if (typeof version === 'string' && version.startsWith(`${open.base}.`)) {
          const replaced = Item?.replaced;
          await this.#undoAddressHoldWrite(Key, { ...(typeof replaced === 'object' && replaced !== null && { old: replaced as Record<string, unknown> }), version });
        }
      }
    } else if (written) {
      kept = open.restricts && (await this.#keepForLiveHolder(hash, now, new Set([id])));
      if (!kept) await this.#undoAddressHoldWrite(Key, written);
    }
    // Come back since: the partition's pointer and the listing under the address are the new life's (its erasure
    // judges them); only this write was the erased life's. Read again after the undo: a comeback meanwhile (the
    // sweep's check of a write left open runs at any time) holds the address now, its denial with it.
    if (newLife || (tombstone !== undefined && (await this.hasNewLife(id, tombstone)))) return;
    await this.#settleAddressOfGone(id, hash, now, tombstone?.erasedAt, kept);
  }

  /** Undo a write of an address's hold (`#writeAddressHold`): the item it replaced put back, else the hold deleted, unless written over since (the version it put). */
  async #undoAddressHoldWrite(Key: Record<string, string>, written: { old?: Record<string, unknown>; version: string }): Promise<void> {
    const unlessReplaced = { ConditionExpression: '#v = :v', ExpressionAttributeNames: { '#v': HOLD_VERSION }, ExpressionAttributeValues: { ':v': written.version } };
    try {
      if (written.old === undefined) await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key, ...unlessReplaced }));
      // Put back as a version of its own (`restoredVersion`): a writer that read this write's version never writes over it.
      else await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { ...written.old, [HOLD_VERSION]: restoredVersion(written.old) }, ...unlessReplaced }));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /**
   * Write an address's hold (`hold`, over what its `accepts` takes) by version: read the item there, decide, then put
   * only while it is still the version read (`v`; an item written before versions: its key or date), else read again.
   * A restriction's events (`causes`): a write over a restriction keeps the events of the one it replaces (one written
   * without any, before causes were kept, stands for unknown events: `MANY_CAUSES`); a restriction refused (the
   * address holds an earlier suppression, a later denial) relies on the one there: its events join that one's. Either
   * way the undo of one event's write (`undoErasedLifeWrites`) leaves the restriction to the others. Whether it was
   * written, the item it replaced, and the version it put.
   */
  async #writeAddressHold(Key: Record<string, string>, hold: AddressHoldWrite, causes: readonly string[], restricts: boolean, base: string = newHoldVersion()): Promise<false | { old?: Record<string, unknown>; version: string }> {
    for (let attempt = 0; attempt < HOLD_WRITE_ATTEMPTS; attempt++) {
      // After a lost round, a pause of up to a millisecond: writers that read together do not all read together again.
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() < 0.5 ? 0 : 1));
      const { Item: old } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key, ConsistentRead: true }));
      const accepted = hold.accepts(old);
      let item: Record<string, unknown>;
      if (accepted) {
        const carried = restricts && old !== undefined && isRestriction(old) ? (causesOf(old).length > 0 ? causesOf(old) : [MANY_CAUSES]) : [];
        const all = [...causes, ...carried];
        // A grant keeps the item it replaces with what that one kept (`replaced`, `keptReplaced`: an open write's check
        // puts it back, `#checkOpenHoldWrites`). A restriction keeps none: its causes carry what it replaced.
        const replaced = !restricts && old !== undefined ? keptReplaced(old) : undefined;
        item = { ...Key, ...hold.item, ...(all.length > 0 && { causes: boundedCauses(all) }), ...(replaced && { replaced }) };
      } else {
        // Refused: relied on, when the one there is a restriction whose events are known (not one without causes, nor many).
        const had = old === undefined ? [] : causesOf(old);
        if (!restricts || old === undefined || !isRestriction(old) || causes.length === 0 || had.length === 0 || had.includes(MANY_CAUSES) || causes.every((c) => had.includes(c))) return false;
        item = { ...old, causes: boundedCauses([...had, ...causes]) };
      }
      const version = `${base}.${attempt}`;
      try {
        await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { ...item, [HOLD_VERSION]: version }, ...asRead(old) }));
        return accepted ? { ...(old !== undefined && { old }), version } : false;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    throw new Error(`address hold ${String(Key[L.partitionKey])}/${String(Key[L.sortKey])}: written over ${HOLD_WRITE_ATTEMPTS} times while this write read it`);
  }

  /**
   * Take event `cause` out of the causes of an address's hold, by version as `#writeAddressHold`: the hold goes with its
   * last cause, else only the cause goes (two undos at once never both take theirs from the same version).
   */
  async #takeCause(item: Record<string, unknown>, cause: string): Promise<void> {
    const Key = { [L.partitionKey]: item[L.partitionKey], [L.sortKey]: item[L.sortKey] };
    let current: Record<string, unknown> | undefined = item;
    for (let attempt = 0; attempt < HOLD_WRITE_ATTEMPTS; attempt++) {
      if (current === undefined || !causesOf(current).includes(cause)) return;
      const left = causesOf(current).filter((c) => c !== cause);
      try {
        if (left.length === 0) await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key, ...asRead(current) }));
        else {
          await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { ...current, causes: new Set(left), [HOLD_VERSION]: newHoldVersion() }, ...asRead(current) }));
        }
        return;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
      current = (await this.doc.send(new GetCommand({ TableName: this.tableName, Key, ConsistentRead: true }))).Item;
    }
  }

  /**
   * Take the pointer of a customer who is gone (erased with no new life, or long gone) to the address `hash` the way
   * their erasure takes the address: their listing under it goes; the address's holds stay for a live record that has
   * it (pointed to it), else they go; then the pointer. A writer that found the customer gone after writing the
   * pointer does this instead of deleting only the pointer: the erasure may have read the partition before the
   * pointer was written, or may read it after the pointer is gone, and the pointer may be the one it needs to find
   * the address (the customer's listing under a former address, holds they wrote before). Idempotent with the erasure.
   * With `erasedAt`: a listing of the customer under the address written for the life after that erasure (its `life`),
   * while a write can be in flight, is a new life's on its way (its profile not written yet): the pointer is that
   * life's and stays. A listing of the erased life written after the erasure (a late write) is settled.
   * `kept`: the caller has just pointed a live holder to the address (`#keepForLiveHolder`): its holds stay for it.
   */
  async #settleAddressOfGone(id: string, hash: string, now: Date, erasedAt?: string, kept = false): Promise<void> {
    const listingKey = addressHolderKey(hash, id);
    const { Item: listing } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: listingKey, ConsistentRead: true }));
    const listedAt = typeof listing?.listedAt === 'string' ? listing.listedAt : undefined;
    if (erasedAt !== undefined && listing?.life === erasedAt && listedAt !== undefined && listedAt > erasedAt && now.getTime() - Date.parse(listedAt) < LISTING_IN_FLIGHT_MS) return;
    if (listing !== undefined) await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: listingKey }));
    if (!kept && !(await this.#keepForLiveHolder(hash, now, new Set([id])))) await this.#freeAddress(hash, now, new Set([id]));
    await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: addressPointerKey(id, hash) }));
  }

  /**
   * Free an address nobody in `gone` may keep (its holders checked: none live): delete its holds (consent, topics,
   * suppression), each only as read (a grant or denial written since is a writer's with a check of its own), never
   * the listings of records that had or have it (a record listed meanwhile is a holder). Then check again (write,
   * then check): a record that got the address between the holder check and the deletes is found by its listing
   * now, and the holds are put back for it (each unless written anew), then kept only if it is still live when
   * pointed to it (`#keepForLiveHolder`: its own erasure may have judged the address meanwhile), else taken back.
   */
  async #freeAddress(hash: string, now: Date, gone: ReadonlySet<string>): Promise<void> {
    const holds = await this.#addressHolds(hash);
    const deleted: Array<Record<string, unknown>> = [];
    for (const item of holds) if (await this.#deleteAsRead(item)) deleted.push(item);
    if (deleted.length === 0 || (await this.#liveHolderOf(hash, now, gone)) === undefined) return;
    const restored: Array<Record<string, unknown>> = [];
    for (const item of deleted) {
      try {
        await this.doc.send(new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': L.partitionKey } }));
        restored.push(item);
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    if (restored.length === 0 || (await this.#keepForLiveHolder(hash, now, gone))) return;
    for (const item of restored) await this.#deleteAsRead(item);
  }

  /** Delete an address's hold as it was read (its `key`, else its `at`, unchanged); false if it changed or went meanwhile. */
  async #deleteAsRead(item: Record<string, unknown>): Promise<boolean> {
    const mark = item.key !== undefined ? 'key' : item.at !== undefined ? 'at' : undefined;
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { [L.partitionKey]: item[L.partitionKey], [L.sortKey]: item[L.sortKey] },
          // By version when it has one (a writer that joined its causes since made it another hold); else by key or date.
          ...(typeof item[HOLD_VERSION] === 'string' || mark !== undefined
            ? asRead(item)
            : { ConditionExpression: 'attribute_exists(#pk)', ExpressionAttributeNames: { '#pk': L.partitionKey } }),
        }),
      );
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return false;
    }
  }

  /**
   * A one-click link's denial of the address its message went to (`hash`, signed into the link), whatever became of
   * the customer the link names since: the address's denial (`putAddressConsent`'s order), with the pointer under that
   * customer; if they are erased (no new life), kept while another, live record has the address (the pointer under
   * that record), else taken back (the erased person's own denial is parked for their comeback).
   */
  async denyAddressOfLink(id: string, hash: string, channel: Channel, record: ConsentRecord, cause?: HoldCause): Promise<void> {
    if (record.status !== 'denied') return;
    const key = record.key ?? record.at;
    const hold: AddressHoldWrite = {
      item: { itemType: 'address-consent', status: record.status, source: record.source, at: record.at, key },
      accepts: (old) => old === undefined || (old.key as string) <= key,
    };
    await this.#putAddressHold(id, channel, 'K', hold, key, { hash }, { ofProfile: true, causes: causesFor(undefined, cause) });
  }

  /** The address on `channel` (its trait: `email`, `phone`) of the live profile `id` is (or is joined into), if it has one. */
  async #liveAddress(id: string, channel: Channel): Promise<string | undefined> {
    const resolved = await this.resolve(id);
    return resolved.cycle ? undefined : addressOf(resolved.stored?.profile.traits[CHANNEL_ADDRESS_TRAIT[channel]]);
  }

  /**
   * The check of a hold's write, then check: if the customer is erased, delete the hold just written (`mark`:
   * unless a later write replaced it), except for a customer who came back, when the denial was received after
   * the erasure completed: then it is their new life's, whatever its date (`receivedInNewLife`). Received after the
   * erasure completed while they have no new life yet: it is that life's too, which may begin as a join into another
   * customer before the consumer applies (or parks) the denial, so it is kept under a hash of the id (`parkedHoldKey`,
   * no id in it; it expires as the hold would), where a send to whoever the id is joined or linked into reads it
   * (`holdsOf`); then, write then check, dropped if an erasure began meanwhile (its query may have missed it).
   */
  async #undoHoldIfErased(id: string, Key: Record<string, string>, event: Pick<NormalisedEvent, 'timestamp' | 'receivedAt'>, mark: { name: string; value: string }, hold: HoldWrite, now: Date = new Date(event.receivedAt), writer?: HoldWriter): Promise<void> {
    const tombstone = await this.tombstone(id, now);
    // A profile writer's hold of a life no erasure came after.
    if (tombstone !== undefined && writer !== undefined && tombstone.erasedAt === writer.life) return;
    // A new life of their own, or joined into another customer's since (a forwarding record exists only after the erasure).
    if (!tombstone || (receivedAfterErasure(event, tombstone) && ((await this.hasNewLife(id, tombstone)) || (await this.isJoined(id))))) return;
    if (receivedAfterErasure(event, tombstone)) {
      const parked = parkedHoldKey(id, Key);
      if ((await this.#putHold(parked, hold)) && (await this.tombstone(id, now))?.erasedAt !== tombstone.erasedAt) {
        await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: parked }));
      }
    }
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key,
          ConditionExpression: '#m = :m',
          ExpressionAttributeNames: { '#m': mark.name },
          ExpressionAttributeValues: { ':m': mark.value },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /**
   * Put a hold under `Key` unless its condition fails (the channel holds a greater key, an earlier suppression already);
   * whether it was written. (An address's hold is written by version instead: `#writeAddressHold`.)
   */
  async #putHold(Key: Record<string, string>, hold: HoldWrite): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...Key, ...hold.item },
          ConditionExpression: hold.condition.expression,
          ExpressionAttributeNames: hold.condition.names,
          ExpressionAttributeValues: hold.condition.values,
        }),
      );
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return false;
    }
  }

  /**
   * The subscription topics among `topics` that the address (`address`, on `channel`) has left (`putAddressConsent`
   * with a topic: its latest change is a denial): what the preference page shows of the address besides the record's
   * own choices. One strongly consistent read per topic (a page lists a handful).
   */
  async addressTopicDenials(channel: Channel, address: string, topics: readonly string[]): Promise<Record<string, ConsentRecord>> {
    const hash = ADDRESS_HOLD_CHANNELS.has(channel) ? holdAddressHash(channel, address) : undefined;
    if (hash === undefined) return {};
    const out: Record<string, ConsentRecord> = {};
    for (const topic of topics) {
      const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: addressHoldKey(hash, `K#${channel}#${topic}`), ConsistentRead: true }));
      if (Item?.status === 'denied') out[topic] = { status: 'denied', source: Item.source as string, at: Item.at as string, key: Item.key as string };
    }
    return out;
  }

  /** Whether `id` has a profile item (live or frozen into another's): one key read, no body. */
  async #hasProfile(id: string): Promise<boolean> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: profileKey(id), ConsistentRead: true, ProjectionExpression: '#pk', ExpressionAttributeNames: { '#pk': L.partitionKey } }));
    return Item !== undefined;
  }

  /** Whether the profile of `id` is frozen into another customer's (`mergedInto`): one attribute read, no body unpacked. */
  async isJoined(id: string): Promise<boolean> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: profileKey(id), ConsistentRead: true, ProjectionExpression: 'mergedInto' }));
    return Item?.mergedInto !== undefined;
  }

  /** Whether the erased customer came back: a live profile whose new life began at this tombstone's erasure. */
  async hasNewLife(id: string, tombstone: Tombstone): Promise<boolean> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: profileKey(id), ConsistentRead: true, ProjectionExpression: 'rebornAfter' }));
    return Item?.rebornAfter === tombstone.erasedAt;
  }

  /** The consent denial ingest recorded for a channel (`putConsentHold`), if any and not expired. */
  async consentHold(id: string, channel: Channel, now: Date): Promise<ConsentRecord | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: consentHoldKey(id, channel), ConsistentRead: true }));
    if (!Item || (Item[L.ttlAttribute] as number) <= now.getTime() / 1000) return undefined;
    return { status: Item.status as ConsentRecord['status'], source: Item.source as string, at: Item.at as string, key: Item.key as string };
  }

  /**
   * The holds ingest recorded for a channel under any of these ids (`putConsentHold`, `putSuppressionHold`), with
   * `topic` that topic's denials on the channel too, those not expired, and those kept for an erased id among them
   * (`parkedHoldKey`: the id joined or linked as its new life): strongly consistent, one BatchGetItem per 25 ids (the
   * four holds of 25 ids are 100 keys; 16 ids with a topic, six holds each), whatever the number of ids a customer has.
   * With `address` (where the message goes), the address's own holds too (`putAddressConsent`, `putAddressSuppression`),
   * in the same call: its denial (a grant of the address only lifts its denial) and its suppression count as the customer's.
   */
  async holdsOf(ids: readonly string[], channel: Channel, now: Date, topic?: string, address?: string): Promise<ChannelHolds> {
    const out: ChannelHolds = { consent: [], ...(topic !== undefined && { topicConsent: [] }) };
    const nowSeconds = now.getTime() / 1000;
    const to = ADDRESS_HOLD_CHANNELS.has(channel) ? holdAddressHash(channel, address) : undefined;
    const all: Array<Record<string, unknown>> = [
      ...(to === undefined ? [] : [addressHoldKey(to, `K#${channel}`), addressHoldKey(to, `S#${channel}`), ...(topic === undefined ? [] : [addressHoldKey(to, `K#${channel}#${topic}`)])]),
      ...ids.flatMap((id) => {
        const own = [consentHoldKey(id, channel), suppressionHoldKey(id, channel), ...(topic === undefined ? [] : [consentHoldKey(id, channel, topic)])];
        return [...own, ...own.map((Key) => parkedHoldKey(id, Key))];
      }),
    ];
    // BatchGetItem takes 100 keys a call.
    for (let i = 0; i < all.length; i += 100) {
      let keys: Array<Record<string, unknown>> | undefined = all.slice(i, i + 100);
      for (let attempt = 0; keys && keys.length > 0; attempt++) {
        if (attempt > 8) throw new Error(`holds of ${channel}: DynamoDB kept keys unprocessed`);
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 2 ** attempt * 10));
        const page: BatchGetCommandOutput = await this.doc.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }));
        for (const item of page.Responses?.[this.tableName] ?? []) {
          if (item[L.ttlAttribute] !== undefined && (item[L.ttlAttribute] as number) <= nowSeconds) continue;
          // An address's grant is no hold: it only lifted the address's denial (the customer's own consent stands as it is).
          if (item.itemType === 'address-consent' && item.status !== 'denied') continue;
          if (item.itemType === 'suppression-hold' || item.itemType === 'address-suppression') {
            const s: Suppression = { reason: item.reason as Suppression['reason'], at: item.at as string };
            if (!out.suppression || s.at < out.suppression.at) out.suppression = s;
          } else {
            const record: ConsentRecord = { status: item.status as ConsentRecord['status'], source: item.source as string, at: item.at as string, key: item.key as string };
            if ((item[L.sortKey] as string).startsWith(`K#${channel}#`)) out.topicConsent?.push(record);
            else out.consent.push(record);
          }
        }
        keys = page.UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    return out;
  }

  /** Add an event to the customer's timeline. Idempotent: the key is the event's time, source and messageId. */
  async putTimelineEvent(id: string, event: NormalisedEvent, retentionDays: number): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { [L.partitionKey]: `C#${id}`, [L.sortKey]: timelineSortKey(event), itemType: 'event', event, [L.ttlAttribute]: timelineExpiry(event, retentionDays) },
      }),
    );
  }

  /**
   * Add events to the customer's timeline (`putTimelineEvent` each): one event by PutItem, several by BatchWriteItem,
   * 25 a call (the same items, unconditional puts; an event twice is written once). What DynamoDB leaves unprocessed
   * is written again with backoff; a call that fails leaves its events to the caller's retry (idempotent, as one by one).
   */
  async putTimelineEvents(id: string, events: readonly NormalisedEvent[], retentionDays: number): Promise<void> {
    const bySortKey = new Map(events.map((event) => [timelineSortKey(event), event]));
    if (bySortKey.size <= 1) {
      for (const event of bySortKey.values()) await this.putTimelineEvent(id, event, retentionDays);
      return;
    }
    const requests = [...bySortKey].map(([sortKey, event]) => ({
      PutRequest: { Item: { [L.partitionKey]: `C#${id}`, [L.sortKey]: sortKey, itemType: 'event', event, [L.ttlAttribute]: timelineExpiry(event, retentionDays) } },
    }));
    await Promise.all(
      Array.from({ length: Math.ceil(requests.length / 25) }, async (_, i) => {
        let left: typeof requests | undefined = requests.slice(i * 25, i * 25 + 25);
        for (let attempt = 0; left && left.length > 0; attempt++) {
          if (attempt > 8) throw new Error(`timeline of ${id}: DynamoDB kept ${left.length} write(s) unprocessed`);
          if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 2 ** attempt * 10));
          const page: BatchWriteCommandOutput = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: left } }));
          left = page.UnprocessedItems?.[this.tableName] as typeof requests | undefined;
        }
      }),
    );
  }

  /**
   * Whether the event is on the timeline under any of these ids (an applied event always is: the key is
   * its time, source and messageId). An item written before events were keyed by source is found by time
   * and messageId, and counts only if it is this source's.
   */
  async hasTimelineEvent(ids: readonly string[], event: NormalisedEvent): Promise<boolean> {
    return (await this.findTimelineEvent(ids, event)) === 'found';
  }

  /** `hasTimelineEvent`, telling apart an event not on the timeline (`absent`) from another source's under its old key (`other-source`). */
  async findTimelineEvent(ids: readonly string[], event: NormalisedEvent): Promise<'found' | 'absent' | 'other-source'> {
    const get = (id: string, sortKey: string) =>
      this.doc.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { [L.partitionKey]: `C#${id}`, [L.sortKey]: sortKey },
          ProjectionExpression: '#pk, #event.#source',
          ExpressionAttributeNames: { '#pk': L.partitionKey, '#event': 'event', '#source': 'sourceId' },
          ConsistentRead: true,
        }),
      );
    const found = await Promise.all(
      ids.map(async (id) => {
        if ((await get(id, timelineSortKey(event))).Item !== undefined) return 'found';
        const { Item } = await get(id, legacyTimelineSortKey(event));
        if (Item === undefined) return 'absent';
        return (Item.event as { sourceId?: string } | undefined)?.sourceId === event.sourceId ? 'found' : 'other-source';
      }),
    );
    return found.includes('found') ? 'found' : found.includes('other-source') ? 'other-source' : 'absent';
  }

  /**
   * Whether `stored` (the profile of `customerId`) has applied the event, and under which key: the one
   * answer to "was this event applied?" for the profile consumer and the journey starter. Returns the
   * key its derived events were caused by (the outbox's `cause`), or undefined when it was not applied.
   * A profile written before events were keyed by source remembers the messageId alone: such a mark is
   * this event's unless the timeline holds another source's event under that time and messageId (without
   * a timeline item, a crashed attempt of the same event is the likelier: never apply twice).
   * Only the recent marks are read (`APPLIED_MAX`); the consumer asks the timeline beyond them.
   */
  async appliedUnder(customerId: string, stored: Pick<StoredProfile, 'applied'>, event: NormalisedEvent): Promise<string | undefined> {
    if (stored.applied.includes(eventMark(event))) return dedupeKey(event);
    // A denial parked beside an erased id's tombstone and folded into their new life is applied under its parked messageId.
    if (stored.applied.includes(appliedMark(parkedKey(event)))) return parkedKey(event);
    if (!stored.applied.includes(appliedMark(event.messageId))) return undefined;
    return (await this.findTimelineEvent(timelineIdsOf(customerId, event), event)) === 'other-source' ? undefined : event.messageId;
  }

  /** The customer's events, newest first; expired ones are filtered out (TTL deletion is late, dynalite never deletes). */
  async listEvents(ids: readonly string[], now: Date, limit = 100): Promise<NormalisedEvent[]> {
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const lists = await Promise.all(
      ids.map(async (id) => {
        const { Items = [] } = await this.doc.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :e)',
            FilterExpression: '#ttl > :now',
            ExpressionAttributeNames: { '#pk': L.partitionKey, '#sk': L.sortKey, '#ttl': L.ttlAttribute },
            ExpressionAttributeValues: { ':pk': `C#${id}`, ':e': 'E#', ':now': nowSeconds },
            ScanIndexForward: false,
            Limit: limit,
          }),
        );
        return Items.filter((i) => (i[L.ttlAttribute] as number) > nowSeconds).map((i) => i.event as NormalisedEvent);
      }),
    );
    return lists
      .flat()
      .sort((a, b) => (a.timestamp < b.timestamp ? 1 : a.timestamp > b.timestamp ? -1 : 0))
      .slice(0, limit);
  }

  /**
   * The customer's events dated at or after `from`, oldest first, at most `limit` (expired ones filtered out):
   * the whole kept history, not just the recent events a profile carries (the journey starter's goal check).
   */
  async eventsFrom(id: string, from: string, now: Date, limit = 1000): Promise<NormalisedEvent[]> {
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const out: NormalisedEvent[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page: { Items?: Array<Record<string, unknown>>; LastEvaluatedKey?: Record<string, unknown> } = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
          ExpressionAttributeNames: { '#pk': L.partitionKey, '#sk': L.sortKey },
          ExpressionAttributeValues: { ':pk': `C#${id}`, ':from': `E#${from}`, ':to': 'E#\uffff' },
          ConsistentRead: true,
          Limit: limit - out.length,
          ...(start !== undefined && { ExclusiveStartKey: start }),
        }),
      );
      for (const item of page.Items ?? []) if ((item[L.ttlAttribute] as number) > nowSeconds) out.push(item.event as NormalisedEvent);
      start = page.LastEvaluatedKey;
    } while (start !== undefined && out.length < limit);
    return out;
  }

  async getAlias(anonymousId: string): Promise<string | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { [L.partitionKey]: `A#${anonymousId}`, [L.sortKey]: 'A' } }));
    return Item?.customerId as string | undefined;
  }

  /** Link a visitor id to a customer; the first link wins (returns the owner). */
  async putAlias(anonymousId: string, customerId: string): Promise<string> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { [L.partitionKey]: `A#${anonymousId}`, [L.sortKey]: 'A', itemType: 'alias', customerId },
          ConditionExpression: 'attribute_not_exists(#pk) OR customerId = :c',
          ExpressionAttributeNames: { '#pk': L.partitionKey },
          ExpressionAttributeValues: { ':c': customerId },
        }),
      );
      return customerId;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return (await this.getAlias(anonymousId)) ?? customerId;
      throw error;
    }
  }

  /** The customer's live tombstone, read strongly consistently (the check of every writer's write-then-check). */
  async tombstone(id: string, now: Date): Promise<Tombstone | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: tombstoneKey(id), ConsistentRead: true }));
    return liveTombstone(Item, now);
  }

  /**
   * The check of a writer's write-then-check in one strongly consistent read: the customer's live tombstone
   * (`tombstone`) and, with `joined`, whether their profile is frozen into another's (`isJoined`), both items
   * in one BatchGetItem rather than a GetItem each.
   */
  async checkAfterWrite(id: string, now: Date, options: { joined: boolean }): Promise<{ tombstone?: Tombstone; joined: boolean }> {
    if (!options.joined) {
      const tombstone = await this.tombstone(id, now);
      return { ...(tombstone && { tombstone }), joined: false };
    }
    let keys: Array<Record<string, unknown>> | undefined = [tombstoneKey(id), profileKey(id)];
    const items: Array<Record<string, unknown>> = [];
    for (let attempt = 0; keys && keys.length > 0; attempt++) {
      if (attempt > 8) throw new Error(`check after the write of ${id}: DynamoDB kept keys unprocessed`);
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 2 ** attempt * 10));
      const page: BatchGetCommandOutput = await this.doc.send(
        new BatchGetCommand({
          RequestItems: {
            [this.tableName]: {
              Keys: keys,
              ConsistentRead: true,
              // The tombstone's attributes and the profile's `mergedInto`, not the profile's body.
              ProjectionExpression: '#pk, erasedAt, completedAt, erasedSince, lifetimeDays, #ttl, mergedInto',
              ExpressionAttributeNames: { '#pk': L.partitionKey, '#ttl': L.ttlAttribute },
            },
          },
        }),
      );
      items.push(...(page.Responses?.[this.tableName] ?? []));
      keys = page.UnprocessedKeys?.[this.tableName]?.Keys;
    }
    const tombstonePk = tombstoneKey(id)[L.partitionKey];
    const tombstone = liveTombstone(
      items.find((item) => item[L.partitionKey] === tombstonePk),
      now,
    );
    const profile = items.find((item) => item[L.partitionKey] === `C#${id}`);
    return { ...(tombstone && { tombstone }), joined: profile?.mergedInto !== undefined };
  }

  /**
   * Park a denial (`denialsOnly`) of erased customer `id` received after the erasure completed, while they have no new
   * life: the event that starts it folds the denial in (`parkedDenials`). Kept beside the tombstone (under its hashed
   * key) with no id in it: no userId or anonymousId, its messageId hashed (`parkedMessageId`); it lives as long as the
   * tombstone must after its receipt, and counts only for this erasure (`erasedAt`). Idempotent.
   */
  async parkDenial(id: string, tombstone: Tombstone, denial: NormalisedEvent): Promise<void> {
    // Only what the denial is (its consent denials and suppressions, `denialsOnly`) and when: nothing that may name them.
    const { specVersion, type, event: name, properties, traits, timestamp, receivedAt, sourceId } = denial;
    const event = { specVersion, type, ...(name !== undefined && { event: name }), properties, traits, context: {}, timestamp, receivedAt, sourceId, messageId: parkedMessageId(denial) };
    const lifetime = Math.floor(Date.parse(denial.receivedAt) / 1000) + Math.ceil((tombstone.lifetimeDays ?? DEFAULT_TOMBSTONE_DAYS) * 86_400);
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...parkedDenialKey(id, event), itemType: 'parked-denial', erasedAt: tombstone.erasedAt, event, [L.ttlAttribute]: Math.max(lifetime, tombstone.expires ?? 0) },
      }),
    );
  }

  /** The denials parked for erased customer `id` since this erasure (`parkDenial`), as events of `id`, oldest receipt first. */
  async parkedDenials(id: string, tombstone: Tombstone, now: Date): Promise<NormalisedEvent[]> {
    const items = await queryAll(this.doc, {
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :d)',
      ExpressionAttributeNames: { '#pk': L.partitionKey, '#sk': L.sortKey },
      ExpressionAttributeValues: { ':pk': `X#${hashId(id)}`, ':d': 'D#' },
      ConsistentRead: true,
    });
    return items
      // Those of this erasure, and of an earlier one of the id that no comeback folded in (the id erased again before it
      // came back: a DSAR tool's retried DELETE): a denial never goes while its tombstone's life lasts.
      .filter((item) => typeof item.erasedAt === 'string' && item.erasedAt <= tombstone.erasedAt && (item[L.ttlAttribute] as number) > now.getTime() / 1000)
      .map((item) => ({ ...(item.event as NormalisedEvent), userId: id }));
  }

  /**
   * Mark for customer `id` (`linkMarkerKey`, with a pointer back under each linked id) the ids a link of theirs is about to write (`anon:<visitor>` for an alias item and
   * a visitor frozen into them, a known id frozen into them by an alias), before it writes them: if their profile write
   * then fails for good, the profile never names those ids, and erasure finds them here (`#reach`). Idempotent.
   */
  async markLinks(id: string, linked: readonly string[]): Promise<void> {
    for (const x of linked) {
      // The pointer back first: the erasure of the linked id that reads it deletes the mark too.
      await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { ...linkBackKey(id, x), itemType: 'link-back' } }));
      // An update, not a put: a mark of a visitor evicted from the profile's list keeps saying so (`markEvicted`).
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: linkMarkerKey(id, x),
          UpdateExpression: 'SET itemType = :t, #id = :id',
          ExpressionAttributeNames: { '#id': 'id' },
          ExpressionAttributeValues: { ':t': 'link-marker', ':id': x },
        }),
      );
    }
  }

  /**
   * Mark visitor `anon:<visitor>` evicted from customer `id`'s list of visitor ids (`PROFILE_LIMITS.anonymousIds`: the
   * oldest goes when a new one is linked), before the profile write that drops it: a link mark (`markLinks`) that stays
   * while the visitor is off the list, so erasure of the customer still reaches it (`#reach`) whatever the timeline's
   * retention, with `evicted` set: its history is in the customer's already, so linking it again (`wasEvicted`) lists
   * it without merging it twice. Deleted when it is linked again (`unmarkLinks`), or with the customer's erasure.
   */
  async markEvicted(id: string, visitor: string): Promise<void> {
    const x = `anon:${visitor}`;
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { ...linkBackKey(id, x), itemType: 'link-back' } }));
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { ...linkMarkerKey(id, x), itemType: 'link-marker', id: x, evicted: true } }));
  }

  /** Whether visitor `anon:<visitor>` was evicted from customer `id`'s list of visitor ids (`markEvicted`) and not linked again since. */
  async wasEvicted(id: string, visitor: string): Promise<boolean> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: linkMarkerKey(id, `anon:${visitor}`), ConsistentRead: true, ProjectionExpression: 'evicted' }));
    return Item?.evicted === true;
  }

  /** Delete link markers (`markLinks`, and one of the old shape): the profile names the ids now, or the links were undone. */
  async unmarkLinks(id: string, linked: readonly string[]): Promise<void> {
    for (const x of linked) {
      for (const Key of [linkMarkerKey(id, x), legacyLinkMarkerKey(id, x), linkBackKey(id, x)]) await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key }));
    }
  }

  /** The ids customer `id`'s link markers name (`markLinks`; the old shape too). */
  async #markedLinks(id: string): Promise<string[]> {
    const marks = await this.#queryPrefix(`X#${hashId(id)}`, LINK_MARK_PREFIX, '#sk, #id');
    const legacy = await this.#queryPrefix(`C#${id}`, 'N#', '#sk');
    return [...new Set([...marks.map((item) => item.id).filter((x): x is string => typeof x === 'string'), ...legacy.map((item) => String(item[L.sortKey]).slice(2))])];
  }

  /** A partition's items whose sort key begins with `prefix` (strongly consistent), projected (by default whole). */
  #queryPrefix(pk: string, prefix: string, projection?: string): Promise<Array<Record<string, unknown>>> {
    return queryAll(this.doc, {
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :p)',
      ExpressionAttributeNames: { '#pk': L.partitionKey, '#sk': L.sortKey, ...(projection?.includes('#id') && { '#id': 'id' }) },
      ExpressionAttributeValues: { ':pk': pk, ':p': prefix },
      ...(projection !== undefined && { ProjectionExpression: projection }),
      ConsistentRead: true,
    });
  }

  /**
   * The keys of every link mark naming erased id `id` or made by them (`markLinks`), each with its pointer back: the
   * erasure of either id deletes them (the old shape's marks by `id` go with `id`'s partition).
   */
  async #linkMarkKeys(id: string): Promise<Array<Record<string, unknown>>> {
    const own = `X#${hashId(id)}`;
    const keys: Array<Record<string, unknown>> = [];
    for (const mark of await this.#queryPrefix(own, LINK_MARK_PREFIX, '#sk, #id')) {
      keys.push({ [L.partitionKey]: own, [L.sortKey]: mark[L.sortKey] });
      if (typeof mark.id === 'string') keys.push(linkBackKey(id, mark.id));
    }
    for (const back of await this.#queryPrefix(own, LINK_BACK_PREFIX, '#sk')) {
      const by = String(back[L.sortKey]).slice(LINK_BACK_PREFIX.length);
      keys.push({ [L.partitionKey]: own, [L.sortKey]: back[L.sortKey] }, { [L.partitionKey]: `X#${by}`, [L.sortKey]: `${LINK_MARK_PREFIX}${hashId(id)}` });
    }
    return keys;
  }

  /**
   * One-off for link marks written before they were keyed by a hash (`C#<customer>` / `N#<linked id>`, the linked id in
   * clear in the customer's partition, which the erasure of the linked id did not reach): each rewritten as `markLinks`
   * writes it now, the old item deleted. Scans the table; returns how many it rewrote.
   */
  async migrateOldLinkMarkers(now: () => Date = () => new Date()): Promise<number> {
    let rewritten = 0;
    const scan = {
      TableName: this.tableName,
      FilterExpression: 'itemType = :t AND begins_with(#pk, :c)',
      ExpressionAttributeNames: { '#pk': L.partitionKey, '#sk': L.sortKey },
      ExpressionAttributeValues: { ':t': 'link-marker', ':c': 'C#' },
      ProjectionExpression: '#pk, #sk',
      ConsistentRead: true,
    };
    // An id erased before the upgrade and not come back (the old mark outlived it): the mark goes, never rewritten (no
    // erasure would reach the new one again). An id living a new life since keeps its mark: its next erasure follows it.
    // Write, then check: an erasure racing the migration (the AWS one-off runs live).
    const erased = async (ids: readonly string[]) => (await Promise.all(ids.map((x) => this.erasedNow(x, now())))).some(Boolean);
    await scanEach(this.doc, scan, async (item) => {
      const id = String(item[L.partitionKey]).slice(2);
      const linked = String(item[L.sortKey]).slice(2);
      if (!(await erased([id, linked]))) {
        await this.markLinks(id, [linked]);
        if (await erased([id, linked])) await this.unmarkLinks(id, [linked]);
        else rewritten++;
      }
      await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: legacyLinkMarkerKey(id, linked) }));
    });
    return rewritten;
  }

  /** Delete parked denials of `id` (`parkedDenials`) once a new life holds them. */
  async unparkDenials(id: string, events: ReadonlyArray<Pick<NormalisedEvent, 'receivedAt' | 'messageId'>>): Promise<void> {
    for (const event of events) await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: parkedDenialKey(id, event) }));
  }

  async isErased(id: string, now: Date): Promise<boolean> {
    return (await this.tombstone(id, now)) !== undefined;
  }

  /** Whether the customer is erased and not living a new life begun after it (a writer's check, write then check). */
  async erasedNow(id: string, now: Date): Promise<boolean> {
    const tombstone = await this.tombstone(id, now);
    return tombstone !== undefined && !(await this.hasNewLife(id, tombstone));
  }

  /**
   * Keep a tombstone at least `lifetimeDays` past the receipt of an event of the erased customer that was
   * dropped: the archive (and the dead-letter queue, redeliveries) keep that event from its receipt, so a
   * tombstone timed from the erasure alone would expire before its last replay. Only ever lengthens it.
   */
  async extendTombstone(id: string, tombstone: Tombstone, receivedAt: string): Promise<void> {
    if (tombstone.expires === undefined || tombstone.lifetimeDays === undefined) return;
    const needed = Math.floor(Date.parse(receivedAt) / 1000) + Math.ceil(tombstone.lifetimeDays * 86_400);
    if (!Number.isFinite(needed) || needed <= tombstone.expires) return;
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: tombstoneKey(id),
          UpdateExpression: 'SET #ttl = :ttl',
          // Erased at the same moment (not a newer erasure's tombstone), and never shortened.
          ConditionExpression: 'attribute_exists(#pk) AND #erasedAt = :erasedAt AND #ttl < :ttl',
          ExpressionAttributeNames: { '#pk': L.partitionKey, '#ttl': L.ttlAttribute, '#erasedAt': 'erasedAt' },
          ExpressionAttributeValues: { ':ttl': needed, ':erasedAt': tombstone.erasedAt },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    // The denials parked beside it live as long as it does (`parkDenial`): a comeback they were parked for may come later.
    const parked = await queryAll(this.doc, {
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :d)',
      ExpressionAttributeNames: { '#pk': L.partitionKey, '#sk': L.sortKey },
      ExpressionAttributeValues: { ':pk': `X#${hashId(id)}`, ':d': 'D#' },
      ConsistentRead: true,
    });
    for (const item of parked) {
      if (item.erasedAt !== tombstone.erasedAt || (item[L.ttlAttribute] as number) >= needed) continue;
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { [L.partitionKey]: item[L.partitionKey], [L.sortKey]: item[L.sortKey] },
            UpdateExpression: 'SET #ttl = :ttl',
            ConditionExpression: 'attribute_exists(#pk) AND #ttl < :ttl',
            ExpressionAttributeNames: { '#pk': L.partitionKey, '#ttl': L.ttlAttribute },
            ExpressionAttributeValues: { ':ttl': needed },
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
  }

  /**
   * Undo a writer's writes for a customer found erased after it wrote (write, then check): delete
   * these keys. A profile begun after the customer's latest erasure (`rebornAfter` = its live tombstone's
   * `erasedAt`) is kept; one begun after an older erasure is this erasure's to delete (a second DELETE racing
   * the new life's first write), so the profile item's delete is conditioned on the tombstone read now. `now`: the
   * writer's clock (the profile's addresses are settled as of it).
   */
  async undoWrites(keys: ReadonlyArray<{ pk: string; sk: string }>, now: Date = new Date()): Promise<void> {
    for (const { pk, sk } of keys) {
      const erasedAt = sk === 'P' && pk.startsWith('C#') ? await this.#latestErasure(pk.slice(2)) : undefined;
      try {
        const { Attributes } = await this.doc.send(
          new DeleteCommand({
            TableName: this.tableName,
            Key: { [L.partitionKey]: pk, [L.sortKey]: sk },
            ...(sk === 'P' && { ReturnValues: 'ALL_OLD' as const }),
            ...(sk === 'P' &&
              (erasedAt === undefined
                ? { ConditionExpression: 'attribute_not_exists(rebornAfter)' }
                : { ConditionExpression: 'attribute_not_exists(rebornAfter) OR rebornAfter <> :erasedAt', ExpressionAttributeValues: { ':erasedAt': erasedAt } })),
          }),
        );
        // The profile write listed the customer under their phone number (`put`) before it was undone.
        if (sk === 'P' && pk.startsWith('C#')) await this.#unlistAddressHolder(pk.slice(2), now, heldHash(Attributes?.heldNumber), heldHash(Attributes?.heldEmail));
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
  }

  /** When the latest erasure of `id` began (its tombstone's `erasedAt`, read strongly consistently, expired or not). */
  async #latestErasure(id: string): Promise<string | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: tombstoneKey(id), ConsistentRead: true, ProjectionExpression: 'erasedAt' }));
    return Item?.erasedAt as string | undefined;
  }

  /** Remove a visitor link written for an erased customer: the alias if it names them, the visitor frozen into them. */
  async undoLink(anonymousId: string, customerId: string): Promise<void> {
    for (const Key of [
      { [L.partitionKey]: `A#${anonymousId}`, [L.sortKey]: 'A' },
      { [L.partitionKey]: `C#anon:${anonymousId}`, [L.sortKey]: 'P' },
    ]) {
      try {
        await this.doc.send(
          new DeleteCommand({
            TableName: this.tableName,
            Key,
            ConditionExpression: Key[L.sortKey] === 'A' ? 'customerId = :c' : 'mergedInto = :c',
            ExpressionAttributeValues: { ':c': customerId },
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
  }

  /**
   * Undo an alias's join of known customer `id` into `survivorId` (the writer found one of them erased
   * after it wrote): a record the join created (no event of its own applied) is deleted, a customer
   * frozen by it is live again as it was. Only while it is still frozen into `survivorId`: an eraser that
   * deleted it meanwhile is not undone.
   */
  async undoJoin(id: string, survivorId: string): Promise<void> {
    const frozen = await this.get(id);
    if (frozen?.mergedInto !== survivorId) return;
    await this.unfreeze(frozen, frozen.applied.length > 0 ? frozen : undefined);
  }

  /** Every item stored under the customer's partition(s) and their aliases, as stored (a profile item's packed attributes as JSON). */
  async allItems(id: string): Promise<Array<Record<string, unknown>>> {
    const items = await this.#allItems(id);
    // Their listings under the addresses and numbers they have (`addressHolderKey`: the id in the address's partition),
    // found by the pointers in their partitions.
    const listings: Array<Record<string, unknown>> = [];
    for (const item of items) {
      const pk = String(item[L.partitionKey]);
      const sk = String(item[L.sortKey]);
      if (!pk.startsWith('C#') || !sk.startsWith('AP#')) continue;
      const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: addressHolderKey(sk.slice(3), pk.slice(2)), ConsistentRead: true }));
      if (Item !== undefined) listings.push(Item);
    }
    return [...items, ...listings].map((item) => (item.itemType === 'profile' ? readableProfileItem(item) : item));
  }

  /**
   * Every item of the customer as stored (profile bodies packed), those of the visitors their link marks name too: a
   * visitor evicted from the profile's list (`markEvicted`) is still theirs (unless another customer owns it).
   */
  async #allItems(id: string): Promise<Array<Record<string, unknown>>> {
    const of = await this.#idsOf(id);
    const marked = new Set<string>();
    for (const x of of.ids) if (!x.startsWith('anon:')) for (const linked of await this.#markedLinks(x)) if (linked.startsWith('anon:') && !of.ids.includes(linked)) marked.add(linked);
    if (marked.size === 0) return this.#itemsOf(of);
    return this.#itemsOf(await this.#ownVisitors({ ids: [...of.ids, ...marked], anonymousIds: [...of.anonymousIds, ...[...marked].map((x) => x.slice(5))] }));
  }

  async #itemsOf({ ids, anonymousIds }: { ids: readonly string[]; anonymousIds: readonly string[] }): Promise<Array<Record<string, unknown>>> {
    const items: Array<Record<string, unknown>> = [];
    for (const x of ids) items.push(...(await this.#queryPartition(`C#${x}`)));
    for (const a of anonymousIds) items.push(...(await this.#queryPartition(`A#${a}`)));
    return items;
  }

  /**
   * Every id of a customer's profile (`idsOfProfile`) and their visitor ids. A profile item too large
   * to unpack (`ProfileTooLargeError`: written before the limits) is scanned for them instead, so
   * erasure still reaches every partition.
   */
  async #idsOf(id: string): Promise<{ ids: string[]; anonymousIds: string[] }> {
    try {
      const stored = await this.get(id);
      return { ids: stored ? idsOfProfile(stored.profile) : [id], anonymousIds: stored?.profile.anonymousIds ?? [] };
    } catch (error) {
      if (!(error instanceof ProfileTooLargeError)) throw error;
      const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: profileKey(id), ConsistentRead: true }));
      const { anonymousIds, mergedIds } = await idsOfOversizedBody(Item!, id);
      return { ids: idsOfProfile({ id, anonymousIds, mergedIds }), anonymousIds };
    }
  }

  /**
   * What erasure reaches from `id`, read after its tombstones: `#idsOf` of it and, when its record is
   * frozen into another customer (an alias joined it before the tombstone: the eraser sees the
   * join whole, as the writer checks the tombstone only after its last write), of that customer too,
   * along the chain — erasing an id joined into another erases the joined customer, both ids.
   */
  async #reach(id: string, timelines = new Map<string, string[]>()): Promise<{ ids: string[]; anonymousIds: string[] }> {
    const ids = new Set<string>();
    const anonymousIds = new Set<string>();
    const visited = new Set<string>();
    for (let next: string | undefined = id; next !== undefined && !visited.has(next) && visited.size <= ALIAS_CHAIN_MAX; next = await this.#frozenInto(next)) {
      visited.add(next);
      const of = await this.#idsOf(next);
      of.ids.forEach((x) => ids.add(x));
      of.anonymousIds.forEach((a) => anonymousIds.add(a));
      ids.add(next);
    }
    // Links an event of theirs wrote before their profile named them (`markLinks`; a profile write that then failed for
    // good): a visitor (kept only if nobody else owns it, `#ownVisitors`), a known id only while frozen into them.
    for (const x of [...ids]) {
      if (x.startsWith('anon:')) continue;
      for (const linked of await this.#markedLinks(x)) {
        if (ids.has(linked)) continue;
        // A known id: the chain of records from it (a join freezes the end of the joined id's chain) must end frozen into them.
        const chain = [linked];
        if (!linked.startsWith('anon:')) {
          let into = await this.#frozenInto(linked);
          while (into !== undefined && into !== x && !chain.includes(into) && chain.length <= ALIAS_CHAIN_MAX) {
            chain.push(into);
            into = await this.#frozenInto(into);
          }
          if (into !== x) continue;
        }
        for (const y of chain) {
          const of = await this.#idsOf(y);
          of.ids.forEach((z) => ids.add(z));
          of.anonymousIds.forEach((a) => anonymousIds.add(a));
          ids.add(y);
        }
        if (linked.startsWith('anon:')) anonymousIds.add(linked.slice(5));
      }
    }
    // Visitor ids past the profile's cap (PROFILE_LIMITS.anonymousIds) are not on the profile: the identify
    // that linked each one is on the timeline, the only record that the visitor is this person.
    for (const x of [...ids]) {
      if (x.startsWith('anon:')) continue;
      if (!timelines.has(x)) timelines.set(x, await this.#visitorsOnTimeline(x));
      for (const a of timelines.get(x)!) {
        anonymousIds.add(a);
        ids.add(`anon:${a}`);
      }
    }
    return { ids: [...ids], anonymousIds: [...anonymousIds] };
  }

  /** The visitor ids the customer's timeline links to them (an event with both their userId and an anonymousId). */
  async #visitorsOnTimeline(id: string): Promise<string[]> {
    const items = await queryAll(this.doc, {
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :e)',
      ExpressionAttributeNames: { '#pk': L.partitionKey, '#sk': L.sortKey },
      ExpressionAttributeValues: { ':pk': `C#${id}`, ':e': 'E#' },
      ProjectionExpression: 'event.anonymousId, event.userId',
      ConsistentRead: true,
    });
    const out = new Set<string>();
    for (const item of items) {
      const event = item.event as { anonymousId?: unknown; userId?: unknown } | undefined;
      if (typeof event?.anonymousId === 'string' && event.userId === id) out.add(event.anonymousId);
    }
    return [...out];
  }

  /**
   * Only the visitors that are this customer's: a visitor id whose alias another customer owns (a sender's
   * identify can name anyone's visitor id, or a customer's id as a visitor id) is not erased with this one.
   * A visitor nobody owns (past the profile's cap, never claimed) is this customer's by the identify that named it.
   */
  async #ownVisitors(reached: { ids: string[]; anonymousIds: string[] }): Promise<{ ids: string[]; anonymousIds: string[] }> {
    const known = new Set(reached.ids.filter((x) => !x.startsWith('anon:')));
    const others = new Set<string>();
    for (const a of reached.anonymousIds) {
      const owner = await this.getAlias(a);
      if (owner !== undefined && !known.has(owner)) others.add(a);
    }
    if (others.size === 0) return reached;
    return { ids: reached.ids.filter((x) => !(x.startsWith('anon:') && others.has(x.slice(5)))), anonymousIds: reached.anonymousIds.filter((a) => !others.has(a)) };
  }

  /**
   * The erasure of `id` that has not completed: its root (`erasingRoot` on its tombstone; `id`'s own hash on a tombstone
   * without one) and the ids it had reached (the root's `E#` items, and `erasing` on a tombstone written before them),
   * for a retry to finish.
   */
  async #erasing(id: string): Promise<{ rootHash: string; ids: string[]; erasedSince?: string }> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: tombstoneKey(id), ConsistentRead: true, ProjectionExpression: 'erasing, erasingRoot' }));
    const rootHash = typeof Item?.erasingRoot === 'string' ? Item.erasingRoot : hashId(id);
    const legacy = Item?.erasing as Set<string> | undefined;
    const progress = await this.#erasingProgress(rootHash);
    return { rootHash, ids: [...new Set([...(legacy ?? []), ...progress.ids])], ...(progress.erasedSince !== undefined && { erasedSince: progress.erasedSince }) };
  }

  /**
   * Erasures begun before `before` and not completed (a DELETE that failed and was never retried, the consumer's erasure
   * of a visitor whose event was dead-lettered): the id each began from and when, from the root's own progress item in
   * GSI1 (`ERASING#<shard>`), at most about `limitPerShard` per shard, oldest first.
   */
  async interruptedErasures(before: Date, limitPerShard = 100): Promise<Array<{ id: string; erasedAt: string }>> {
    const keys = await queryShardsBefore(this.doc, this.tableName, L.dueIndex, ERASING_INDEX_PREFIX, before.toISOString(), limitPerShard, { exactLimit: true });
    const out: Array<{ id: string; erasedAt: string }> = [];
    for (const key of keys) {
      const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { [L.partitionKey]: key[L.partitionKey], [L.sortKey]: key[L.sortKey] }, ConsistentRead: true }));
      if (typeof Item?.id === 'string' && typeof Item.erasedAt === 'string') out.push({ id: Item.id, erasedAt: Item.erasedAt });
    }
    return out;
  }

  /** The ids an erasure rooted at `rootHash` recorded (its `E#` items). */
  async #erasingIds(rootHash: string): Promise<string[]> {
    return (await this.#erasingProgress(rootHash)).ids;
  }

  /** The progress an erasure rooted at `rootHash` recorded (its `E#` items): the ids, and `erasedSince` when it repeats one. */
  async #erasingProgress(rootHash: string): Promise<{ ids: string[]; erasedSince?: string }> {
    const items = await queryAll(this.doc, {
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :e)',
      ExpressionAttributeNames: { '#pk': L.partitionKey, '#sk': L.sortKey, '#id': 'id' },
      ExpressionAttributeValues: { ':pk': `X#${rootHash}`, ':e': ERASING_PREFIX },
      ProjectionExpression: '#id, erasedSince',
      ConsistentRead: true,
    });
    const erasedSince = items.map((i) => i.erasedSince).find((x): x is string => typeof x === 'string');
    return { ids: items.map((i) => i.id).filter((x): x is string => typeof x === 'string'), ...(erasedSince !== undefined && { erasedSince }) };
  }

  /** Write (or delete) items in batches of 25, retrying what DynamoDB leaves unprocessed. */
  async #batchWrite(requests: ReadonlyArray<{ PutRequest: { Item: Record<string, unknown> } } | { DeleteRequest: { Key: Record<string, unknown> } }>, what: string): Promise<void> {
    for (let i = 0; i < requests.length; i += 25) {
      let batch: Array<Record<string, unknown>> | undefined = requests.slice(i, i + 25);
      for (let attempt = 0; batch && batch.length > 0; attempt++) {
        if (attempt > 8) throw new Error(`${what}: DynamoDB kept items unprocessed`);
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 2 ** attempt * 10));
        const { UnprocessedItems }: BatchWriteCommandOutput = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: batch } }));
        batch = UnprocessedItems?.[this.tableName] as typeof batch;
      }
    }
  }

  /**
   * The customers whose profile has this email address (trimmed, case-insensitive), from the email index (GSI3, a
   * hash of the address): their ids, at most `limit`. Eventually consistent, as every index.
   */
  async customersWithEmail(email: string, limit: number): Promise<string[]> {
    const key = emailIndexKey(email);
    if (key === undefined) return [];
    const { Items } = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: L.emailIndex.name,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': L.emailIndex.partitionKey },
        ExpressionAttributeValues: { ':pk': key },
        Limit: limit,
      }),
    );
    return (Items ?? []).map((item) => item[L.emailIndex.sortKey] as string);
  }

  /**
   * One-off for profiles written before the email index: give every live profile with an email address its GSI3
   * keys (`emailIndexKey`), conditional on its version (a profile written meanwhile has them already). Scans the
   * profile items; returns how many it indexed.
   */
  async indexOldEmails(): Promise<number> {
    let indexed = 0;
    const scan = {
      TableName: this.tableName,
      FilterExpression: '#sk = :p AND attribute_not_exists(#epk) AND attribute_not_exists(mergedInto)',
      ExpressionAttributeNames: { '#pk': L.partitionKey, '#sk': L.sortKey, '#epk': L.emailIndex.partitionKey },
      ExpressionAttributeValues: { ':p': 'P' },
      ProjectionExpression: '#pk',
    };
    await scanEach(this.doc, scan, async (item) => {
      const id = (item[L.partitionKey] as string).slice(2);
      const stored = await this.get(id);
      const key = stored && stored.mergedInto === undefined ? emailIndexKey(stored.profile.traits.email) : undefined;
      if (!stored || key === undefined) return;
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: profileKey(id),
            UpdateExpression: 'SET #epk = :epk, #esk = :esk',
            ConditionExpression: '#v = :v',
            ExpressionAttributeNames: { '#epk': L.emailIndex.partitionKey, '#esk': L.emailIndex.sortKey, '#v': 'version' },
            ExpressionAttributeValues: { ':epk': key, ':esk': id, ':v': stored.version },
          }),
        );
        indexed++;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    });
    return indexed;
  }


  /**
   * One-off for profiles written before phone numbers had holds: list every live profile with a phone number as its
   * holder (`addressHolderKey`, as `put` does), then mark the profile (`heldNumber`), conditional on its version (a profile
   * written meanwhile was listed by `put`). Write, then check: a customer erased meanwhile is unlisted again. Scans the
   * profile items; returns how many it listed.
   */
  async listOldNumberHolders(now: () => Date = () => new Date()): Promise<number> {
    let listed = 0;
    const scan = {
      TableName: this.tableName,
      FilterExpression: '#sk = :p AND attribute_not_exists(heldNumber) AND attribute_not_exists(mergedInto)',
      ExpressionAttributeNames: { '#pk': L.partitionKey, '#sk': L.sortKey },
      ExpressionAttributeValues: { ':p': 'P' },
      ProjectionExpression: '#pk',
    };
    await scanEach(this.doc, scan, async (item) => {
      const id = (item[L.partitionKey] as string).slice(2);
      const stored = await this.get(id);
      const number = stored && stored.mergedInto === undefined ? numberHashOf(stored.profile) : undefined;
      if (!stored || number === undefined) return;
      await this.#listAddressHolder(id, number, now(), stored.version, stored.rebornAfter);
      if (await this.erasedNow(id, now())) {
        await this.#unlistAddressHolder(id, now(), number);
        return;
      }
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: profileKey(id),
            UpdateExpression: 'SET heldNumber = :n',
            // The version and the life read (a new life starts again at version 1).
            ConditionExpression: stored.rebornAfter === undefined ? '#v = :v AND attribute_not_exists(#r)' : '#v = :v AND #r = :r',
            ExpressionAttributeNames: { '#v': 'version', '#r': 'rebornAfter' },
            ExpressionAttributeValues: { ':n': number, ':v': stored.version, ...(stored.rebornAfter !== undefined && { ':r': stored.rebornAfter }) },
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
      listed++;
    });
    return listed;
  }

  /**
   * The customer whose profile holds `id`'s history now, when `id`'s record is frozen into another's (a visitor linked,
   * a known id joined by alias): the end of its forwarding records, read one attribute each (no body unpacked).
   */
  async linkedTo(id: string): Promise<string | undefined> {
    const chain = [id];
    for (let next = await this.#frozenInto(id); next !== undefined && !chain.includes(next) && chain.length <= ALIAS_CHAIN_MAX; next = await this.#frozenInto(next)) chain.push(next);
    return chain.length > 1 ? chain[chain.length - 1] : undefined;
  }

  /**
   * The address holds an erasure deletes (`addressHoldKey`): those of every email address the erased customers' profiles,
   * timeline events and address pointers (`addressPointerKey`: an address they had before, its events expired) name, unless a customer not erased with them still has the address (the email index): that
   * record's address is the same person's, and their denial or suppression of it stands (it names nobody erased).
   * A record being erased by another erasure (a tombstone and no new life: `erasedNow`) counts as gone: two erasures
   * of the records sharing an address, run together, each tombstone their ids before this check, so the later check
   * sees both and deletes the address's holds.
   */
  async #addressHoldsToErase(
    items: ReadonlyArray<Record<string, unknown>>,
    erasedIds: readonly string[],
    now: Date,
  ): Promise<{ keys: Array<Record<string, unknown>>; freed: string[] }> {
    const hashes = new Set<string>();
    const add = (value: unknown, hashOf: (value: unknown) => string | undefined = emailHashOf) => {
      const hash = hashOf(value);
      if (hash !== undefined) hashes.add(hash);
    };
    for (const item of items) {
      const sk = String(item[L.sortKey]);
      if (sk === 'P') {
        for (const held of [heldHash(item.heldNumber), heldHash(item.heldEmail)]) if (held !== undefined) hashes.add(held);
        try {
          const { traits } = readContents(item, String(item[L.partitionKey]).slice(2)).profile;
          add(traits.email);
          add(traits.phone, numberHash);
        } catch {
          // An unreadable body: its email index key still names the address.
        }
        const indexed = item[L.emailIndex.partitionKey];
        if (typeof indexed === 'string' && indexed.startsWith('EM#')) hashes.add(indexed.slice(3));
      } else if (sk.startsWith('AP#')) {
        hashes.add(sk.slice(3));
      } else if (sk.startsWith('E#')) {
        const event = item.event as Partial<NormalisedEvent> | undefined;
        const contextTraits = event?.context?.traits as Record<string, unknown> | undefined;
        add(event?.traits?.email);
        add(contextTraits?.email);
        add(event?.traits?.phone, numberHash);
        add(contextTraits?.phone, numberHash);
      }
    }
    const erased = new Set(erasedIds);
    const keys: Array<Record<string, unknown>> = [];
    const freed: string[] = [];
    for (const hash of hashes) {
      const listed = await this.#addressHoldersOf(hash);
      // The erased records' own listings as the number's holders (`addressHolderKey`) go whatever becomes of its holds
      // (one written after this read: its writer takes it back, `undoWrites`).
      for (const item of listed) if (erased.has(item.id as string)) keys.push(addressHolderKey(hash, item.id as string));
      // Kept for a live record with it: it points to the address from now on, so its own erasure finds the holds even
      // once it has moved to another address and its events naming this one have expired (a holder erased meanwhile,
      // its pointer refused, does not count: the next is tried).
      if (await this.#keepForLiveHolder(hash, now, erased, listed)) continue;
      // Nobody else has it: its holds go once the erasure's other deletes are done (`#freeAddress`).
      freed.push(hash);
    }
    return { keys, freed };
  }

  /**
   * A record with the address (`hash`) that is neither in `excluding` nor being erased (a tombstone and no new life:
   * `erasedNow`); undefined when none is: those listed under it (`addressHolderKey`, read strongly consistently) whose
   * live profile has it now (read strongly consistently: a profile written before this read has its listing before it,
   * so it is found), then, for an email address, those the email index lists (records written before listings were
   * kept for email addresses; the index lags, the listing does not).
   */
  async #liveHolderOf(hash: string, now: Date, excluding: ReadonlySet<string>, listed?: ReadonlyArray<Record<string, unknown>>): Promise<string | undefined> {
    const checked = new Set(excluding);
    /**
     * Whether `holder` is a live record with the address; `listing`: its listing under it (none: the index lists it).
     * Listed lately (`LISTING_IN_FLIGHT_MS`; listings from before it say neither when nor for which version: while the
     * record has no profile) and no profile yet or one that has not passed the version listed for, without the address: a
     * write bringing the address is between its listing and its profile (or will be retried): it counts, unless the
     * record is erased (its listing then goes with its erasure or its writer). The index lags: a record it lists may
     * have moved to another address since; its profile says (strongly consistent).
     */
    const holds = async (holder: string, listing?: Record<string, unknown>): Promise<boolean> => {
      if (checked.has(holder)) return false;
      checked.add(holder);
      let stored: StoredProfile | undefined;
      try {
        stored = await this.get(holder);
      } catch (error) {
        // A profile too large to unpack (stored before the limits): judged by what its item says outside the body.
        if (!(error instanceof ProfileTooLargeError)) throw error;
        return (await this.#oversizedHas(holder, hash)) && !(await this.erasedNow(holder, now));
      }
      // A listing from before listings said when (no `listedAt`): in flight while the record has no profile.
      const lately = typeof listing?.listedAt === 'string' ? now.getTime() - Date.parse(listing.listedAt) < LISTING_IN_FLIGHT_MS : stored === undefined;
      const inFlight = listing !== undefined && lately && (stored === undefined || (typeof listing.forVersion === 'number' && stored.version <= listing.forVersion));
      const has = stored !== undefined && (numberHashOf(stored.profile) === hash || emailHashOf(stored.profile.traits.email) === hash);
      if (stored?.mergedInto !== undefined || !(has || inFlight)) return false;
      return !(await this.erasedNow(holder, now));
    };
    for (const item of listed ?? (await this.#addressHoldersOf(hash))) if (await holds(item.id as string, item)) return item.id as string;
    const holders = await queryAll(this.doc, {
      TableName: this.tableName,
      IndexName: L.emailIndex.name,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': L.emailIndex.partitionKey, '#sk': L.emailIndex.sortKey },
      ExpressionAttributeValues: { ':pk': `EM#${hash}` },
      ProjectionExpression: '#sk',
    });
    for (const item of holders) if (await holds(item[L.emailIndex.sortKey] as string)) return item[L.emailIndex.sortKey] as string;
    return undefined;
  }

  /**
   * Whether the profile item of `id`, too large to unpack, has the address `hash`: by the attributes beside its body
   * (the address it is listed under, `heldNumber`/`heldEmail`, and its email index key), strongly consistent. Not
   * frozen into another record.
   */
  async #oversizedHas(id: string, hash: string): Promise<boolean> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: profileKey(id),
        ConsistentRead: true,
        ProjectionExpression: 'mergedInto, heldNumber, heldEmail, #e',
        ExpressionAttributeNames: { '#e': L.emailIndex.partitionKey },
      }),
    );
    if (Item === undefined || Item.mergedInto !== undefined) return false;
    return Item.heldNumber === hash || Item.heldEmail === hash || Item[L.emailIndex.partitionKey] === `EM#${hash}`;
  }

  /** The holds of the address `hash` (consent, topics, suppression: `addressHoldKey`), without its listings, strongly consistent. */
  async #addressHolds(hash: string): Promise<Array<Record<string, unknown>>> {
    return (await this.#queryPartition(`${ADDRESS_HOLD_PREFIX}${hash}`)).filter((item) => !String(item[L.sortKey]).startsWith(ADDRESS_HOLDER_PREFIX));
  }

  /** The records listed as holders of the phone number or email address `hash` (`addressHolderKey`), strongly consistent. */
  #addressHoldersOf(hash: string): Promise<Array<Record<string, unknown>>> {
    return queryAll(this.doc, {
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :h)',
      ExpressionAttributeNames: { '#pk': L.partitionKey, '#sk': L.sortKey },
      ExpressionAttributeValues: { ':pk': `${ADDRESS_HOLD_PREFIX}${hash}`, ':h': ADDRESS_HOLDER_PREFIX },
      ConsistentRead: true,
    });
  }

  /**
   * Put the address pointer (`addressPointerKey`) under `holder`, whose erasure then finds the address's holds. Write,
   * then check: a pointer under a record erased meanwhile goes (that erasure judges the address by its profile).
   * True if it stands.
   */
  async #pointToAddress(holder: string, hash: string, now: Date): Promise<boolean> {
    const pointer = addressPointerKey(holder, hash);
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { ...pointer, itemType: 'address-pointer' } }));
    if (!(await this.erasedNow(holder, now))) return true;
    await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: pointer }));
    return false;
  }

  /**
   * An address item just written (by an erased record's late event): whether a live record other than `excluding`
   * has the address, pointed to it (`#pointToAddress`, write then check). A holder being erased meanwhile does not
   * count (its erasure may have judged the address before the item was written): the next one is tried. After this
   * answers true the item has a live holder whose erasure will judge it; false: nobody's, for the caller to take back.
   */
  async #keepForLiveHolder(hash: string, now: Date, excluding: ReadonlySet<string>, listed?: ReadonlyArray<Record<string, unknown>>): Promise<boolean> {
    const tried = new Set(excluding);
    // `listed`: the address's listings as the caller just read them, for the first try; a retry reads them again.
    for (let first = true; ; first = false) {
      const holder = await this.#liveHolderOf(hash, now, tried, first ? listed : undefined);
      if (holder === undefined) return false;
      if (await this.#pointToAddress(holder, hash, now)) return true;
      tried.add(holder);
    }
  }

  /** The customer `id`'s record is frozen into (`mergedInto`), if any. */
  async #frozenInto(id: string): Promise<string | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: profileKey(id), ConsistentRead: true, ProjectionExpression: 'mergedInto' }));
    return Item?.mergedInto as string | undefined;
  }

  /** The ids erasure reaches for this customer (`idsOfProfile`), an oversized profile item included. */
  async idsToErase(id: string): Promise<string[]> {
    return (await this.#idsOf(id)).ids;
  }

  /**
   * Erase a customer: every item under their id, the known ids joined into theirs (`mergedIds`, whose
   * forwarding records go too) and their visitor ids, and their aliases,
   * race-free against concurrent writers without transactions (Dekker's write, then check):
   * 1. tombstones first (keyed by a hash of each id, no id in them), `erasedAt` = now; until it completes the erasure
   *    records every id it reached, one item each under its root's tombstone partition (`E#<hash>`, written before
   *    the id's tombstone), and each tombstone points to that root (`erasingRoot`, a hash): a retry of an interrupted
   *    erasure under any of them finishes them all. It reads the progress under every id it reaches too (an erasure
   *    interrupted before it tombstoned the id it is retried under: a fresh erasure rooted elsewhere), takes those ids
   *    over and deletes those items with its own. The root's own progress item is in GSI1 until it is deleted (the
   *    sweep finishes an erasure nobody retried, `interruptedErasures`). A tombstone's size does not grow with the number of ids;
   * 2. `between` (stop the journeys of each of these ids), then query (strongly consistent) and delete
   *    everything, and the link marks naming these ids or made by them (`markLinks`, another customer's too);
   *    every writer writes, then reads the tombstone: either it sees it and undoes its
   *    write, or its write came before this query and is deleted here;
   * 3. the tombstones are marked completed (the root's last, after its progress items are deleted): only events
   *    dated after `erasedAt` and received after completion start a new profile.
   * Returns how many items were deleted and the ids tombstoned.
   */
  async erase(
    id: string,
    clock: { now(): Date },
    options: { tombstoneDays?: number; between?: (ids: string[]) => Promise<void>; beforeComplete?: (ids: string[]) => Promise<void>; resumeFrom?: string; erasedSince?: string } = {},
  ): Promise<{ deleted: number; ids: string[] }> {
    const ids: string[] = [];
    const tombstoned = new Set<string>();
    // A retried erasure that was interrupted keeps its start: what it drops and what starts a new life are timed from it.
    const erasedAt = options.resumeFrom === undefined ? clock.now() : new Date(options.resumeFrom);
    const lifetimeDays = options.tombstoneDays ?? this.options.tombstoneDays ?? DEFAULT_TOMBSTONE_DAYS;
    const ttl = Math.floor(erasedAt.getTime() / 1000) + lifetimeDays * 86_400;
    // Tombstone every id reached, then read again: an alias that joined another id in before a tombstone
    // is seen whole now (its writer checks the tombstones after its last write), and that id is
    // tombstoned too, until a read after the last tombstone finds no id without one.
    // What an interrupted erasure of `id` had reached: its deletes may have taken the records that lead there.
    // Its progress lives under its root's tombstone partition (`erasingRoot`): the id asked for, or, resumed, the root
    // the interrupted erasure recorded on this id's tombstone. A fresh erasure also takes what an interrupted one from
    // the same id had recorded (its retry as a fresh erasure, the profile still there).
    const erasing: { rootHash: string; ids: string[]; erasedSince?: string } = options.resumeFrom === undefined ? { rootHash: hashId(id), ids: await this.#erasingIds(hashId(id)) } : await this.#erasing(id);
    // Erasing again an id erased before with no new life since (a DSAR tool's retry): its tombstone keeps when the
    // first of these erasures completed (`erasedSince`, the caller's), so a denial received since stays the person's.
    // Kept on the progress items too: a resumed erasure (a retried DELETE, the sweep) takes it from there.
    const erasedSince = options.erasedSince ?? erasing.erasedSince;
    const { rootHash } = erasing;
    const pending = erasing.ids;
    const recorded = new Set(pending);
    const withPending = (r: { ids: string[]; anonymousIds: string[] }) => ({
      ids: [...new Set([...r.ids, ...pending])],
      anonymousIds: [...new Set([...r.anonymousIds, ...pending.filter((x) => x.startsWith('anon:')).map((x) => x.slice(5))])],
    });
    // Another erasure's progress, interrupted before it tombstoned the id it is under (a retry under another id of the
    // customer is then a fresh erasure, rooted elsewhere): taken over, its ids erased with these and its items deleted.
    const adopted = new Set<string>();
    const progressRead = new Set<string>([rootHash]);
    const adopt = async (reachedIds: readonly string[]): Promise<boolean> => {
      let more = false;
      for (const x of reachedIds) {
        const h = hashId(x);
        if (progressRead.has(h)) continue;
        progressRead.add(h);
        const theirs = await this.#erasingIds(h);
        if (theirs.length > 0) adopted.add(h);
        for (const y of theirs) {
          if (pending.includes(y)) continue;
          pending.push(y);
          more = true;
        }
      }
      return more;
    };
    const timelines = new Map<string, string[]>();
    let reached = withPending(await this.#ownVisitors(await this.#idsOf(id)));
    for (let round = 0; ; round++) {
      while (await adopt(reached.ids)) reached = withPending(reached);
      const fresh = reached.ids.filter((x) => !tombstoned.has(x));
      if (fresh.length === 0 || round > ALIAS_CHAIN_MAX) break;
      // Recorded before their tombstones (one item each, under the root): a retry under any id tombstoned finds them all.
      const unrecorded = fresh.filter((x) => !recorded.has(x));
      await this.#batchWrite(
        unrecorded.map((x) => ({
          PutRequest: {
            Item: {
              ...erasingKey(rootHash, x),
              itemType: 'erasing',
              id: x,
              erasedAt: erasedAt.toISOString(),
              ...(erasedSince !== undefined && { erasedSince }),
              [L.ttlAttribute]: ttl,
              // The root's own item: found by the sweep while the erasure is not complete (`interruptedErasures`).
              ...(hashId(x) === rootHash && erasingIndexKeys(x, erasedAt.toISOString())),
            },
          },
        })),
        `erasure of ${id}`,
      );
      unrecorded.forEach((x) => recorded.add(x));
      for (const x of fresh) {
        // A resumed erasure keeps its own tombstone as it is: a late event dropped meanwhile may have lengthened it (`extendTombstone`).
        try {
          await this.doc.send(
            new PutCommand({
              TableName: this.tableName,
              Item: { ...tombstoneKey(x), itemType: 'tombstone', erasedAt: erasedAt.toISOString(), lifetimeDays, [L.ttlAttribute]: ttl, erasingRoot: rootHash, ...(x === id && erasedSince !== undefined && { erasedSince }) },
              ConditionExpression: 'attribute_not_exists(#pk) OR #erasedAt <> :erasedAt',
              ExpressionAttributeNames: { '#pk': L.partitionKey, '#erasedAt': 'erasedAt' },
              ExpressionAttributeValues: { ':erasedAt': erasedAt.toISOString() },
            }),
          );
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
      }
      ids.push(...fresh);
      fresh.forEach((x) => tombstoned.add(x));
      // A tombstone kept as it was (resumed) points to this erasure's root too: a retry under it finds every id reached.
      if (options.resumeFrom !== undefined) {
        for (const x of fresh) {
          await this.doc.send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: tombstoneKey(x),
              UpdateExpression: 'SET erasingRoot = :root',
              ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(completedAt)',
              ExpressionAttributeNames: { '#pk': L.partitionKey },
              ExpressionAttributeValues: { ':root': rootHash },
            }),
          ).catch((error: unknown) => {
            if (!(error instanceof ConditionalCheckFailedException)) throw error;
          });
        }
      }
      await options.between?.(fresh);
      reached = withPending(await this.#ownVisitors(await this.#reach(id, timelines)));
    }
    // Out of every segment (counted) before the member items go with the rest.
    for (const x of ids) await this.segments.leaveAll(x);
    const items = await this.#itemsOf(reached);
    // Link marks naming these ids or made by them (kept under tombstone partitions, `markLinks`): a mark another
    // customer's failed write left naming one of them goes too.
    const marks: Array<Record<string, unknown>> = [];
    for (const x of reached.ids) marks.push(...(await this.#linkMarkKeys(x)));
    // And the holds kept for these ids while erased (`parkedHoldKey`): a new life that joined or linked them ends here too.
    for (const x of reached.ids) {
      const held = await queryAll(this.doc, {
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': L.partitionKey, '#sk': L.sortKey },
        ExpressionAttributeValues: { ':pk': `${PARKED_HOLD_PREFIX}${hashId(x)}` },
        ProjectionExpression: '#pk, #sk',
        ConsistentRead: true,
      });
      marks.push(...held);
    }
    // And their addresses' holds (`addressHoldKey`), unless another customer still has the address.
    const addresses = await this.#addressHoldsToErase(items, reached.ids, clock.now());
    marks.push(...addresses.keys);
    // Member items go last, each only once out of its segment (`deleteMembers`): one a racing writer put in since is taken out first.
    // So do the pointers to the addresses to be freed, once freed: an erasure interrupted before then finds them on its retry.
    const freedPointer = (i: Record<string, unknown>) => String(i[L.sortKey]).startsWith('AP#') && addresses.freed.includes(String(i[L.sortKey]).slice(3));
    const keys = items.filter((i) => !String(i[L.sortKey]).startsWith(MEMBER_PREFIX) && !freedPointer(i)).map((i) => ({ [L.partitionKey]: i[L.partitionKey], [L.sortKey]: i[L.sortKey] }));
    // A broadcast keeps the recipients it deferred under itself (`B#<broadcast>` / `D#<customerId>`); the pointer in
    // the customer's partition (`BD#<broadcast>`, functions/broadcasts/store.ts) leads there.
    for (const i of items) {
      const sk = String(i[L.sortKey]);
      if (sk.startsWith('BD#')) keys.push({ [L.partitionKey]: `B#${sk.slice(3)}`, [L.sortKey]: `D#${String(i[L.partitionKey]).slice(2)}` });
    }
    const markKeys = new Set<string>();
    for (const k of marks) {
      const text = `${String(k[L.partitionKey])} ${String(k[L.sortKey])}`;
      if (!markKeys.has(text)) keys.push({ [L.partitionKey]: k[L.partitionKey], [L.sortKey]: k[L.sortKey] });
      markKeys.add(text);
    }
    // A broadcast's page cursor naming the customer (`BK#<broadcast>#<page>` leads there) is rewound past them.
    for (const i of items) {
      const cursor = parseCursorPointer(String(i[L.sortKey]));
      if (cursor) await this.broadcastCursors.rewind(cursor.broadcastId, cursor.page, String(i[L.partitionKey]).slice(2), (x) => this.erasedNow(x, clock.now()));
    }
    for (let i = 0; i < keys.length; i += 25) {
      let requests: Array<{ DeleteRequest: { Key: Record<string, unknown> } }> | undefined = keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
      for (let attempt = 0; requests && requests.length > 0; attempt++) {
        if (attempt > 8) throw new Error(`erasure of ${id}: DynamoDB kept items unprocessed`);
        const { UnprocessedItems } = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }));
        requests = UnprocessedItems?.[this.tableName] as typeof requests;
      }
    }
    for (const hash of addresses.freed) await this.#freeAddress(hash, clock.now(), new Set(reached.ids));
    for (const i of items.filter(freedPointer)) await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: { [L.partitionKey]: i[L.partitionKey], [L.sortKey]: i[L.sortKey] } }));
    for (const x of reached.ids) await this.segments.deleteMembers(x);
    // What must happen before the erasure says it is complete (the embedded engine redacts its logs): an
    // interruption before completedAt is written leaves the tombstone incomplete, and a retried DELETE resumes it.
    await options.beforeComplete?.(ids);
    const completedAt = clock.now().toISOString();
    // The root's tombstone last, after the progress items: until it is complete a retry under it finds them (and an
    // interruption before it leaves no item naming an id behind a completed erasure).
    const isRoot = (x: string) => hashId(x) === rootHash;
    const complete = async (x: string) => {
      // Only completedAt: a late event dropped meanwhile may have lengthened the tombstone (`extendTombstone`).
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: tombstoneKey(x),
          UpdateExpression: 'SET #completedAt = :completedAt, itemType = :type, erasedAt = :erasedAt, lifetimeDays = :days, #ttl = if_not_exists(#ttl, :ttl) REMOVE erasing, erasingRoot',
          ExpressionAttributeNames: { '#completedAt': 'completedAt', '#ttl': L.ttlAttribute },
          ExpressionAttributeValues: { ':completedAt': completedAt, ':type': 'tombstone', ':erasedAt': erasedAt.toISOString(), ':days': lifetimeDays, ':ttl': ttl },
        }),
      );
    };
    for (const x of ids) if (!isRoot(x)) await complete(x);
    // The progress taken over from other roots (`adopt`), then this erasure's own but the root's own item: that one is
    // the GSI1 entry (`ERASING#<shard>`) the sweep finds an unfinished erasure by, so it goes only after the root's
    // tombstone is complete. A failure in between leaves an erasure the sweep resumes, or a complete one whose entry
    // it deletes (`forgetCompletedErasure`); never an incomplete one nothing looks for.
    const rootOwn: string[] = [];
    for (const h of [...adopted, rootHash]) {
      const progress = await this.#erasingIds(h);
      if (h === rootHash) rootOwn.push(...progress.filter(isRoot));
      await this.#deleteProgress(h, h === rootHash ? progress.filter((x) => !isRoot(x)) : progress, id);
    }
    for (const x of ids) if (isRoot(x)) await complete(x);
    await this.#deleteProgress(rootHash, rootOwn, id);
    return { deleted: items.length, ids };
  }

  /**
   * The progress an erasure of `id` left after its tombstone was completed (the root's own item, when its delete failed
   * after the completion): deleted, as the erasure would have. It names the id in clear.
   */
  async forgetCompletedErasure(id: string): Promise<void> {
    const rootHash = hashId(id);
    await this.#deleteProgress(rootHash, await this.#erasingIds(rootHash), id);
  }

  /** Delete the progress items of the erasure rooted at `rootHash` for these ids (`id`: the erasure, for errors). */
  async #deleteProgress(rootHash: string, ids: readonly string[], id: string): Promise<void> {
    await this.#batchWrite(
      ids.map((x) => ({ DeleteRequest: { Key: erasingKey(rootHash, x) } })),
      `erasure of ${id}`,
    );
  }

  /** Customers whose segments may have changed with time alone by `now` (GSI1, all shards). */
  async dueForReevaluation(now: Date, limitPerShard = 1000): Promise<string[]> {
    return this.#queryIndexBefore(L.dueIndex, 'DUE', now.toISOString(), limitPerShard);
  }

  /** Customers whose last order is before `cutoff` (GSI2, all shards), without scanning the table. */
  async lastOrderBefore(cutoff: Date, limitPerShard = 1000): Promise<string[]> {
    return this.#queryIndexBefore(L.lastOrderIndex, 'ORD', cutoff.toISOString(), limitPerShard);
  }

  async #queryIndexBefore(index: ShardedIndex, prefix: string, upperIso: string, limit: number): Promise<string[]> {
    const items = await queryShardsBefore(this.doc, this.tableName, index, prefix, upperIso, limit);
    return items.map((item) => {
      const sk = item[index.sortKey] as string;
      return sk.slice(sk.indexOf('#') + 1);
    });
  }

  #queryPartition(pk: string): Promise<Array<Record<string, unknown>>> {
    return queryAll(this.doc, {
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': L.partitionKey },
      ExpressionAttributeValues: { ':pk': pk },
      ConsistentRead: true,
    });
  }
}

/** The email index's key of an address: a hash (never the address) of it trimmed and lower-cased; undefined for no address. */
export function emailIndexKey(email: unknown): string | undefined {
  const address = addressOf(email);
  return address === undefined ? undefined : `EM#${addressHash(address)}`;
}

/** The sparse index keys of a live profile: due for re-evaluation (GSI1), last order (GSI2), email (GSI3). A merged visitor has none. */
function indexKeys(stored: StoredProfile, id: string, shard: number): Record<string, unknown> {
  const email = emailIndexKey(stored.profile.traits.email);
  return {
    ...(email !== undefined && { [L.emailIndex.partitionKey]: email, [L.emailIndex.sortKey]: id }),
    ...(stored.nextChangeAt && {
      nextChangeAt: stored.nextChangeAt,
      [L.dueIndex.partitionKey]: `DUE#${shard}`,
      [L.dueIndex.sortKey]: `${stored.nextChangeAt}#${id}`,
    }),
    ...(stored.profile.stats.lastOrderAt && {
      [L.lastOrderIndex.partitionKey]: `ORD#${shard}`,
      [L.lastOrderIndex.sortKey]: `${stored.profile.stats.lastOrderAt}#${id}`,
    }),
  };
}

/** A profile item with its packed attributes unpacked, for export. */
function readableProfileItem(item: Record<string, unknown>): Record<string, unknown> {
  const pk = item[L.partitionKey] as string;
  const { body: _body, applied: _applied, profile: _profile, outbox: _outbox, ...plain } = item;
  return { ...plain, ...readContents(item, pk.slice(2)) };
}

/** A tombstone item as a live `Tombstone`, or undefined when there is none or it expired (TTL deletion is late, dynalite never deletes). */
function liveTombstone(Item: Record<string, unknown> | undefined, now: Date): Tombstone | undefined {
  if (!Item || (Item[L.ttlAttribute] as number) <= now.getTime() / 1000) return undefined;
  const expires = Item[L.ttlAttribute] as number;
  // Tombstones written before `lifetimeDays` was stored were never extended: their lifetime is their TTL's distance from the erasure.
  const lifetimeDays = (Item.lifetimeDays as number | undefined) ?? (expires - Math.floor(Date.parse(Item.erasedAt as string) / 1000)) / 86_400;
  return {
    erasedAt: Item.erasedAt as string,
    ...(Item.completedAt !== undefined && { completedAt: Item.completedAt as string }),
    ...(Item.erasedSince !== undefined && { erasedSince: Item.erasedSince as string }),
    expires,
    lifetimeDays,
  };
}
