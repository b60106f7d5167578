import { createHash } from 'node:crypto';
import {
  addressNamedBy,
  CHANNEL_ADDRESS_TRAIT,
  type Channel,
  consentChanges,
  DERIVED_EVENTS,
  denialsOnly,
  eventKey,
  PROFILE_EVENT_SOURCE,
  publishEntries,
  RapportError,
  type BusEntry,
  type Clock,
  type LifecycleStage,
  type NormalisedEvent,
  profileTags,
  type Profile,
  type PutEvents,
  type Rfm,
  SENDER_LIMITS,
  SES_FEEDBACK_SOURCE_ID,
  suppressionsOf,
  topicConsentChanges,
} from '../../shared';
import { TAG_RULES_MAX } from '../../shared/segmentation/constants';
import { inSegments, isSegmentEntry, SEGMENT_CHANGE, SEGMENT_LEAVE_ALL, segmentChanges, segmentsOf } from '../../shared/segmentation/membership';
import type { RecentEventsSpec } from '../../shared/segmentation/retention';
import { applyEvent, emptyProfile, joinProfiles, mergeProfiles, upgradeTags } from './apply';
import { PROFILE_LIMITS } from './limits';
import { CO_PURCHASE_ENTRY, CO_PURCHASE_LIMITS, newPairs, type Pair } from './co-purchases';
import { ADDRESS_HOLD_CHANNELS, APPLIED_MAX, appliedMark, appliesToLiveProfileOnly, belongsAfter, eventMark, parkedKey, parkedMessageId, receivedAfterErasure, startsNewLife, timelineIdsOf, timelineSortKey, VersionConflictError, type OutboxEntry, type ProfileStore, type StoredProfile } from './store';

/** What segmentation computes from a profile at an instant (lifecycle, RFM, tags) and when it may next change. */
export interface Segmentation {
  lifecycleStage: LifecycleStage;
  rfm: Rfm;
  computedTags: string[];
  /** Named segments (segments.yaml) whose condition holds; absent: none configured. */
  namedSegments?: string[];
  nextChangeAt?: string;
}
export type Segmenter = (profile: Profile, now: Date) => Segmentation;

export interface ProfileConsumerDeps {
  store: ProfileStore;
  segment: Segmenter;
  putEvents: PutEvents;
  clock: Clock;
  eventBusName?: string;
  timelineRetentionDays: number;
  /**
   * The recent events the profile keeps: only those the tag rules and journeys
   * read (`recentEventsSpec`). Absent: every recent event, with its properties.
   */
  recentEvents?: RecentEventsSpec;
  /**
   * The manual tags tags.yaml declares: a profile written before journeys' tags were kept
   * apart keeps these as the sender's and gives every other tag to the journeys (`upgradeTags`).
   * @default none (every old tag becomes a journey's: none is lost to a sender's list)
   */
  declaredManualTags?: readonly string[];
  /**
   * Called with the ids of an erased customer whose event was dropped or whose write was undone
   * (write, then check): the embedded engine redacts its bus log and outbox here.
   */
  onErasedWrite?: (ids: string[]) => Promise<void>;
  /**
   * Called with each id of an erasure the consumer makes itself (the visitor of a dropped event of an erased customer),
   * after its tombstone and before its deletes, as the customer API's erasure does: their running journeys are stopped here.
   */
  onErase?: (id: string) => Promise<void>;
  /** Receives customer ids and counts only, never traits. */
  log?: (message: string, fields: Record<string, unknown>) => void;
}

export type ConsumeResult =
  | { status: 'applied'; customerId: string; derived: string[]; ids?: string[] }
  | { status: 'duplicate'; customerId: string; ids?: string[] }
  | { status: 'dropped'; customerId: string; reason: string };

/** Derived events the bus refused after the publisher's retries: the profile write stands, the cause is retried and republishes them. */
export class DerivedEventsUnpublishedError extends RapportError {
  readonly retryable = true;
}

/**
 * The most derived events one incoming event can publish: the sender's old tags
 * removed and new ones added (at most SENDER_LIMITS.tagsPerEvent each), one per
 * tag rule (at most TAG_RULES_MAX), Lifecycle Stage Changed and Customer Became Inactive.
 */
export const DERIVED_EVENTS_MAX = 2 * SENDER_LIMITS.tagsPerEvent + TAG_RULES_MAX + 2;

/**
 * How long (real time) a write keeps retrying after losing optimistic-lock races, unless the caller
 * gives a deadline (the Lambda handler gives its remaining time less a margin). Retries are not
 * counted: a hot customer's writers take turns for as long as this allows, each backing off with jitter.
 */
export const CONTENTION_BUDGET_MS = 20_000;
/** Most events one profile write applies (well under APPLIED_MAX, so each is among the marks it writes). */
export const GROUP_MAX = 100;
/** Jittered pause after losing an optimistic-lock race (real time, whatever the clock): full jitter, capped. */
const backoff = (attempt: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 5 * 2 ** Math.min(attempt, 10))));
/** `backoff`, or past `deadline` (epoch ms, real time) a retryable VersionConflictError: the delivery is retried. */
async function raceBackoff(attempt: number, deadline: number, what: string, cause?: unknown): Promise<void> {
  if (Date.now() >= deadline) throw new VersionConflictError(`${what}: still losing to concurrent writes after ${attempt} attempts; the event will be retried`, cause === undefined ? undefined : { cause });
  await backoff(attempt);
}
const OUTBOX_MAX = 50;
/** The earlier of two ISO instants (either may be absent). */
const minIso = (a: string | undefined, b: string | undefined) => (a === undefined ? b : b === undefined ? a : a < b ? a : b);
/** Stages a customer has lapsed into; entering one from elsewhere publishes `Customer Became Inactive`. */
const INACTIVE_STAGES: ReadonlySet<LifecycleStage> = new Set(['dormant', 'churned']);

/** The outbox without the co-purchase entries but the `entriesKept` latest (the profile item's bound; see co-purchases.ts). */
function keepCoPurchaseEntries(outbox: readonly OutboxEntry[]): OutboxEntry[] {
  let drop = outbox.filter((o) => o.name === CO_PURCHASE_ENTRY).length - CO_PURCHASE_LIMITS.entriesKept;
  return outbox.filter((o) => o.name !== CO_PURCHASE_ENTRY || drop-- <= 0);
}

/** The names of the derived events among outbox entries (segment entries are not events). */
const namesOf = (outbox: readonly OutboxEntry[]) => outbox.filter(isEvent).map((o) => o.name);
/** Whether an outbox entry is a derived event to publish (not a segment entry, not the pairs of the co-purchase counts). */
const isEvent = (o: OutboxEntry) => !isSegmentEntry(o) && o.name !== CO_PURCHASE_ENTRY;

/** The customer an event names (identify, track with a userId, alias), if any. */
const namedOf = (event: NormalisedEvent) => (event.type === 'alias' || event.userId !== undefined ? event.userId! : undefined);
/** The event without the id it named to join (an erased one): the timeline keeps it so. */
function withoutJoin(event: NormalisedEvent): NormalisedEvent {
  const { anonymousId: _anonymousId, previousId: _previousId, ...rest } = event;
  return event.type === 'alias' ? { ...rest, ...(event.anonymousId !== undefined && { anonymousId: event.anonymousId }) } : rest;
}

/** The visitor id an event links to the customer it names (identify with an anonymousId, alias). */
const linkOf = (event: NormalisedEvent) => (event.type === 'alias' ? event.previousId : event.userId !== undefined ? event.anonymousId : undefined);
/** The ids whose records an event's link writes: the visitor's, and for an alias the known customer `previousId` too. */
const idsLinkedBy = (event: NormalisedEvent, link: string) => (event.type === 'alias' ? [link, `anon:${link}`] : [`anon:${link}`]);
/** Events with one routing key go to one profile: the customer named, or the visitor (wherever it is linked). */
const routingKey = (event: NormalisedEvent) => namedOf(event) ?? `anon:${event.anonymousId}`;

/** An event waiting for its customer's writer in this process. */
interface Pending {
  event: NormalisedEvent;
  deadline: number;
  resolve: (result: ConsumeResult) => void;
  reject: (error: unknown) => void;
}

/**
 * The profile consumer: folds each customer event into that customer's profile
 * (idempotent per source and messageId, order-independent, optimistic locking), keeps the
 * timeline, recomputes lifecycle/RFM/tags, and publishes derived events
 * (Tag Added/Removed, Lifecycle Stage Changed, Customer Became Inactive) from
 * source `rapport.profile` — which the consumer's own rule never matches, so
 * derived events cannot loop back into it.
 */
