import { createHash } from 'node:crypto';
import {
  DERIVED_EVENTS,
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
} from '../../shared';
import { TAG_RULES_MAX } from '../../shared/segmentation/constants';
import type { RecentEventsSpec } from '../../shared/segmentation/retention';
import { applyEvent, emptyProfile, mergeProfiles, upgradeTags } from './apply';
import { APPLIED_MAX, appliedMark, startsNewLife, VersionConflictError, type OutboxEntry, type ProfileStore, type StoredProfile, type Tombstone } from './store';

/** What segmentation computes from a profile at an instant (lifecycle, RFM, tags) and when it may next change. */
export interface Segmentation {
  lifecycleStage: LifecycleStage;
  rfm: Rfm;
  computedTags: string[];
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
  /** Receives customer ids and counts only, never traits. */
  log?: (message: string, fields: Record<string, unknown>) => void;
}

export type ConsumeResult =
  | { status: 'applied'; customerId: string; derived: string[] }
  | { status: 'duplicate'; customerId: string }
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

const MAX_ATTEMPTS = 25;
/** Jittered pause after losing an optimistic-lock race (real time, whatever the clock). */
const backoff = (attempt: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 5 * 2 ** attempt)));
const OUTBOX_MAX = 50;
/** The earlier of two ISO instants (either may be absent). */
const minIso = (a: string | undefined, b: string | undefined) => (a === undefined ? b : b === undefined ? a : a < b ? a : b);
/** Stages a customer has lapsed into; entering one from elsewhere publishes `Customer Became Inactive`. */
const INACTIVE_STAGES: ReadonlySet<LifecycleStage> = new Set(['dormant', 'churned']);