export function createProfileConsumer(deps: ProfileConsumerDeps) {
  const { store, clock } = deps;
  const log = deps.log ?? (() => undefined);
  const declaredManual = new Set(deps.declaredManualTags ?? []);
  /** Every profile this consumer folds into is read here, so an old item is split into sender's and journeys' tags first. */
  const read = async (id: string) => {
    const stored = await store.get(id);
    return stored && { ...stored, profile: upgradeTags(stored.profile, declaredManual) };
  };

  /**
   * Events waiting for their customer's writer in this process, by routing key (`routingKey`). The
   * first event of a key starts a writer; events arriving while it writes queue behind it and go
   * into its next write together. So one process never races itself for a profile, and a burst for
   * one customer costs one read-modify-write per `GROUP_MAX` events instead of one per event.
   */
  const queues = new Map<string, Pending[]>();

  /**
   * Fold one event into its customer's profile. Events of one customer in flight at once in this
   * process are applied together (`applyGroup`); each still gets its own result. `deadline` (epoch
   * ms, real time) bounds the retries after losing write races to other processes.
   */
  function handleEvent(event: NormalisedEvent, options: { deadline?: number } = {}): Promise<ConsumeResult> {
    const key = routingKey(event);
    return new Promise<ConsumeResult>((resolve, reject) => {
      const pending: Pending = { event, deadline: options.deadline ?? Date.now() + CONTENTION_BUDGET_MS, resolve, reject };
      const queue = queues.get(key);
      if (queue) {
        queue.push(pending);
        return;
      }
      queues.set(key, [pending]);
      // The writer starts on the next turn of the event loop: the customer's other events that start in this one (a
      // batch's deliveries, invocations handed the slots of others that finished together) join its first write.
      setImmediate(() => void drain(key));
    });
  }

  /** The writer of one routing key: applies what is queued, `GROUP_MAX` at a time, until nothing is. */
  async function drain(key: string): Promise<void> {
    const queue = queues.get(key)!;
    while (queue.length > 0) {
      // Denials last (consent folds the same in any order): a back-dated denial received with the events that start
      // a customer's new life after an erasure then finds that life begun, and applies to it (`newLifeDenial`).
      const taken = queue.splice(0, GROUP_MAX).map((p) => ({ p, denial: denialsOnly(p.event) !== undefined }));
      const chunk = [...taken.filter((t) => !t.denial), ...taken.filter((t) => t.denial)].map((t) => t.p);
      try {
        const results = await applyGroup(
          chunk.map((p) => p.event),
          Math.min(...chunk.map((p) => p.deadline)),
        );
        // What did not fit into this write (its derived events would overflow the outbox) goes first into the next.
        queue.unshift(...chunk.slice(results.length));
        results.forEach((result, i) => chunk[i]!.resolve(result));
      } catch (error) {
        for (const p of chunk) p.reject(error);
      }
    }
    queues.delete(key);
  }

  /**
   * Apply events of one routing key in one conditional write: read the profile once, fold each
   * event in as `handleEvent` alone would (the same dedupe, erasure, merge and derived events, in
   * arrival order), write once; on a lost race, start again from a fresh read, with jittered
   * backoff, until `deadline`. Returns the results of a prefix of `events` (all of them unless the
   * derived events of the rest would overflow the outbox; those are the caller's to apply next).
   */
  async function applyGroup(events: readonly NormalisedEvent[], deadline: number): Promise<ConsumeResult[]> {
    const now = clock.now();
    const first = events[0]!;
    const named = namedOf(first);
    // Denials of an erased customer with no live profile yet that this call parked for their new life (see below).
    const parkedHere = new Set<string>();
    // The new life's first write looks for denials parked meanwhile once (write, then check: see below).
    let parksChecked = false;
    // Link markers this call wrote (`markLinks`): deleted once the profile names the ids, or the links are undone.
    const marked = new Set<string>();
    attempts: for (let attempt = 1; ; attempt++) {
      // A visitor-only event goes to whoever the visitor is linked to now: looked up on every attempt, and
      // a profile found frozen (a visitor identified, a customer joined by alias) forwards along the chain.
      const resolved = await resolve(named ?? (await store.getAlias(first.anonymousId!)) ?? `anon:${first.anonymousId}`);
      if (resolved.cycle) {
        // Two opposing aliases racing: one of them undoes its freeze (`claimKnown`); look again.
        await raceBackoff(attempt, deadline, `profile ${named ?? first.anonymousId}`);
        continue;
      }
      const customerId = resolved.id;
      const stored = resolved.stored;
      // An erased customer: only events dated and received after the erasure start a new, clean profile,
      // and only such events reach it (`belongsAfter`: a replay of one received while the erasure ran is
      // dated after it began, and still of the erased life). Read for a customer who came back too.
      const tombstone = stored && stored.rebornAfter === undefined ? undefined : await store.tombstone(customerId, now);
      // Denials received after the erasure completed while there was no new life (`parkDenial`): the life that begins,
      // or began, at this erasure folds them in (below). Read until they are folded (then deleted).
      // Only where a new life is, or begins in this group: a group that only parks (a flood of denials of an erased id)
      // reads none, so parking N denials reads no parked items at all rather than ~N²/2.
      const newLifeHere = tombstone !== undefined && (stored === undefined ? events.some((e) => startsNewLife(e, tombstone)) : stored.rebornAfter === tombstone.erasedAt);
      const parked = tombstone?.completedAt !== undefined && newLifeHere ? await store.parkedDenials(customerId, tombstone, now) : [];
      /**
       * An event of the erased life. No profile: one that starts no new life. A new life's profile: one dated
       * before it began or, while the tombstone lives, received before the erasure completed.
       */
      const ofErasedLife = (event: NormalisedEvent, profile: StoredProfile | undefined): boolean =>
        profile === undefined
          ? tombstone !== undefined && !startsNewLife(event, tombstone)
          : profile.rebornAfter !== undefined && (event.timestamp <= profile.rebornAfter || (tombstone?.erasedAt === profile.rebornAfter && !belongsAfter(event, tombstone)));
      // The id the event names, when it resolved to another customer (joined in by an alias, a visitor linked): that
      // id may be an erased customer's, joined in since as their new life. An event of its erased life is dropped.
      const namedId = named ?? `anon:${first.anonymousId}`;
      const namedTombstone = namedId !== customerId ? await store.tombstone(namedId, now) : undefined;
      const ofNamedErasedLife = (event: NormalisedEvent) => namedTombstone !== undefined && !belongsAfter(event, namedTombstone);
      /**
       * A denial dated in the erased life but received in the new one (after the erasure completed): its consent
       * denials and suppressions apply to the customer who came back, the rest of it is dropped (`denialsOnly`).
       */
      const receivedInNewLife = (event: NormalisedEvent, profile: StoredProfile) =>
        profile.rebornAfter !== undefined &&
        (tombstone !== undefined && tombstone.erasedAt === profile.rebornAfter ? receivedAfterErasure(event, tombstone) : event.receivedAt > profile.rebornAfter);
      const newLifeDenial = (event: NormalisedEvent, profile: StoredProfile | undefined): NormalisedEvent | undefined => {
        const named = ofNamedErasedLife(event);
        const own = ofErasedLife(event, profile);
        // Of no erased life: applied as it is. Nobody live to apply it to: dropped.
        if ((!named && !own) || profile === undefined) return undefined;
        if (named && !receivedAfterErasure(event, namedTombstone!)) return undefined;
        if (own && !receivedInNewLife(event, profile)) return undefined;
        return denialsOnly(event);
      };
      /**
       * Mark in the customer's partition the ids a link is about to write, before it writes them (`markLinks`): if the
       * profile write then fails for good (a dead letter), erasure of the customer still finds them. Write, then check:
       * false when the customer was erased meanwhile (the marks undone, and the link is not written: the eraser may
       * have read the marks already); otherwise the eraser, whose tombstone comes later, reads the marks.
       */
      const markLinks = async (ids: string[]): Promise<boolean> => {
        await store.markLinks(customerId, ids);
        ids.forEach((x) => marked.add(x));
        const erased = await store.tombstone(customerId, now);
        if (erased === undefined || erased.erasedAt === (current?.rebornAfter ?? tombstone?.erasedAt)) return true;
        await store.unmarkLinks(customerId, [...marked]);
        marked.clear();
        return false;
      };
      /**
       * Mark visitor ids evicted from the customer's list (`store.markEvicted`) before the write that drops them, write
       * then check as `markLinks`: false when the customer was erased meanwhile (the marks undone; the eraser may have
       * read them already). These marks stay after the write: the profile no longer names the ids.
       */
      const markEvicted = async (visitors: string[]): Promise<boolean> => {
        for (const a of visitors) await store.markEvicted(customerId, a);
        const erased = await store.tombstone(customerId, now);
        if (erased === undefined || erased.erasedAt === (current?.rebornAfter ?? tombstone?.erasedAt)) {
          // A send reads the holds of the visitors the profile lists: an evicted visitor's (a denial ingest answered
          // before the link) become the customer's own, this life's (`erased`: the erasure it came back after, if any).
          for (const a of visitors) await store.carryHolds(`anon:${a}`, customerId, now, erased?.erasedAt);
          return true;
        }
        await store.unmarkLinks(customerId, [...visitors.map((a) => `anon:${a}`), ...marked]);
        marked.clear();
        return false;
      };
      const results: ConsumeResult[] = [];
      const written: NormalisedEvent[] = [];
      const links: Array<{ event: NormalisedEvent; link: string }> = [];
      /** Links (and joins) this attempt wrote: checked against their ids' tombstones after the profile write. */
      const claimed: Array<{ event: NormalisedEvent; link: string }> = [];
      const derived: OutboxEntry[] = [];
      const republish: OutboxEntry[] = [];
      /** Denials parked under an erased id that a link of this attempt made its new life here (`parkedOfLinked`): unparked once written. */
      const linkedParks: Array<{ id: string; events: NormalisedEvent[] }> = [];
      let reconcile = false;
      let erasedDrops = false;
      /** Erased ids the group's events named to join (not joined): the engine redacts those events. */
      const erasedNamed: string[] = [];
      let current = stored;
      let merged = false;
      for (const incoming of events) {
        const event = newLifeDenial(incoming, current) ?? incoming;
        // Reduced to its denials: the rest of it (traits, properties) is the erased life's, and the engine redacts it.
        if (event !== incoming) erasedNamed.push(ofNamedErasedLife(incoming) ? namedId : customerId);
        // An earlier attempt may have applied it whole to the erased life (it read the profile before the tombstone) and
        // written address holds for that life before its check failed: those go, but what the new life takes of it.
        if (event !== incoming && !ofNamedErasedLife(incoming) && tombstone !== undefined && current?.rebornAfter === tombstone.erasedAt) {
          await store.undoErasedLifeWrites(customerId, incoming, tombstone, now, event);
        }
        const link = linkOf(event);
        const ofNamed = event === incoming && ofNamedErasedLife(event);
        if (event === incoming && (ofNamed || ofErasedLife(event, current))) {
          // A denial received after the erasure completed, and no live profile yet: the customer's new life may begin
          // with an event received before it but applied after it (another request, a late delivery), and a denial
          // received after a grant wins. Parked beside the tombstone (no id in it) for the event that starts the new
          // life to fold in; then, write then check, looked at again: a new life begun meanwhile gets it at once.
          const denial = !ofNamed && current === undefined && tombstone !== undefined && receivedAfterErasure(event, tombstone) ? denialsOnly(event) : undefined;
          if (denial !== undefined && !parkedHere.has(eventKey(event))) {
            await store.parkDenial(customerId, tombstone!, denial);
            parkedHere.add(eventKey(event));
            continue attempts;
          }
          // The id it links, unless their new life linked it since (then the link and the visitor are that life's).
          const erasedLink = link !== undefined && !(current !== undefined && (event.type === 'alias' ? (current.profile.mergedIds ?? []) : current.profile.anonymousIds).includes(link)) ? link : undefined;
          // Whether the visitor it links is to be erased with them: decided before the link is undone (see below).
          const visitorErased = !ofNamed && event.type !== 'alias' && erasedLink !== undefined ? await visitorToErase(erasedLink, customerId, now) : undefined;
          // An earlier attempt may have linked a visitor (or joined a known customer) to them before its profile write failed.
          if (erasedLink !== undefined) await undoLink(event, erasedLink, customerId);
          // An event of the erased life linking a visitor nobody else owns (an identify, or a track, page or screen
          // with both ids: analytics.js sends the anonymousId on every call): that visitor was the customer's (their
          // device, named to them only by this event, which never got applied): it is erased too, and redacted.
          // Also after they came back: the event is the erased life's, and so is the visitor it names.
          if (visitorErased) {
            // Its tombstone lives as long as theirs (the configured lifetime, not the default).
            await eraseVisitor(erasedLink!, customerId, visitorErased.resumeFrom, tombstone?.lifetimeDays);
            erasedNamed.push(`anon:${erasedLink!}`);
          }
          // The archive keeps this event from its receipt: the tombstone must outlive its replays.
          if (ofNamed) await store.extendTombstone(namedId, namedTombstone!, event.receivedAt);
          else if (tombstone) await store.extendTombstone(customerId, tombstone, event.receivedAt);
          // An earlier attempt may have written segment members after the eraser took them out (then crashed or failed to
          // publish). Not when the customer came back: the members are their new life's.
          if (!erasedDrops && current === undefined) {
            await store.segments.leaveAll(customerId);
            await store.segments.deleteMembers(customerId);
          }
          // Likewise its timeline item, its listing under an address it brings, an address hold and their pointers (the
          // erasure may have read the partition before they landed, and the attempt failed before its check undid them).
          // Also once the customer came back: the erased life's timeline item must not show on the new life.
          if (!ofNamed && tombstone !== undefined && (current === undefined || current.rebornAfter === tombstone.erasedAt)) await store.undoErasedLifeWrites(customerId, event, tombstone, now);
          if (ofNamed) erasedNamed.push(namedId);
          else erasedDrops = true;
          log('event for an erased customer dropped', { customerId, messageId: event.messageId });
          results.push({ status: 'dropped', customerId, reason: 'erased' });
          continue;
        }
        // No profile and no tombstone (never seen, or erased so long ago that its tombstone expired): a one-click click
        // or SES's report on an old message creates nothing.
        if (event === incoming && current === undefined && tombstone === undefined && appliesToLiveProfileOnly(event)) {
          log('event for no live profile dropped', { customerId, messageId: event.messageId });
          results.push({ status: 'dropped', customerId, reason: 'no-profile' });
          continue;
        }
        const appliedAs = await appliedBefore(customerId, current, event);
        if (appliedAs !== undefined) {
          // Redelivered: the profile already has it. Finish what a crashed attempt may have left undone.
          // The timeline keeps it without an id erased since (the first delivery may have come before the erasure).
          // Not when it was folded in as a parked denial (its timeline item is the parked one), nor when its item is under
          // another id of the customer (applied before an alias joined that id, or before a visitor link): once is enough.
          if (appliedAs !== parkedKey(event) && !(await onTimelineElsewhere(customerId, event))) {
            written.push(link !== undefined && link !== customerId && (await erasedFor(event, idsLinkedBy(event, link))) ? withoutJoin(event) : event);
          }
          if (link !== undefined) links.push({ event, link });
          republish.push(...(current?.outbox.filter((o) => o.cause === appliedAs) ?? []));
          // Its segment changes may have left the outbox since (crash, then later writes): the members are checked.
          reconcile = true;
          results.push({ status: 'duplicate', customerId });
          continue;
        }
        const before = current?.profile ?? emptyProfile(customerId, event.timestamp);
        let profile = applyEvent(before, event, now, deps.recentEvents);
        let applied = [...(current?.applied ?? []), eventMark(event)];
        // An erased id this event links or joins in as its new life (`parkedOfLinked`): the denials parked for it are folded in.
        const parksIn: Array<{ id: string; events: NormalisedEvent[] }> = [];
        const foldLinked = (id: string, parked: readonly NormalisedEvent[]) => {
          const fresh = parked.filter((p) => !applied.includes(eventMark(p)));
          for (const p of fresh) profile = applyEvent(profile, p, now, deps.recentEvents);
          applied = [...applied, ...fresh.map((p) => eventMark(p))];
          if (parked.length > 0) parksIn.push({ id, events: [...parked] });
        };
        // An erased id the event names as the one to join (a late identify or alias, a replay) is not linked
        // nor joined: that would re-create a record naming it. Only an event of its new life may.
        const linking = link !== undefined && link !== customerId && !before.anonymousIds.includes(link);
        const joinsErased = linking && (await erasedFor(event, idsLinkedBy(event, link)));
        if (joinsErased) {
          profile.anonymousIds = profile.anonymousIds.filter((a) => a !== link);
          erasedNamed.push(...idsLinkedBy(event, link));
          log('event names an erased id to join: not linked', { customerId, messageId: event.messageId });
        }
        /**
         * The list of visitor ids past `room`: the first listed leave it, never this event's own link (its mark is this
         * write's link mark, taken once the profile names it). Each stays linked (its alias and forwarding record route
         * its events here) and is marked in the customer's partition before the write that drops it, so erasure of the
         * customer still reaches it (`markEvicted`, which also carries its holds to the customer).
         */
        const evictPast = async (room: number, why: string): Promise<void> => {
          const evicted = profile.anonymousIds.filter((a) => a !== link).slice(0, Math.max(0, profile.anonymousIds.length - room));
          if (evicted.length > 0 && (await markEvicted(evicted))) {
            profile.anonymousIds = profile.anonymousIds.filter((a) => !evicted.includes(a));
            log(why, { customerId, evicted: evicted.length, limit: PROFILE_LIMITS.anonymousIds });
          }
        };
        if (link !== undefined && !joinsErased && link !== customerId && !before.anonymousIds.includes(link)) {
          // Erased since this attempt read them: nothing is linked (their write is undone after it, `undoneIfErased`).
          const claim = (await markLinks([`anon:${link}`])) ? await claimVisitor(link, customerId, now, deadline) : ({ owned: false } as const);
          // Linked again after it was evicted from the list (below): its history is the customer's already, not merged twice.
          if (claim.owned && claim.visitor && !(await store.wasEvicted(customerId, link))) {
            profile = mergeProfiles(profile, claim.visitor.profile, link, now, deps.recentEvents);
            applied = [...claim.visitor.applied, ...applied];
            merged = true;
          } else if (claim.owned && !profile.anonymousIds.includes(link)) {
            profile.anonymousIds.push(link);
          } else if (!claim.owned) {
            // Another customer owns this visitor id (a sender named someone else's): it is not theirs to list.
            profile.anonymousIds = profile.anonymousIds.filter((a) => a !== link);
          }
          if (claim.owned) foldLinked(`anon:${link}`, claim.parked);
          // The list keeps PROFILE_LIMITS.anonymousIds (or what an alias join united): the newest visitor is linked
          // (its denials and holds are the customer's), the oldest leaves the list.
          await evictPast(Math.max(PROFILE_LIMITS.anonymousIds, before.anonymousIds.length), 'oldest visitor id evicted from the profile for a new one: still linked, erased with the customer');
        }
        const joined: string[] = [];
        // An alias joins the known customer `previousId` (with everything joined into them) into this one.
        // Erased since this attempt read them: nothing is joined (their write is undone after it, `undoneIfErased`).
        if (!joinsErased && event.type === 'alias' && event.previousId !== undefined && event.previousId !== event.userId && (await markLinks([event.previousId]))) {
          const join = await claimKnown(event.previousId, customerId, before, now, attempt, deadline, event);
          if (join.status === 'retry') continue attempts;
          if (join.status === 'joined') {
            // The joined customer leaves every segment: this one now holds all of it.
            if (join.frozen) joined.push(join.id);
            profile = join.frozen ? joinProfiles(profile, join.frozen.profile, now, deps.recentEvents) : { ...profile, mergedIds: [...new Set([...(profile.mergedIds ?? []), join.id])] };
            // The united list of visitor ids keeps PROFILE_LIMITS.anonymousIds, as a link does: joins one after another
            // would otherwise grow it past the item's 400 KB.
            if (join.frozen) await evictPast(PROFILE_LIMITS.anonymousIds, 'visitor ids evicted from the profile by an alias join: still linked, erased with the customer');
            if (join.frozen) applied = [...join.frozen.applied, ...applied];
            foldLinked(join.id, join.parked);
            merged = true;
          }
        }
        const step = resegment(current, profile, before, eventKey(event), now, { at: event.timestamp, receivedAt: event.receivedAt }, joined);
        // The outbox keeps OUTBOX_MAX entries: a write never holds more new ones than that (a single event aside: all of
        // its own are kept).
        if (derived.length > 0 && derived.length + step.derived.length > OUTBOX_MAX) break;
        step.next.applied = applied;
        const rebornAfter = current?.rebornAfter ?? tombstone?.erasedAt;
        if (rebornAfter !== undefined) step.next.rebornAfter = rebornAfter;
        current = step.next;
        derived.push(...step.derived);
        // The timeline keeps the event without the erased id it named.
        written.push(joinsErased ? withoutJoin(event) : event);
        for (const parks of parksIn) {
          written.push(...parks.events);
          linkedParks.push(parks);
          log('parked denials of an erased id folded into the customer it is linked to', { customerId, denials: parks.events.length });
        }
        if (link !== undefined) links.push({ event, link });
        if (linking && !joinsErased) claimed.push({ event, link });
        results.push({ status: 'applied', customerId, derived: namesOf(step.derived) });
      }

      // The new life (begun in this write or before) folds in the denials parked while it had not begun; each once.
      const folded: NormalisedEvent[] = [];
      if (current !== undefined && tombstone !== undefined && current.rebornAfter === tombstone.erasedAt) {
        const ownParks = new Set(events.map((e) => parkedMessageId(e)));
        for (const p of parked) {
          folded.push(p);
          // Applied before, or parked by an event this group applied itself.
          if (ownParks.has(p.messageId) || current.applied.includes(eventMark(p))) continue;
          const event = newLifeDenial(p, current) ?? p;
          const step = resegment(current, applyEvent(current.profile, event, now, deps.recentEvents), current.profile, eventKey(event), now, { at: event.timestamp, receivedAt: event.receivedAt });
          step.next.applied = [...current.applied, eventMark(event)];
          step.next.rebornAfter = current.rebornAfter!;
          current = step.next;
          derived.push(...step.derived);
          written.push(event);
          log('parked denial folded into the new life', { customerId });
        }
      }
      const rebornAfter = current?.rebornAfter;
      if (current !== stored && current !== undefined) {
        if (!(await putOrConflict({ ...current, version: (stored?.version ?? 0) + 1 }, stored?.version, attempt, deadline))) continue;
        // Write, then check: a denial parked after this attempt read the parked ones, by a call that found no new life
        // yet, is folded in by this call (looking again: the profile is now the new life's, and the group a redelivery).
        if (stored === undefined && tombstone !== undefined && current.rebornAfter === tombstone.erasedAt && !parksChecked) {
          parksChecked = true;
          const seen = new Set(folded.map((p) => p.messageId));
          if ((await store.parkedDenials(customerId, tombstone, now)).some((p) => !seen.has(p.messageId))) continue;
        }
      }
      // Erasure's writer half for the ids a link names (write, then check): after the link records, the
      // freeze and the profile naming them are written, read their tombstones. One erased meanwhile (its
      // eraser may have read before these writes): put the profile back as read, undo the links, and
      // apply again, when `joinsErased` sees the tombstone and links nothing. No tombstone: every write
      // came before it, so the eraser (which reads after its tombstones, and follows a record frozen
      // into this customer to them) finds and erases them all.
      const erasedLinks = [];
      for (const c of claimed) if (await erasedFor(c.event, idsLinkedBy(c.event, c.link))) erasedLinks.push(c);
      if (erasedLinks.length > 0) {
        if (current !== stored && current !== undefined) await store.unfreeze({ ...current, version: (stored?.version ?? 0) + 1 }, stored, clock.now());
        for (const { event, link } of erasedLinks) await undoLink(event, link, customerId);
        log('link to an id erased meanwhile undone; applying again', { customerId, messageId: first.messageId });
        continue;
      }
      // Held by the new life now: the parked ones go. The profile names the linked ids now: their marks go.
      if (folded.length > 0) await store.unparkDenials(customerId, folded);
      for (const { id, events: parks } of linkedParks) await store.unparkDenials(id, parks);
      if (marked.size > 0) {
        await store.unmarkLinks(customerId, [...marked]);
        marked.clear();
      }
      await store.putTimelineEvents(customerId, written, deps.timelineRetentionDays);
      let membersChanged = await publish(customerId, [...republish, ...derived], rebornAfter);
      if (reconcile && current) membersChanged = (await reconcileSegments(customerId, current)) || membersChanged;
      if (erasedDrops) await deps.onErasedWrite?.([customerId]);
      if (erasedNamed.length > 0) await deps.onErasedWrite?.([...new Set(erasedNamed)]);
      if (written.length > 0 && (await undoneIfErased(customerId, rebornAfter, written, links, membersChanged))) {
        return results.map(() => ({ status: 'dropped', customerId, reason: 'erased' }));
      }
      if (written.length === 0 && membersChanged) await leaveIfJoined(customerId, rebornAfter);
      // A hold stands for the delivered events of this write (`HoldWriter.causes`), not the parked denials folded in:
      // those are never delivered again, so a retry's drop of the write's events must be able to take it back.
      const delivered = new Set(events.map(eventMark));
      if (written.length > 0) await denyAddresses(customerId, stored, current, written, written.map(eventMark).filter((m) => delivered.has(m)));
      const applied = results.filter((r) => r.status === 'applied').length;
      if (applied > 0) log('profile updated', { customerId, events: applied, messageId: first.messageId, derived: derived.length, attempt, merged });
      // The ids whose partitions hold the customer's records, as this write left them (the journey router's, which need not read the profile again).
      const ids = [customerId, ...(current?.mergedInto === undefined ? (current?.profile.mergedIds ?? []) : [])];
      return results.map((r) => (r.status === 'dropped' ? r : { ...r, ids }));
    }
  }

  /**
   * A channel's denial, a topic's denial or a suppression applied to a profile with the channel's address (email's
   * `email`, SMS's and WhatsApp's `phone`: `CHANNEL_ADDRESS_TRAIT`) is the address's too (`store.putAddressConsent`,
   * `store.putSuppressionHold`: write, then check against the tombstone), as ingest records them before it answers:
   * ingest knows the address only when the event names it, an identify of the customer earlier in its batch sets it,
   * or the profile had it when the event came; an `Unsubscribed` (of the channel or a topic), an SMS STOP or a tool's
   * bounce or complaint received before the consumer applied the identify that brings the address (another request,
   * an async delivery) gets it here. So does an identify that brings a new address to a profile whose channel is
   * denied, a topic left or suppressed (delivered after them), and a join or a visitor's link that brings a denial to
   * a record with an address. The profile's own records are written (their keys: the address keeps its latest change,
   * so a later grant of the address stays); a grant is never written here (ingest lifts an address's denial).
   */
  async function denyAddresses(customerId: string, stored: StoredProfile | undefined, current: StoredProfile | undefined, written: readonly NormalisedEvent[], causes: readonly string[]): Promise<void> {
    if (current === undefined || current.mergedInto !== undefined) return;
    for (const channel of ADDRESS_HOLD_CHANNELS) await denyAddress(channel, stored, current, written, customerId, causes);
  }

  async function denyAddress(channel: Channel, stored: StoredProfile | undefined, current: StoredProfile, written: readonly NormalisedEvent[], customerId: string, causes: readonly string[]): Promise<void> {
    const trait = CHANNEL_ADDRESS_TRAIT[channel];
    const address = current.profile.traits[trait];
    if (typeof address !== 'string' || address.trim() === '') return;
    const newAddress = stored?.profile.traits[trait] !== address;
    const consent = current.profile.consent[channel];
    // Denied by an event of this write, or by what a join or a visitor's link brought (the record was not denied before).
    const deniedNow =
      written.some((event) => consentChanges(event).some((change) => change.channel === channel && change.status === 'denied')) || stored?.profile.consent[channel]?.status !== 'denied';
    // Judged at the writer's time (the denial may be long past its receipt: an address the record moved to) and by the
    // life written (a denial a join brought, or dated before an erasure, is this life's now).
    const writer = { now: clock.now(), life: current.rebornAfter, causes };
    if (consent?.status === 'denied' && (newAddress || deniedNow)) await store.putAddressConsent(customerId, channel, consent, address, undefined, writer);
    for (const [topic, record] of Object.entries(current.profile.topicConsent?.[channel] ?? {})) {
      if (record.status !== 'denied') continue;
      const leftNow =
        written.some((event) => topicConsentChanges(event).some((change) => change.channel === channel && change.topic === topic && change.status === 'denied')) ||
        stored?.profile.topicConsent?.[channel]?.[topic]?.status !== 'denied';
      if (newAddress || leftNow) await store.putAddressConsent(customerId, channel, record, address, topic, writer);
    }
    // A suppression is the address's, not the person's: the profile's address suppressed when this write applied a
    // bounce or complaint naming no address and kept the address (one naming an address suppressed that one at ingest,
    // or was not allowed to; a write that also moves the record: ingest suppressed the address in force before), or when
    // the profile, suppressed, gets its first address (a tool's report applied before the identify): the record never
    // had one (`heldEmail`/`heldNumber`: listed under an address once) and no join brought it (a joined record's
    // suppression was its own address's). Never an address the profile moves to.
    const suppression = current.profile.suppression[channel];
    const held = trait === 'phone' ? stored?.heldNumber : stored?.heldEmail;
    const hadAddress = (typeof stored?.profile.traits[trait] === 'string' && (stored.profile.traits[trait] as string).trim() !== '') || held !== undefined;
    const firstAddress = !hadAddress && !written.some((event) => event.type === 'alias');
    // (SES's feedback is not: the feedback function suppressed the recipient SES names, which may be a former address.)
    const suppressedNow = written.some((event) => suppressionsOf(event).some((s) => s.channel === channel) && addressNamedBy(event, trait) === undefined && event.sourceId !== SES_FEEDBACK_SOURCE_ID);
    if (suppression !== undefined && ((suppressedNow && !newAddress) || firstAddress)) {
      // Its receipt (the event of this write that brought it, else its own time): a bounce of an erased life applied as
      // the erasure runs is that life's, not a denial received after it; judged now.
      const receivedAt = written.find((event) => suppressionsOf(event).some((s) => s.channel === channel))?.receivedAt ?? suppression.at;
      await store.putSuppressionHold(customerId, channel, suppression, receivedAt, address, writer);
    }
  }

  /**
   * Whether `current` (the profile as read, with this group's events folded in) already has the
   * event (returns the key it was applied under, the cause of its derived events): its mark is among the
   * recent applied marks (or, on profiles from before events were keyed by source, its messageId's), or, once older marks have been dropped
   * (`APPLIED_MAX`), its timeline item exists. An event dated after the profile's last-seen time
   * cannot have been applied (last seen is the latest applied timestamp), so only events at or
   * before it cost the timeline read; equal timestamps included.
   */
  async function appliedBefore(customerId: string, current: StoredProfile | undefined, event: NormalisedEvent): Promise<string | undefined> {
    if (!current) return undefined;
    const as = await store.appliedUnder(customerId, current, event);
    if (as !== undefined) return as;
    if (current.applied.length < APPLIED_MAX || Date.parse(event.timestamp) > Date.parse(current.profile.lastSeenAt)) return undefined;
    if (!(await wasApplied(customerId, event))) return undefined;
    // Older than the applied-message window (a late redelivery, a replay from the bus archive): the
    // timeline, where every applied event is written, knows it. Its derived events went out back then.
    log('event applied before (timeline) skipped', { customerId, messageId: event.messageId });
    return eventKey(event);
  }

  /**
   * The writer's half of erasure (write, then check): after its writes, read the tombstone
   * (strongly consistent). If the customer is erased (and this is not their new profile), the
   * eraser's query may have run before the writes: delete them, and report the event dropped.
   * Otherwise the writes came before the tombstone, so before the eraser's query, which deletes them.
   */
  async function undoneIfErased(
    customerId: string,
    rebornAfter: string | undefined,
    events: readonly NormalisedEvent[],
    links: ReadonlyArray<{ event: NormalisedEvent; link: string }> = [],
    /** Whether this write changed segment members: then whether the customer was joined into another meanwhile is read too (`publish`). */
    membersChanged = false,
  ): Promise<boolean> {
    const { tombstone, joined } = await store.checkAfterWrite(customerId, clock.now(), { joined: membersChanged });
    if (!tombstone || tombstone.erasedAt === rebornAfter) {
      // Write, then check: an alias may have joined this customer into another while the member changes were under way
      // (its leave-all then missed them): a customer joined into another is in no segment.
      if (joined) await store.segments.leaveAll(customerId);
      return false;
    }
    // Out of the segments this write may have put them in (counted), then its items go.
    await store.segments.leaveAll(customerId);
    await store.undoWrites([{ pk: `C#${customerId}`, sk: 'P' }, ...events.map((event) => ({ pk: `C#${customerId}`, sk: timelineSortKey(event) }))], clock.now());
    await store.segments.deleteMembers(customerId);
    for (const { event, link } of links) await undoLink(event, link, customerId);
    await deps.onErasedWrite?.([customerId]);
    log('write for an erased customer undone', { customerId, ...(events.length > 0 && { messageId: events[0]!.messageId, events: events.length }) });
    return true;
  }

  /** Undo what an event's link wrote for `customerId`: the visitor link and, for an alias, the join of the known customer. */
  async function undoLink(event: NormalisedEvent, link: string, customerId: string): Promise<void> {
    await store.undoLink(link, customerId);
    if (event.type === 'alias') await store.undoJoin(link, customerId);
    // And the marks of the link (`markLinks`), which an erasure would follow.
    await store.unmarkLinks(customerId, idsLinkedBy(event, link));
  }

  /** Whether the timeline has the event under an id it may have been applied to other than `customerId` (`timelineIdsOf`). */
  async function onTimelineElsewhere(customerId: string, event: NormalisedEvent): Promise<boolean> {
    const others = timelineIdsOf(customerId, event).filter((id) => id !== customerId);
    return others.length > 0 && (await store.hasTimelineEvent(others, event));
  }

  /** Whether the timeline has the event (under any id it may have been applied to, `timelineIdsOf`). */
  function wasApplied(customerId: string, event: NormalisedEvent): Promise<boolean> {
    return store.hasTimelineEvent(timelineIdsOf(customerId, event), event);
  }

  /**
   * Link visitor `anonymousId` to `customerId` without losing anything the
   * visitor's concurrent events write (no transactions):
   * 1. the alias first (first link wins), so visitor events looked up from now
   *    on go to the customer;
   * 2. then the visitor profile is frozen (`mergedInto`, a conditional write on
   *    its version; an empty one is created if there is none yet), so a visitor
   *    event that read it before the alias fails its own conditional write,
   *    looks again and lands on the customer — and none can create it anew;
   * 3. the caller merges the frozen visitor into the customer. A retry after a
   *    crash finds the alias and the frozen visitor and merges the same.
   * The frozen visitor stays as the forwarding record (no index keys; erased
   * with the customer).
   */
  async function claimVisitor(
    anonymousId: string,
    customerId: string,
    now: Date,
    deadline: number,
  ): Promise<{ owned: false } | { owned: true; visitor?: StoredProfile; parked: NormalisedEvent[] }> {
    const owner = await store.putAlias(anonymousId, customerId);
    if (owner !== customerId) return { owned: false };
    const visitorId = `anon:${anonymousId}`;
    for (let attempt = 1; ; attempt++) {
      const visitor = await read(visitorId);
      if (visitor?.mergedInto !== undefined) return visitor.mergedInto === customerId ? { owned: true, visitor, parked: await parkedOfLinked(visitorId, visitor, now) } : { owned: false };
      const frozen: StoredProfile = visitor
        ? { profile: visitor.profile, applied: visitor.applied, outbox: visitor.outbox, version: visitor.version + 1, mergedInto: customerId }
        : { profile: emptyProfile(visitorId, now.toISOString()), applied: [], outbox: [], version: 1, mergedInto: customerId };
      if (await putOrConflict(frozen, visitor?.version, attempt, deadline, `visitor ${visitorId}: could not be frozen for the merge into ${customerId}`, visitor?.rebornAfter)) {
        return { owned: true, ...(visitor && { visitor: frozen }), parked: await parkedOfLinked(visitorId, visitor, now) };
      }
    }
  }

  /**
   * The denials parked under erased `id`'s tombstone (`parkDenial`) that a link of it into another customer folds in (a
   * visitor linked, a known customer joined by an alias, `claimVisitor` and `claimKnown`): its new life begins as that
   * customer's, not with a write of its own profile, which is what folds them otherwise. None when it is not erased, or
   * had a new life of its own (`record`, as read before its freeze: that life folded them). Read after the link's first
   * write (the alias, the freeze): a denial parked before it is read here, and one parked after it finds the link on its
   * parker's next look (write, then check) and applies to the customer directly.
   */
  async function parkedOfLinked(id: string, record: StoredProfile | undefined, now: Date): Promise<NormalisedEvent[]> {
    const tombstone = await store.tombstone(id, now);
    if (tombstone?.completedAt === undefined || record?.rebornAfter === tombstone.erasedAt) return [];
    const parked = await store.parkedDenials(id, tombstone, now);
    // A visitor's denials are events of the visitor (its anonymousId), not of a customer named `anon:<v>`.
    return id.startsWith('anon:') ? parked.map(({ userId: _userId, ...p }) => ({ ...p, anonymousId: id.slice('anon:'.length) })) : parked;
  }

  /**
   * Join known customer `previousId` into `survivorId` without losing what concurrent events write
   * (no transactions), the way `claimVisitor` freezes a visitor:
   * 1. the end of previousId's chain (previousId itself, or the customer it was joined into) is frozen:
   *    `mergedInto: survivorId`, a conditional write on its version (an empty record is created when it
   *    has no profile yet, so its first events forward). An event that read it before fails its own
   *    write, looks again and lands on the survivor;
   * 2. write, then check: the survivor is read again; if it was frozen meanwhile (joined elsewhere, or
   *    two opposing aliases racing) the freeze is undone and the attempt retried, so no chain of
   *    forwarding records ever closes a cycle for good;
   * 3. the caller folds the frozen profile into the survivor's write (conditional on its version). A retry
   *    finds the record frozen into the survivor and folds the same; once the survivor lists it in
   *    `mergedIds`, never again.
   * `already`: nothing to join (one customer already: a repeat, or an alias the other way round).
   */
  async function claimKnown(
    previousId: string,
    survivorId: string,
    survivor: Profile,
    now: Date,
    attempt: number,
    deadline: number,
    /** The alias: one of the erased customer's new life (`startsNewLife`) may join them. */
    event: NormalisedEvent,
  ): Promise<{ status: 'joined'; id: string; frozen?: StoredProfile; parked: NormalisedEvent[] } | { status: 'already' } | { status: 'retry' }> {
    const retry = async () => {
      await raceBackoff(attempt, deadline, `alias of ${previousId} into ${survivorId}`);
      return { status: 'retry' as const };
    };
    const from = await store.resolve(previousId);
    if (from.cycle) return retry();
    const target = from.id === survivorId ? from.chain[from.chain.length - 2] : from.id;
    if (target === undefined || (survivor.mergedIds ?? []).includes(target)) {
      if (target === undefined) log('alias joins nothing: already one customer', { customerId: survivorId });
      return { status: 'already' };
    }
    const found = await read(target);
    if (found?.mergedInto !== undefined) return found.mergedInto === survivorId ? { status: 'joined', id: target, frozen: found, parked: await parkedOfLinked(target, found, now) } : retry();
    // Past PROFILE_LIMITS.mergedIds joining stops (before anything is frozen): the other customer stays its own.
    const joining = 1 + (found?.profile.mergedIds?.length ?? 0);
    if ((survivor.mergedIds?.length ?? 0) + joining > PROFILE_LIMITS.mergedIds) {
      log('alias joins nothing: the customer would have more joined ids than a profile keeps', { customerId: survivorId, limit: PROFILE_LIMITS.mergedIds });
      return { status: 'already' };
    }
    // An erased customer (or one being erased) is joined to no one: a join would bring its id (and, read before
    // the eraser deleted it, its history) back under the survivor. Checked before the freeze and, write then
    // check, after it: an erasure that began meanwhile finds the frozen record, or this finds its tombstone.
    const erased = async () => {
      const tombstone = await store.tombstone(target, now);
      if (tombstone === undefined || tombstone.erasedAt === found?.rebornAfter || startsNewLife(event, tombstone)) return false;
      // The alias names the erased id and may be replayed from the archive later: the tombstone outlives that replay.
      await store.extendTombstone(target, tombstone, event.receivedAt);
      return true;
    };
    if (await erased()) {
      log('alias joins nothing: the other customer was erased', { customerId: survivorId });
      return { status: 'already' };
    }
    const frozen: StoredProfile = found
      ? { profile: found.profile, applied: found.applied, outbox: found.outbox, version: found.version + 1, mergedInto: survivorId }
      : { profile: emptyProfile(target, now.toISOString()), applied: [], outbox: [], version: 1, mergedInto: survivorId };
    if (!(await putOrConflict(frozen, found?.version, attempt, deadline, `customer ${target}: could not be frozen for the join into ${survivorId}`, found?.rebornAfter))) return { status: 'retry' };
    if (await erased()) {
      // The eraser deletes the profile item anyway; the forwarding record must not outlive it.
      await store.undoWrites([{ pk: `C#${target}`, sk: 'P' }], clock.now());
      await deps.onErasedWrite?.([target]);
      log('alias join undone: the other customer was erased meanwhile', { customerId: survivorId });
      return { status: 'already' };
    }
    if ((await store.get(survivorId))?.mergedInto !== undefined) {
      await store.unfreeze(frozen, found, clock.now());
      log('alias join undone: the surviving customer was joined elsewhere meanwhile', { customerId: survivorId, joined: target });
      return retry();
    }
    // An erased customer whose new life begins as this join (`startsNewLife`): the denials parked for it come along.
    return { status: 'joined', id: target, ...(found && { frozen }), parked: await parkedOfLinked(target, found, now) };
  }

  /** Whether one of `ids` is erased and `event` is not of its new life (`startsNewLife`). */
  async function erasedFor(event: NormalisedEvent, ids: readonly string[]): Promise<boolean> {
    for (const id of ids) {
      const tombstone = await store.tombstone(id, clock.now());
      if (tombstone && !startsNewLife(event, tombstone)) {
        await store.extendTombstone(id, tombstone, event.receivedAt);
        return true;
      }
    }
    return false;
  }

  /**
   * Whether visitor `anonymousId` is to be erased as the erased customer's: nobody else owns it (an alias naming another
   * id), it is not erased already, and it holds something; or its erasure was interrupted (a tombstone not completed:
   * a failed delivery's retry), to be resumed from its start (`resumeFrom`). Asked before the drop undoes a link an
   * earlier attempt wrote (`undoLink` deletes the alias and the visitor's frozen record), and judged by the visitor's
   * partition (its profile or frozen record, its timeline), not its profile item alone: the undo leaves the timeline.
   */
  async function visitorToErase(anonymousId: string, customerId: string, now: Date): Promise<{ resumeFrom?: string } | undefined> {
    const owner = await store.getAlias(anonymousId);
    if (owner !== undefined && owner !== customerId) return undefined;
    const visitor = `anon:${anonymousId}`;
    const tombstone = await store.tombstone(visitor, now);
    if (tombstone !== undefined) return tombstone.completedAt === undefined ? { resumeFrom: tombstone.erasedAt } : undefined;
    return (await store.allItems(visitor)).length > 0 ? {} : undefined;
  }

  /**
   * Erase visitor `anonymousId` as the erased customer's (`visitorToErase`), after the drop undid any link to them. The
   * engine redacts its logs before the erasure is marked complete, as for DELETE: a delivery that fails after it (and is
   * retried, finding the visitor erased) has nothing left to redact for them.
   */
  async function eraseVisitor(anonymousId: string, customerId: string, resumeFrom?: string, tombstoneDays?: number): Promise<void> {
    await store.erase(`anon:${anonymousId}`, clock, {
      // A visitor's run (a sign-up before logging in) is the customer's as much as their own: stopped, as DELETE stops it.
      ...(deps.onErase && {
        between: async (ids: string[]) => {
          for (const id of ids) await deps.onErase!(id);
        },
      }),
      ...(deps.onErasedWrite && { beforeComplete: deps.onErasedWrite }),
      ...(tombstoneDays !== undefined && { tombstoneDays }),
      ...(resumeFrom !== undefined && { resumeFrom }),
    });
    log('visitor of an erased customer erased', { customerId });
  }

  /** `store.resolve`, with every profile on it read as `read` does. */
  async function resolve(id: string) {
    const resolved = await store.resolve(id);
    return resolved.stored ? { ...resolved, stored: { ...resolved.stored, profile: upgradeTags(resolved.stored.profile, declaredManual) } } : resolved;
  }

  /**
   * Re-evaluate a customer whose segments may have changed with time alone (the
   * daily sweep). Publishes what changed; moves the customer's due time on.
   */
  async function reevaluate(customerId: string): Promise<string[]> {
    const now = clock.now();
    const deadline = Date.now() + CONTENTION_BUDGET_MS;
    for (let attempt = 1; ; attempt++) {
      const stored = await read(customerId);
      if (!stored || stored.mergedInto !== undefined) return [];
      if (stored.pendingCause !== undefined) {
        // An earlier sweep wrote a change and may not have published it: publish (a repeat keeps its
        // messageIds, so consumers see it once), then clear the mark and move the due time on.
        const { pendingCause, ...confirmed } = stored;
        const pending = stored.outbox.filter((o) => o.cause === pendingCause);
        if (await publish(customerId, pending, stored.rebornAfter)) await leaveIfJoined(customerId, stored.rebornAfter);
        const { next } = resegment(confirmed, stored.profile, stored.profile, pendingCause, now);
        if (!(await putOrConflict(next, stored.version, attempt, deadline))) continue;
        log('profile re-evaluated', { customerId, derived: namesOf(pending).length, republished: true });
        return namesOf(pending);
      }
      const cause = `sweep:${customerId}:${now.toISOString()}`;
      const { next, derived } = resegment(stored, stored.profile, stored.profile, cause, now);
      if (derived.length === 0 && next.nextChangeAt === stored.nextChangeAt) return [];
      if (derived.length === 0) {
        if (!(await putOrConflict(next, stored.version, attempt, deadline))) continue;
        return [];
      }
      // The change is written with its cause pending and the customer still due; only after the
      // derived events are on the bus does a second write clear it. If publishing fails, the next
      // sweep finds the customer due and publishes them then.
      if (!(await putOrConflict({ ...next, nextChangeAt: stored.nextChangeAt ?? now.toISOString(), pendingCause: cause }, stored.version, attempt, deadline))) continue;
      const membersChanged = await publish(customerId, derived, stored.rebornAfter);
      const settled: StoredProfile = { ...next, version: next.version + 1 };
      delete settled.pendingCause;
      // Lost to a concurrent write: the mark stays, and the next sweep clears it after publishing again.
      await putOrConflict(settled, next.version, 0);
      if (await undoneIfErased(customerId, stored.rebornAfter, [], [], membersChanged)) return [];
      log('profile re-evaluated', { customerId, derived: namesOf(derived).length });
      return namesOf(derived);
    }
  }

  /**
   * Write `next` if the profile is still at `version`; false (after a jittered backoff) when a
   * concurrent write won. Past `deadline` (epoch ms, real time) a lost race throws
   * VersionConflictError (retryable: the delivery is retried). Attempt 0: one try, no backoff, no throw.
   */
  async function putOrConflict(next: StoredProfile, version: number | undefined, attempt: number, deadline = 0, what = `profile ${next.profile.id}`, life = next.rebornAfter): Promise<boolean> {
    try {
      await store.put(next, version, clock.now(), life);
      return true;
    } catch (error) {
      if (!(error instanceof VersionConflictError)) throw error;
      if (attempt === 0) return false;
      await raceBackoff(attempt, deadline, what, error);
      return false;
    }
  }

  /**
   * Change a profile from a journey step (add/remove a tag, set a trait), with
   * the same locking, re-segmentation and derived events as an incoming event.
   * Idempotent per `cause` (execution + step).
   */
  async function mutate(customerId: string, cause: string, change: (profile: Profile) => void): Promise<string[]> {
    const now = clock.now();
    const deadline = Date.now() + CONTENTION_BUDGET_MS;
    for (let attempt = 1; ; attempt++) {
      // A visitor identified or a customer joined by alias since the step started: the change is the joined customer's.
      const resolved = await resolve(customerId);
      if (resolved.cycle) {
        await raceBackoff(attempt, deadline, `profile ${customerId}: ${cause}`);
        continue;
      }
      const stored = resolved.stored;
      if (!stored) return [];
      if (resolved.id !== customerId) return mutate(resolved.id, cause, change);
      if (stored.applied.includes(appliedMark(cause))) {
        // Retried: the change is on the profile. Publish what an attempt that failed after the write could not.
        const pending = stored.outbox.filter((o) => o.cause === cause);
        if (await publish(customerId, pending, stored.rebornAfter)) await leaveIfJoined(customerId, stored.rebornAfter);
        return namesOf(pending);
      }
      const profile = structuredClone(stored.profile);
      change(profile);
      const { next, derived } = resegment(stored, profile, stored.profile, cause, now);
      next.applied = [...stored.applied, appliedMark(cause)];
      if (!(await putOrConflict(next, stored.version, attempt, deadline, `profile ${customerId}: ${cause}`))) continue;
      const membersChanged = await publish(customerId, derived, stored.rebornAfter);
      if (await undoneIfErased(customerId, stored.rebornAfter, [], [], membersChanged)) return [];
      return namesOf(derived);
    }
  }

  /** `causedBy`: the time and receipt of the event that caused the change (absent for sweeps and journey steps, which happen now). */
  function resegment(stored: StoredProfile | undefined, profile: Profile, before: Profile, cause: string, now: Date, causedBy?: { at: string; receivedAt: string }, joined: readonly string[] = []) {
    const seg = deps.segment(profile, now);
    const { namedSegments: _named, ...withoutNamed } = profile;
    const after: Profile = { ...withoutNamed, lifecycleStage: seg.lifecycleStage, rfm: seg.rfm, computedTags: [...seg.computedTags].sort(), ...(seg.namedSegments?.length && { namedSegments: [...seg.namedSegments].sort() }) };
    const derived = diff(stored ? before : undefined, after, cause, now, causedBy);
    // Segment membership changes, numbered on the profile (`segmentSeq`) in the same write: applied to the counts after it.
    let segmentSeq = stored?.segmentSeq ?? 0;
    if (inSegments(after.id)) {
      const { entered, left } = segmentChanges(stored ? before : undefined, after);
      for (const [segment, into] of [...left.map((s) => [s, false] as const), ...entered.map((s) => [s, true] as const)]) {
        const properties = { segment, into, seq: ++segmentSeq };
        derived.push({ cause, messageId: derivedMessageId(cause, SEGMENT_CHANGE, properties), name: SEGMENT_CHANGE, properties, at: now.toISOString() });
      }
    }
    for (const customerId of joined) {
      const properties = { customerId };
      derived.push({ cause, messageId: derivedMessageId(cause, SEGMENT_LEAVE_ALL, properties), name: SEGMENT_LEAVE_ALL, properties, at: now.toISOString() });
    }
    const next: StoredProfile = {
      profile: after,
      version: (stored?.version ?? 0) + 1,
      ...(stored?.rebornAfter !== undefined && { rebornAfter: stored.rebornAfter }),
      // Listed under its phone number already (`ProfileStore.put` lists it again only for another number).
      ...(stored?.heldNumber !== undefined && { heldNumber: stored.heldNumber }),
      ...(stored?.heldEmail !== undefined && { heldEmail: stored.heldEmail }),
      applied: stored?.applied ?? [],
      // The last OUTBOX_MAX entries, and every one this event derived (up to DERIVED_EVENTS_MAX and its segment
      // entries): a retry of the event republishes them all from here.
      outbox: keepCoPurchaseEntries([...(stored?.outbox ?? []), ...derived]).slice(-Math.max(OUTBOX_MAX, derived.length)),
      ...(segmentSeq > 0 && { segmentSeq }),
      ...(seg.nextChangeAt !== undefined && { nextChangeAt: seg.nextChangeAt }),
      // A sweep change still to be confirmed published stays marked (and due) through other writes.
      ...(stored?.pendingCause !== undefined && { pendingCause: stored.pendingCause, nextChangeAt: minIso(seg.nextChangeAt, stored.nextChangeAt) }),
    };
    return { next, derived };
  }

  function diff(before: Profile | undefined, after: Profile, cause: string, now: Date, causedBy?: { at: string; receivedAt: string }): OutboxEntry[] {
    const out: OutboxEntry[] = [];
    const make = (name: string, properties: Record<string, unknown>) =>
      out.push({ cause, messageId: derivedMessageId(cause, name, properties), name, properties, at: now.toISOString(), ...(causedBy !== undefined && { causedAt: causedBy.at, causeReceivedAt: causedBy.receivedAt }) });
    // The "bought after" pairs that hold now and did not (an order, a join): counted once, in `publish`.
    const pairs = newPairs(before?.purchases, after.purchases);
    if (pairs.length > 0) make(CO_PURCHASE_ENTRY, { pairs });
    const tagsOf = (p: Profile | undefined) => (p ? profileTags(p) : new Set<string>());
    const was = tagsOf(before);
    const is = tagsOf(after);
    for (const tag of [...is].sort()) if (!was.has(tag)) make(DERIVED_EVENTS.TAG_ADDED, { tag });
    for (const tag of [...was].sort()) if (!is.has(tag)) make(DERIVED_EVENTS.TAG_REMOVED, { tag });
    const from = before?.lifecycleStage;
    if (from !== after.lifecycleStage) {
      make(DERIVED_EVENTS.LIFECYCLE_STAGE_CHANGED, { from: from ?? null, to: after.lifecycleStage });
      if (INACTIVE_STAGES.has(after.lifecycleStage) && (from === undefined || !INACTIVE_STAGES.has(from))) {
        make(DERIVED_EVENTS.CUSTOMER_BECAME_INACTIVE, { stage: after.lifecycleStage, lastOrderAt: after.stats.lastOrderAt ?? null });
      }
    }
    return out;
  }

  /**
   * On a redelivery: make the customer's member items say what the profile says (`segmentsOf`), as of its latest
   * numbered change. A crash after the profile write whose segment entries then left the 50-entry outbox
   * (later writes) is repaired here; nothing changes when the members agree (one Query).
   */
  async function reconcileSegments(customerId: string, stored: StoredProfile): Promise<boolean> {
    if (!inSegments(customerId) || stored.mergedInto !== undefined || stored.segmentSeq === undefined) return false;
    const want = new Set(segmentsOf(stored.profile));
    const have = new Set(await store.segments.segmentsOfCustomer(customerId));
    let changed = false;
    for (const segment of [...new Set([...want, ...have])].sort()) {
      if (want.has(segment) !== have.has(segment)) {
        await store.segments.change(customerId, segment, want.has(segment), stored.segmentSeq);
        changed = true;
      }
    }
    return changed;
  }

  /**
   * Write, then check, after segment member changes: an alias may have joined this customer into another while they
   * were under way (its leave-all then missed them): a customer joined into another is in no segment. Writers that
   * check for an erasure after their writes read both at once (`undoneIfErased`).
   */
  async function leaveIfJoined(customerId: string, rebornAfter: string | undefined): Promise<void> {
    // Erased meanwhile too (the eraser's deleteMembers may have run before these member writes): out of every
    // segment, and the member items go. Read at once with the join (one call, as `undoneIfErased` does).
    const { tombstone, joined } = await store.checkAfterWrite(customerId, clock.now(), { joined: true });
    if (tombstone && tombstone.erasedAt !== rebornAfter) {
      await store.segments.leaveAll(customerId);
      await store.segments.deleteMembers(customerId);
    } else if (joined) await store.segments.leaveAll(customerId);
  }

  /**
   * Apply the outbox entries' segment changes, then publish their derived events. Returns whether segment members
   * of `customerId` changed: the caller then checks whether the customer was joined into another meanwhile
   * (`leaveIfJoined`, or with its erasure check in `undoneIfErased`).
   */
  async function publish(customerId: string, outbox: OutboxEntry[], rebornAfter: string | undefined): Promise<boolean> {
    // Segment entries first (idempotent, ordered by seq): a redelivery of the cause applies what a crash left.
    // Changes of different segments touch different items: applied at once. Of one segment's changes only the
    // latest is applied: a member item takes the change of the highest seq and ignores older ones, and its count
    // moves by the flip from what it recorded, so the earlier changes of a group (in, then out) would end the same.
    const latest = new Map<string, OutboxEntry>();
    for (const o of outbox) {
      if (o.name !== SEGMENT_CHANGE) continue;
      const before = latest.get(o.properties.segment as string);
      if (!before || (before.properties.seq as number) < (o.properties.seq as number)) latest.set(o.properties.segment as string, o);
    }
    await Promise.all([...latest].map(([segment, o]) => store.segments.change(customerId, segment, o.properties.into === true, o.properties.seq as number)));
    const changed = latest.size > 0;
    for (const o of outbox) if (o.name === SEGMENT_LEAVE_ALL) await store.segments.leaveAll(o.properties.customerId as string);
    // The pairs a write made, counted once each (by cause and pair: a republished entry counts nothing again).
    for (const o of outbox) if (o.name === CO_PURCHASE_ENTRY) await store.coPurchases.count(o.cause, o.properties.pairs as Pair[], clock.now());
    const events = outbox.filter(isEvent);
    if (events.length === 0) return changed;
    const entries: BusEntry[] = events.map((o) => derivedEvent(customerId, o, deps.eventBusName));
    const result = await publishEntries(deps.putEvents, entries, { clock }).catch(async (error: unknown) => {
      // The caller's check will not run: the members changed are checked here before the delivery is retried.
      if (changed) await leaveIfJoined(customerId, rebornAfter);
      throw error;
    });
    if (result.failed.length > 0) {
      if (changed) await leaveIfJoined(customerId, rebornAfter);
      throw new DerivedEventsUnpublishedError(`${result.failed.length} derived event(s) could not be published (${result.failed[0]!.errorCode}); the event will be retried`);
    }
    return changed;
  }

  return { handleEvent, reevaluate, mutate };
}