/**
 * The profile consumer: folds each customer event into that customer's profile
 * (idempotent per messageId, order-independent, optimistic locking), keeps the
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

  async function handleEvent(event: NormalisedEvent): Promise<ConsumeResult> {
    const now = clock.now();
    // The customer an event names, and the visitor id it links to them (identify with an anonymousId, alias).
    const named = event.type === 'alias' || event.userId !== undefined ? event.userId! : undefined;
    const link = event.type === 'alias' ? event.previousId : event.userId !== undefined ? event.anonymousId : undefined;

    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      // A visitor-only event goes to whoever the visitor is linked to now: looked up on every attempt, and
      // a visitor profile found frozen (merged since) forwards to its customer.
      let customerId = named ?? (await store.getAlias(event.anonymousId!)) ?? `anon:${event.anonymousId}`;
      let stored = await read(customerId);
      if (stored?.mergedInto !== undefined) {
        customerId = stored.mergedInto;
        stored = await read(customerId);
      }
      // An erased customer: only events dated and received after the erasure start a new, clean profile.
      let tombstone: Tombstone | undefined;
      if (!stored) tombstone = await store.tombstone(customerId, now);
      if ((tombstone && !startsNewLife(event, tombstone)) || (stored?.rebornAfter !== undefined && event.timestamp <= stored.rebornAfter)) {
        // An earlier attempt may have linked a visitor to them before its profile write failed.
        if (link !== undefined) await store.undoLink(link, customerId);
        await deps.onErasedWrite?.([customerId]);
        log('event for an erased customer dropped', { customerId, messageId: event.messageId });
        return { status: 'dropped', customerId, reason: 'erased' };
      }
      const rebornAfter = stored?.rebornAfter ?? tombstone?.erasedAt;
      if (stored?.applied.includes(appliedMark(event.messageId))) {
        // Redelivered: the profile already has it. Finish what a crashed attempt may have left undone.
        await store.putTimelineEvent(customerId, event, deps.timelineRetentionDays);
        await publish(customerId, stored.outbox.filter((o) => o.cause === event.messageId));
        if (await undoneIfErased(customerId, rebornAfter, event, link)) return { status: 'dropped', customerId, reason: 'erased' };
        return { status: 'duplicate', customerId };
      }
      if (stored && stored.applied.length >= APPLIED_MAX && Date.parse(event.timestamp) < Date.parse(stored.profile.lastSeenAt) && (await wasApplied(customerId, event))) {
        // Older than the applied-message window (a late redelivery, a replay from the bus archive): the
        // timeline, where every applied event is written, knows it. Its derived events went out back then.
        log('event applied before (timeline) skipped', { customerId, messageId: event.messageId });
        return { status: 'duplicate', customerId };
      }

      const before = stored?.profile ?? emptyProfile(customerId, event.timestamp);
      let profile = applyEvent(before, event, now, deps.recentEvents);
      let applied = [...(stored?.applied ?? []), appliedMark(event.messageId)];
      let merged = false;
      if (link !== undefined && link !== customerId && !before.anonymousIds.includes(link)) {
        const claim = await claimVisitor(link, customerId, now);
        if (claim.owned && claim.visitor) {
          profile = mergeProfiles(profile, claim.visitor.profile, link, now, deps.recentEvents);
          applied = [...claim.visitor.applied, ...applied];
          merged = true;
        } else if (claim.owned && !profile.anonymousIds.includes(link)) {
          profile.anonymousIds.push(link);
        }
      }

      const { next, derived } = resegment(stored, profile, before, event.messageId, now, { at: event.timestamp, receivedAt: event.receivedAt });
      next.applied = applied;
      if (rebornAfter !== undefined) next.rebornAfter = rebornAfter;
      if (!(await putOrConflict(next, stored?.version, attempt))) continue;
      await store.putTimelineEvent(customerId, event, deps.timelineRetentionDays);
      await publish(customerId, derived);
      if (await undoneIfErased(customerId, rebornAfter, event, link)) return { status: 'dropped', customerId, reason: 'erased' };
      log('profile updated', { customerId, messageId: event.messageId, derived: derived.length, attempt, merged });
      return { status: 'applied', customerId, derived: derived.map((d) => d.name) };
    }
    throw new VersionConflictError(`profile ${event.userId ?? `anon:${event.anonymousId}`}: ${MAX_ATTEMPTS} concurrent writes in a row; the event will be retried`);
  }

  /**
   * The writer's half of erasure (write, then check): after its writes, read the tombstone
   * (strongly consistent). If the customer is erased (and this is not their new profile), the
   * eraser's query may have run before the writes: delete them, and report the event dropped.
   * Otherwise the writes came before the tombstone, so before the eraser's query, which deletes them.
   */
  async function undoneIfErased(customerId: string, rebornAfter: string | undefined, event: NormalisedEvent | undefined, link?: string): Promise<boolean> {
    const tombstone = await store.tombstone(customerId, clock.now());
    if (!tombstone || tombstone.erasedAt === rebornAfter) return false;
    await store.undoWrites([
      { pk: `C#${customerId}`, sk: 'P' },
      ...(event ? [{ pk: `C#${customerId}`, sk: `E#${event.timestamp}#${event.messageId}` }] : []),
    ]);
    if (link !== undefined) await store.undoLink(link, customerId);
    await deps.onErasedWrite?.([customerId]);
    log('write for an erased customer undone', { customerId, ...(event && { messageId: event.messageId }) });
    return true;
  }

  /** Whether the timeline has the event: under the customer, or under the visitor id it was applied to before a merge. */
  function wasApplied(customerId: string, event: NormalisedEvent): Promise<boolean> {
    const ids = [customerId, ...(event.anonymousId !== undefined && `anon:${event.anonymousId}` !== customerId ? [`anon:${event.anonymousId}`] : [])];
    return store.hasTimelineEvent(ids, event);
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
  async function claimVisitor(anonymousId: string, customerId: string, now: Date): Promise<{ owned: boolean; visitor?: StoredProfile }> {
    const owner = await store.putAlias(anonymousId, customerId);
    if (owner !== customerId) return { owned: false };
    const visitorId = `anon:${anonymousId}`;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const visitor = await read(visitorId);
      if (visitor?.mergedInto !== undefined) return visitor.mergedInto === customerId ? { owned: true, visitor } : { owned: false };
      const frozen: StoredProfile = visitor
        ? { profile: visitor.profile, applied: visitor.applied, outbox: visitor.outbox, version: visitor.version + 1, mergedInto: customerId }
        : { profile: emptyProfile(visitorId, now.toISOString()), applied: [], outbox: [], version: 1, mergedInto: customerId };
      if (await putOrConflict(frozen, visitor?.version, attempt)) return { owned: true, ...(visitor && { visitor: frozen }) };
    }
    throw new VersionConflictError(`visitor ${visitorId}: could not be frozen for the merge into ${customerId}; the event will be retried`);
  }

  /**
   * Re-evaluate a customer whose segments may have changed with time alone (the
   * daily sweep). Publishes what changed; moves the customer's due time on.
   */
  async function reevaluate(customerId: string): Promise<string[]> {
    const now = clock.now();
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const stored = await read(customerId);
      if (!stored || stored.mergedInto !== undefined) return [];
      if (stored.pendingCause !== undefined) {
        // An earlier sweep wrote a change and may not have published it: publish (a repeat keeps its
        // messageIds, so consumers see it once), then clear the mark and move the due time on.
        const { pendingCause, ...confirmed } = stored;
        const pending = stored.outbox.filter((o) => o.cause === pendingCause);
        await publish(customerId, pending);
        const { next } = resegment(confirmed, stored.profile, stored.profile, pendingCause, now);
        if (!(await putOrConflict(next, stored.version, attempt))) continue;
        log('profile re-evaluated', { customerId, derived: pending.length, republished: true });
        return pending.map((d) => d.name);
      }
      const cause = `sweep:${customerId}:${now.toISOString()}`;
      const { next, derived } = resegment(stored, stored.profile, stored.profile, cause, now);
      if (derived.length === 0 && next.nextChangeAt === stored.nextChangeAt) return [];
      if (derived.length === 0) {
        if (!(await putOrConflict(next, stored.version, attempt))) continue;
        return [];
      }
      // The change is written with its cause pending and the customer still due; only after the
      // derived events are on the bus does a second write clear it. If publishing fails, the next
      // sweep finds the customer due and publishes them then.
      if (!(await putOrConflict({ ...next, nextChangeAt: stored.nextChangeAt ?? now.toISOString(), pendingCause: cause }, stored.version, attempt))) continue;
      await publish(customerId, derived);
      const settled: StoredProfile = { ...next, version: next.version + 1 };
      delete settled.pendingCause;
      // Lost to a concurrent write: the mark stays, and the next sweep clears it after publishing again.
      await putOrConflict(settled, next.version, 0);
      if (await undoneIfErased(customerId, stored.rebornAfter, undefined)) return [];
      log('profile re-evaluated', { customerId, derived: derived.length });
      return derived.map((d) => d.name);
    }
    throw new VersionConflictError(`profile ${customerId}: could not re-evaluate after ${MAX_ATTEMPTS} attempts`);
  }

  /** Write `next` if the profile is still at `version`; false (after a backoff) when a concurrent write won. */
  async function putOrConflict(next: StoredProfile, version: number | undefined, attempt: number): Promise<boolean> {
    try {
      await store.put(next, version);
      return true;
    } catch (error) {
      if (!(error instanceof VersionConflictError)) throw error;
      if (attempt > 0) await backoff(attempt);
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
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const stored = await read(customerId);
      if (!stored) return [];
      // A visitor merged into a known customer since the step started: the change is theirs.
      if (stored.mergedInto !== undefined) return mutate(stored.mergedInto, cause, change);
      if (stored.applied.includes(appliedMark(cause))) {
        // Retried: the change is on the profile. Publish what an attempt that failed after the write could not.
        const pending = stored.outbox.filter((o) => o.cause === cause);
        await publish(customerId, pending);
        return pending.map((d) => d.name);
      }
      const profile = structuredClone(stored.profile);
      change(profile);
      const { next, derived } = resegment(stored, profile, stored.profile, cause, now);
      next.applied = [...stored.applied, appliedMark(cause)];
      try {
        await store.put(next, stored.version);
      } catch (error) {
        if (!(error instanceof VersionConflictError)) throw error;
        await backoff(attempt);
        continue;
      }
      await publish(customerId, derived);
      if (await undoneIfErased(customerId, stored.rebornAfter, undefined)) return [];
      return derived.map((d) => d.name);
    }
    throw new VersionConflictError(`profile ${customerId}: could not apply ${cause} after ${MAX_ATTEMPTS} attempts`);
  }

  /** `causedBy`: the time and receipt of the event that caused the change (absent for sweeps and journey steps, which happen now). */
  function resegment(stored: StoredProfile | undefined, profile: Profile, before: Profile, cause: string, now: Date, causedBy?: { at: string; receivedAt: string }) {
    const seg = deps.segment(profile, now);
    const after: Profile = { ...profile, lifecycleStage: seg.lifecycleStage, rfm: seg.rfm, computedTags: [...seg.computedTags].sort() };
    const derived = diff(stored ? before : undefined, after, cause, now, causedBy);
    const next: StoredProfile = {
      profile: after,
      version: (stored?.version ?? 0) + 1,
      ...(stored?.rebornAfter !== undefined && { rebornAfter: stored.rebornAfter }),
      applied: stored?.applied ?? [],
      outbox: [...(stored?.outbox ?? []), ...derived].slice(-OUTBOX_MAX),
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

  async function publish(customerId: string, outbox: OutboxEntry[]): Promise<void> {
    if (outbox.length === 0) return;
    const entries: BusEntry[] = outbox.map((o) => derivedEvent(customerId, o, deps.eventBusName));
    const result = await publishEntries(deps.putEvents, entries, { clock });
    if (result.failed.length > 0) {
      throw new DerivedEventsUnpublishedError(`${result.failed.length} derived event(s) could not be published (${result.failed[0]!.errorCode}); the event will be retried`);
    }
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