/** A derived event's messageId: from its cause, so a republished one is recognised downstream as the same event. */
function derivedMessageId(cause: string, name: string, properties: Record<string, unknown>): string {
  return `drv-${createHash('sha256').update(`${cause}\n${name}\n${JSON.stringify(properties)}`).digest('hex').slice(0, 40)}`;
}

/**
 * The bus entry of a derived event, in the normalised event shape, so journeys
 * start from it like from any event. Ids only, no PII.
 */
function derivedEvent(customerId: string, o: OutboxEntry, eventBusName?: string): BusEntry {
  const detail: NormalisedEvent = {
    specVersion: 1,
    type: 'track',
    messageId: o.messageId,
    userId: customerId,
    event: o.name,
    properties: { customerId, ...o.properties },
    traits: {},
    // causedAt: how old the news is (imported history makes old news; journeys' trigger.max_age reads it).
    context: { causedBy: o.cause, ...(o.causedAt !== undefined && { causedAt: o.causedAt, causeReceivedAt: o.causeReceivedAt }) },
    timestamp: o.at,
    receivedAt: o.at,
    sourceId: PROFILE_EVENT_SOURCE,
  };
  return { Source: PROFILE_EVENT_SOURCE, DetailType: o.name, Detail: JSON.stringify(detail), Time: new Date(o.at), ...(eventBusName !== undefined && { EventBusName: eventBusName }) };
}
