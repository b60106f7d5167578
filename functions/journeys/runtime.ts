import { createHash } from 'node:crypto';
import { conversionEventsOf, eventKey, eventRef, isSameEvent, IDEMPOTENCY_WINDOW_SECONDS, INGEST_EVENT_SOURCE, matchesEventPattern, orderAmount, PROFILE_EVENT_SOURCE, profileTags, reachability, type Channel, type Clock, type ConsentMode, type EventPattern, type EventRef, type LifecycleStage, type NormalisedEvent, type Profile } from '../../shared';
import type { ProfileStore, StoredProfile } from '../profile';
import { executionName, isExecutionMissing, previousExecutionName, type ExecutionInput, type Executions } from './executions';
import { attributionSortKey, inRunIndex, type AttributionRecord, type JourneyStore, type MessageRecord, type RunRecord } from './store';
import { belongsAfter, eventMark } from '../profile';

/** What the runtime needs of a compiled journey. */
export interface JourneySpec {
  id: string;
  version: number;
  triggerPatterns: EventPattern[];
  /** The oldest trigger that starts a run (seconds between its time and the clock); null: any age. @default 86400 (`max_age: 1d`) */
  triggerMaxAgeSeconds?: number | null;
  goalPatterns: EventPattern[];
  exitPatterns: EventPattern[];
  audience?: { tags?: { include?: string[]; exclude?: string[] }; lifecycle?: LifecycleStage[]; consent?: Channel };
  reentry: 'never' | 'always' | { afterSeconds: number };
  /** A trigger property: one run per value of it (e.g. complaintId) instead of one per customer. */
  concurrencyKey?: string;
  /** Scalar trigger properties the journey refers to; only these travel in the execution input (no PII). */
  triggerProperties: string[];
  /** The `when` of every branch rule (tag-rule conditions): the profile keeps the recent events they read. Absent: unknown. */
  branchConditions?: unknown[];
  /** The events its wait_for steps wait for: the router looks up waiting runs only for these. Absent: unknown (always looked up). */
  awaitedEvents?: string[];
  /** What its messages earn: conversions of `event` (its `value` property, else the order amount) credited to the last message within `windowSeconds`. Absent: no attribution. */
  attribution?: { event: string; value?: string; windowSeconds: number };
  /** The longest a run can last (the compiler's `maxRunSeconds`): its lock expires after it. @default a year (Step Functions' limit) */
  maxRunSeconds?: number;
}

/** Step Functions Standard's longest execution (a year): a run's lock never needs to outlive it. */
const EXECUTION_MAX_SECONDS = 365 * 86_400;
/**
 * How long after its run is recorded an execution may still start: a trigger whose StartExecution failed is
 * redelivered for up to 30 hours (EventBridge retries 24 h, Lambda's async retries 6 h). Rounded up to 2 days,
 * it pads the lock's expiry, and a run whose execution Step Functions does not know is ended only after it.
 */
export const START_GRACE_SECONDS = 2 * 86_400;
/** The reconciling sweep checks a running run first a day after it started, then at growing intervals, at most a week apart. */
export const RECONCILE_FIRST_CHECK_SECONDS = 86_400;
export const RECONCILE_MAX_INTERVAL_SECONDS = 7 * 86_400;
/**
 * A run a goal or exit event ended stays in the run index until its execution's end is known (its status change,
 * else the sweep's DescribeExecution), due this long after the event: by then its stop has taken effect and the
 * news of its end has usually come (which takes it out of the index without a call to Step Functions).
 */
export const RECONCILE_ENDED_BY_EVENT_SECONDS = 3600;

/**
 * Which trigger patterns the starter's bus rules carry: those of derived events (source `rapport.profile`,
 * published after the profile write they derive from). A trigger that is a customer event (source
 * `rapport.ingest`) is enrolled by the profile consumer once it has applied the event (`applied`): in AWS the
 * two are independent invocations, and a starter of its own would race the profile it reads.
 */
export const isStarterPattern = (pattern: EventPattern): boolean => !((pattern as { source?: unknown }).source as unknown[] | undefined)?.includes(INGEST_EVENT_SOURCE);

/** A trigger's `max_age` when its journey does not say (the journey YAML's default, 1d). */
export const DEFAULT_TRIGGER_MAX_AGE_SECONDS = 86_400;

/**
 * Whether a trigger is too old to start the journey: how old it was when Rapport
 * received it (its timestamp against the engine clock at ingest, `receivedAt`), so
 * imported history is stale while a live event delayed inside Rapport (a retry, a
 * backlog) is not. A derived event (Tag Added, Customer Became Inactive, ...) is as
 * old as the event that caused it was on arrival (`context.causedAt` and
 * `causeReceivedAt`): imported history starts no journey through the tags and
 * stages it changes either.
 */
export function isStale(journey: Pick<JourneySpec, 'triggerMaxAgeSeconds'>, detail: Pick<NormalisedEvent, 'timestamp' | 'receivedAt' | 'context'>, now: Date): boolean {
  const maxAge = journey.triggerMaxAgeSeconds === undefined ? DEFAULT_TRIGGER_MAX_AGE_SECONDS : journey.triggerMaxAgeSeconds;
  if (maxAge === null) return false;
  const age = (at: unknown, receivedAt: unknown) => {
    const t = typeof at === 'string' ? Date.parse(at) : NaN;
    const r = typeof receivedAt === 'string' ? Date.parse(receivedAt) : now.getTime();
    return Number.isNaN(t) || Number.isNaN(r) ? 0 : r - t;
  };
  const context = detail.context as { causedAt?: unknown; causeReceivedAt?: unknown } | undefined;
  return Math.max(age(detail.timestamp, detail.receivedAt), context?.causedAt === undefined ? 0 : age(context.causedAt, context.causeReceivedAt)) > maxAge * 1000;
}

/** An event as EventBridge delivers it to a rule target. */
export interface BusEventLike {
  source: string;
  'detail-type': string;
  detail: unknown;
}

export type SkipReason = 'no-profile' | 'stale' | 'audience' | 're-entry' | 'already-running' | 'no-key' | 'erased';
export type EnrolOutcome = { journeyId: string; status: 'started' | 'duplicate'; executionName: string } | { journeyId: string; status: 'skipped'; reason: SkipReason };

/**
 * What a reconciling pass found: runs checked, ended (their execution had ended, or never started), failed to check;
 * and, when any, `corrected`: runs a goal or exit event ended whose execution had ended on its own before it.
 */
export interface ReconcileOutcome {
  checked: number;
  ended: number;
  failed: number;
  corrected?: number;
}

export interface JourneyRuntimeDeps {
  journeys: JourneySpec[];
  /**
   * Earlier versions of journeys (and journeys since removed) whose runs may still be in flight: a run ends by the
   * goals and exits of the version it started on, and its wait_for is resumed by the events that version waits
   * for. Absent: the current versions' serve every run.
   */
  retired?: readonly JourneySpec[];
  profiles: ProfileStore;
  records: JourneyStore;
  executions: Executions;
  clock: Clock;
  consentMode: ConsentMode;
  log?: (message: string, fields: Record<string, unknown>) => void;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * The journey runtime around the state machines: the starter (audience, re-entry
 * and concurrency checks, then a start under a deterministic name, so a
 * redelivered trigger never enrols twice), the router (an event resumes the
 * customer's runs waiting for it and stops runs whose goal or exit it is), and
 * the end-of-run bookkeeping.
 */
/** How long after its receipt a trigger waits for the events sent before it in its request (Lambda retries 1 and 3 minutes in). */
export const PRECEDING_WAIT_MS = 150_000;

/** A trigger's enrolment waits for events sent before it in its request (a retryable failure: the invocation is retried). */
export class PrecedingEventsPending extends Error {
  override readonly name = 'PrecedingEventsPending';
}

export function createJourneyRuntime(deps: JourneyRuntimeDeps) {
  const { profiles, records, executions, clock } = deps;
  const log = deps.log ?? (() => undefined);
  const byId = new Map(deps.journeys.map((j) => [j.id, j]));
  /** Every version a run in flight may have started on: the current ones and the retired (a removed journey's too). */
  const everyVersion = [...deps.journeys, ...(deps.retired ?? []).filter((r) => byId.get(r.id)?.version !== r.version)];
  const byVersion = new Map(everyVersion.map((j) => [`${j.id}\n${j.version}`, j]));
  /** The spec a run goes by: its version's, else (a version never kept, runs from before versions) the current one. */
  const specOf = (run: Pick<RunRecord, 'journeyId' | 'version'>): JourneySpec | undefined =>
    (run.version !== undefined ? byVersion.get(`${run.journeyId}\n${run.version}`) : undefined) ?? byId.get(run.journeyId) ?? everyVersion.findLast((j) => j.id === run.journeyId);
  /** The conversion events some journey's attribution counts, and the default a broadcast's counts (`conversionEventsOf`). */
  const conversionEvents = conversionEventsOf(everyVersion);
  /** The events some wait_for step waits for; undefined when a journey does not say (an older journeys file): any may be. */
  const awaited = everyVersion.every((j) => j.awaitedEvents !== undefined) ? new Set(everyVersion.flatMap((j) => j.awaitedEvents ?? [])) : undefined;

  /**
   * The customer an event is for now: a known id joined into another by alias is that customer's. With
   * `stored`, the profile the lookup read at the end of the chain (`null`: none), so it is not read again.
   */
  async function customerOf(detail: NormalisedEvent): Promise<{ id: string; stored?: StoredProfile | null } | undefined> {
    if (detail.userId !== undefined) {
      const resolved = await profiles.resolve(detail.userId);
      return { id: resolved.id, ...(!resolved.cycle && { stored: resolved.stored ?? null }) };
    }
    if (detail.anonymousId === undefined) return undefined;
    return { id: (await profiles.getAlias(detail.anonymousId)) ?? `anon:${detail.anonymousId}` };
  }

  /**
   * The ids whose partitions hold this customer's journey records: theirs and the known ids joined into
   * it by alias (a joined id's runs go on under the id they started with). `read`: their profile as just read.
   */
  async function idsOf(customerId: string, read?: StoredProfile | null): Promise<string[]> {
    const stored = read === undefined ? await profiles.get(customerId) : (read ?? undefined);
    return [customerId, ...(stored?.mergedInto === undefined ? (stored?.profile.mergedIds ?? []) : [])];
  }

  async function runsOfAll(ids: readonly string[], journeyId?: string): Promise<RunRecord[]> {
    return (await Promise.all(ids.map((id) => records.runs(id, journeyId)))).flat();
  }

  function inAudience(journey: JourneySpec, profile: Profile): boolean {
    const a = journey.audience;
    if (!a) return true;
    const tags = profileTags(profile);
    if (a.tags?.include && !a.tags.include.some((t) => tags.has(t))) return false;
    if (a.tags?.exclude && a.tags.exclude.some((t) => tags.has(t))) return false;
    if (a.lifecycle && !a.lifecycle.includes(profile.lifecycleStage)) return false;
    if (a.consent && !reachability(profile, a.consent, 'marketing', deps.consentMode).ok) return false;
    return true;
  }

  /**
   * A trigger that starts nothing, counted by its reason (`skipped.<reason>`; once per delivery) and, for a
   * customer Rapport knows, recorded under them (the latest per journey), so "why did they not enter" has an
   * answer. Write, then check: a record written while the customer was being erased is deleted.
   */
  async function skip(journey: JourneySpec, reason: SkipReason, customerId?: string, event?: BusEventLike): Promise<EnrolOutcome> {
    // Not entered: counted against the version it would have entered.
    await records.count(journey.id, { [`skipped.${reason}`]: 1 }, journey.version);
    if (customerId !== undefined && event !== undefined) {
      const detail = event.detail as NormalisedEvent;
      await records.putSkip(customerId, { journeyId: journey.id, reason, at: clock.now().toISOString(), event: event['detail-type'], sourceId: detail.sourceId, messageId: detail.messageId });
      if (await profiles.erasedNow(customerId, clock.now())) await profiles.undoWrites([{ pk: `C#${customerId}`, sk: `JS#${journey.id}` }]);
    }
    return { journeyId: journey.id, status: 'skipped', reason };
  }

  /**
   * Enrol the event's customer in a journey it triggers. The profile already holds the event: the profile
   * consumer calls this after applying it (`applied`), and a derived event is published after the write it
   * derives from (`start`), so the profile is read once, never waited for.
   */
  async function enrol(journey: JourneySpec, event: BusEventLike, detail: NormalisedEvent): Promise<EnrolOutcome> {
    const customer = await customerOf(detail);
    if (customer === undefined) return skip(journey, 'no-profile');
    const customerId = customer.id;
    // Runs of the ids joined into the customer count for re-entry and "already running" as their own.
    // The tombstone (needed unless the run exists: a redelivery) is read while the runs are listed.
    // The id the trigger names, if it resolved to another customer (an erased customer's id joined in since), too.
    const named = detail.userId ?? (detail.anonymousId !== undefined ? `anon:${detail.anonymousId}` : undefined);
    const [runs, tombstoneBefore, namedTombstone] = await Promise.all([
      runsOfAll(await idsOf(customerId, customer.stored), journey.id),
      profiles.tombstone(customerId, clock.now()),
      named !== undefined && named !== customerId ? profiles.tombstone(named, clock.now()) : undefined,
    ]);
    // The name comes from the trigger's source and messageId (a messageId is unique per source only). A run
    // started before names included the source, within the redelivery window, is found under its old name.
    const legacyName = executionName(journey.id, customerId, detail.messageId, sha);
    const legacySince = new Date(clock.now().getTime() - IDEMPOTENCY_WINDOW_SECONDS * 1000).toISOString();
    // A run of a journey with a long id started under the name its first 38 characters made is this journey's (runs
    // are listed by journey): found under it.
    const previousName = previousExecutionName(journey.id, customerId, eventKey(detail), sha);
    const currentName = executionName(journey.id, customerId, eventKey(detail), sha);
    const existing =
      runs.find((r) => r.executionName === currentName) ??
      (previousName === undefined ? undefined : runs.find((r) => r.executionName === previousName)) ??
      runs.find((r) => r.executionName === legacyName && r.triggerSourceId === undefined && r.startedAt >= legacySince);
    const name = existing?.executionName ?? currentName;
    if (existing && existing.status !== 'running') {
      // A redelivered trigger whose run has ended. If an event ended it (a goal before the start, see below),
      // the attempt that marked it may have failed to stop the execution: stop it again (a no-op once stopped).
      if (existing.endedBy !== undefined) await stopExecution(journey.id, name, `goal: ${existing.endedBySourceId ?? '?'}/${existing.endedBy} (redelivered trigger)`);
      return { journeyId: journey.id, status: 'duplicate', executionName: name };
    }
    // A new run's trigger of an erased life (a late event, a replay) starts nothing, also not on the customer who
    // came back: the profile consumer's rule (belongsAfter). Checked before the start, so no step runs for it.
    const erased = existing ? undefined : [tombstoneBefore, namedTombstone].find((t) => t !== undefined && !belongsAfter(detail, t));
    if (erased) {
      await records.count(journey.id, { 'skipped.erased': 1 }, journey.version);
      return { journeyId: journey.id, status: 'skipped', reason: 'erased' };
    }

    let key: string;
    if (existing) {
      // The run is recorded (audience, re-entry and lock passed): a redelivery, or the retry of an attempt that
      // failed before or after StartExecution. Starting again by the same name is idempotent; it is counted once.
      key = existing.key;
      if (existing.entryPending) await records.countEntry(existing);
    } else {
      // History is history: an imported (or long-delayed) trigger starts nothing; counted once per delivery.
      if (isStale(journey, detail, clock.now())) return skip(journey, 'stale', customerId, event);
      // No profile although its event was applied: the customer was erased (the consumer drops their events).
      // The profile holds the trigger already: the one the lookup read serves (read here when it read none).
      const profile = (customer.stored === undefined ? await profiles.get(customerId) : (customer.stored ?? undefined))?.profile;
      if (!profile) return skip(journey, 'no-profile');
      if (!inAudience(journey, profile)) return skip(journey, 'audience', customerId, event);

      key = '*';
      if (journey.concurrencyKey !== undefined) {
        const value = detail.properties[journey.concurrencyKey];
        if (value === undefined || value === null || typeof value === 'object') return skip(journey, 'no-key', customerId, event);
        key = String(value);
      }
      const sameKey = runs.filter((r) => r.key === key);
      if (journey.reentry === 'never' && sameKey.length > 0) return skip(journey, 're-entry', customerId, event);
      if (sameKey.some((r) => r.status === 'running' && r.customerId !== customerId)) return skip(journey, 'already-running', customerId, event);
      if (typeof journey.reentry === 'object') {
        const since = new Date(clock.now().getTime() - journey.reentry.afterSeconds * 1000).toISOString();
        if (sameKey.some((r) => r.startedAt > since)) return skip(journey, 're-entry', customerId, event);
      }
      // The lock expires once the run has surely ended (its longest life, plus the time its start may take), so
      // it never outlives its run, even when the news of the run's end is lost (the reconciling sweep ends it sooner).
      const now = clock.now();
      const expiresAt = new Date(now.getTime() + ((journey.maxRunSeconds ?? EXECUTION_MAX_SECONDS) + START_GRACE_SECONDS) * 1000);
      if (!(await records.lock(customerId, journey.id, key, name, { now, expiresAt }))) return skip(journey, 'already-running', customerId, event);
      // Recorded before the execution starts: its steps and its end find the run; the reconciling sweep checks it from a day on.
      await records.putRun(
        { journeyId: journey.id, version: journey.version, executionName: name, customerId, key, status: 'running', startedAt: now.toISOString(), triggerMessageId: detail.messageId, triggerSourceId: detail.sourceId, triggeredAt: detail.timestamp, entryPending: true },
        new Date(now.getTime() + RECONCILE_FIRST_CHECK_SECONDS * 1000),
      );
      await records.countEntry({ journeyId: journey.id, version: journey.version, customerId, executionName: name });
    }

    const properties: ExecutionInput['trigger']['properties'] = {};
    for (const p of journey.triggerProperties) {
      const v = detail.properties[p];
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') properties[p] = v;
    }
    const input: ExecutionInput = { journeyId: journey.id, journeyVersion: journey.version, customerId, trigger: { messageId: detail.messageId, event: event['detail-type'], properties } };
    const started = await executions.start(journey.id, name, input);
    // Write, then check (erasure, see ProfileStore.erase): the run and the execution are out; if the customer
    // was erased meanwhile (and this is not their new profile's run, triggered by an event of that new life),
    // the eraser's stop and query may have missed them: stop the execution and delete the run and its lock.
    const tombstone = await profiles.tombstone(customerId, clock.now());
    if (tombstone && (tombstone.erasedAt !== (await profiles.get(customerId))?.rebornAfter || !belongsAfter(detail, tombstone))) {
      await stopExecution(journey.id, name, 'customer erased');
      await profiles.undoWrites([
        { pk: `C#${customerId}`, sk: `R#${journey.id}#${name}` },
        { pk: `C#${customerId}`, sk: `L#${journey.id}#${key}` },
      ]);
      log('journey start for an erased customer undone', { journeyId: journey.id, customerId, executionName: name });
      return { journeyId: journey.id, status: 'skipped', reason: 'no-profile' };
    }
    // A goal event that landed between the trigger and this start found no run to stop
    // (the router had nothing to end yet): look for it on the profile now. Later goal
    // events find the run, so between the two every conversion is caught once.
    const latest = (await profiles.get(customerId))?.profile;
    const goal = latest && (await goalReachedSince(journey, latest, customerId, detail));
    if (goal && (await endRun({ customerId, journeyId: journey.id, executionName: name, key }, 'converted', { endedBy: goal }))) {
      await stopExecution(journey.id, name, `goal: ${goal.name} (${goal.messageId}) before the run started`);
      log('journey goal reached before start', { journeyId: journey.id, customerId, executionName: name });
    }
    log('journey entered', { journeyId: journey.id, customerId, executionName: name, started, retried: existing !== undefined });
    return { journeyId: journey.id, status: existing || started === 'exists' ? 'duplicate' : 'started', executionName: name };
  }

  /**
   * A goal event of the journey dated at or after the trigger (not the trigger itself): "converted since the
   * trigger", by event time. The profile's recent events reach back 90 days; imported history reaches further,
   * so the customer's timeline (kept `timelineRetentionDays`) is read from the trigger's time on too.
   */
  async function goalReachedSince(journey: JourneySpec, profile: Profile, customerId: string, trigger: NormalisedEvent): Promise<{ name: string; messageId: string; sourceId?: string | undefined } | undefined> {
    if (journey.goalPatterns.length === 0) return undefined;
    const isGoal = (e: { messageId: string; sourceId?: string; at: string; name: string; properties: Record<string, unknown> }) => {
      if (isSameEvent(e, trigger) || e.at < trigger.timestamp) return false;
      const asBusEvent = { source: INGEST_EVENT_SOURCE, 'detail-type': e.name, detail: { type: 'track', event: e.name, userId: customerId, messageId: e.messageId, timestamp: e.at, properties: e.properties } };
      return journey.goalPatterns.some((p) => matchesEventPattern(p, asBusEvent));
    };
    const recent = profile.recentEvents.find(isGoal);
    if (recent) return recent;
    for (const e of await profiles.eventsFrom(customerId, trigger.timestamp, clock.now())) {
      if (e.type !== 'track' || e.event === undefined) continue;
      if (isGoal({ messageId: e.messageId, sourceId: e.sourceId, at: e.timestamp, name: e.event, properties: e.properties })) return { name: e.event, messageId: e.messageId, sourceId: e.sourceId };
    }
    return undefined;
  }

  /** Enrol the event's customer in every journey one of whose `patterns` it matches. */
  async function enrolAll(event: BusEventLike, patterns: (journey: JourneySpec) => EventPattern[]): Promise<EnrolOutcome[]> {
    const detail = event.detail as NormalisedEvent;
    const outcomes: EnrolOutcome[] = [];
    for (const journey of deps.journeys) {
      if (patterns(journey).some((p) => matchesEventPattern(p, event))) outcomes.push(await enrol(journey, event, detail));
    }
    return outcomes;
  }

  /**
   * Starter (target of the trigger rules): enrol the customer of a derived event (Tag Added, ...) in every
   * journey it triggers. A customer event is the profile consumer's to enrol (`applied`): ignored here.
   */
  function start(event: BusEventLike): Promise<EnrolOutcome[]> {
    return enrolAll(event, (journey) => journey.triggerPatterns.filter(isStarterPattern));
  }

  /**
   * The profile consumer, after it applied a customer event (also on a redelivery, to finish what a crashed
   * attempt left): the router ends and resumes the customer's runs (`route`), then the customer is enrolled in
   * every journey the event triggers. The profile holds the event, whatever order the bus delivered things
   * in; a redelivery starts nothing twice (deterministic execution names).
   */
  async function applied(event: BusEventLike, customerId: string, ids?: readonly string[]): Promise<Awaited<ReturnType<typeof route>> & { enrolled: EnrolOutcome[] }> {
    const routed = await route(event, customerId, ids);
    const patterns = (journey: JourneySpec) => journey.triggerPatterns.filter((p) => !isStarterPattern(p));
    if (deps.journeys.some((journey) => patterns(journey).some((p) => matchesEventPattern(p, event)))) await precedingApplied(event.detail as NormalisedEvent, customerId);
    const enrolled = await enrolAll(event, patterns);
    return { ...routed, enrolled };
  }

  /**
   * Before a trigger enrols: the customer's events that came before it in the same request (`precededBy`, e.g. the
   * identify carrying the email sent with a Signed Up) are on the profile. The bus keeps no order, so one may still
   * be on its way: woken by this store's writes for a second (on virtual time, until no other work is in flight: the
   * event's delivery is then a timer on the clock, which cannot fire while this waits), then the invocation fails and
   * Lambda retries it a minute later. Past PRECEDING_WAIT_MS after receipt it enrols as things are (a preceding event that never comes).
   */
  async function precedingApplied(detail: NormalisedEvent, customerId: string): Promise<void> {
    const ids = detail.precededBy ?? [];
    if (ids.length === 0) return;
    const missing = async () => {
      const stored = await profiles.get(customerId);
      return stored ? ids.filter((messageId) => !stored.applied.includes(eventMark({ sourceId: detail.sourceId, messageId }))) : ids;
    };
    const until = Date.now() + 1000;
    let left = await missing();
    while (left.length > 0 && Date.now() < until) {
      const written = await profiles.nextWrite(customerId, Math.max(1, until - Date.now()));
      left = await missing();
      // Timed out, or (on virtual time) nothing else could write it before time moves.
      if (!written) break;
    }
    if (left.length === 0) return;
    if (clock.now().getTime() - Date.parse(detail.receivedAt) < PRECEDING_WAIT_MS) {
      throw new PrecedingEventsPending(`${left.length} event(s) sent before ${detail.messageId} in its request are not on the profile yet (${left.join(', ')}): enrolment is retried`);
    }
    log('trigger enrolled without the events sent before it', { customerId, messageId: detail.messageId, missing: left.length });
  }

  /**
   * Router: resume the runs waiting for this event (unless their journey exits on it), then stop runs whose
   * goal (conversion) or exit this event is — wherever they are — but for a goal, those it just resumed.
   */
  async function route(event: BusEventLike, customerId: string, known?: readonly string[]): Promise<{ resumed: number; converted: number; exited: number; stopped?: number }> {
    const detail = event.detail as NormalisedEvent;
    const matches = (p: EventPattern) => matchesEventPattern(p, event);
    // Most events end, resume and stop nothing: they cost no read (the common case of every page view).
    const awaitedEvent = awaited === undefined || awaited.has(event['detail-type']);
    const conversion = detail.sourceId !== PROFILE_EVENT_SOURCE && conversionEvents.has(event['detail-type']);
    if (detail.type !== 'alias' && !awaitedEvent && !conversion && !everyVersion.some((j) => j.goalPatterns.some(matches) || j.exitPatterns.some(matches))) return { resumed: 0, converted: 0, exited: 0 };
    // The profile consumer knows them from the write it just made (`known`); otherwise read.
    const ids = known ?? (await idsOf(customerId));
    if (conversion) await attribute(event, customerId, ids);
    // An alias joined two customers: of two runs of one journey (and key), the older goes on.
    const stopped = detail.type === 'alias' ? await stopJoinedDuplicates(ids) : 0;
    const isGoal = (journey: JourneySpec) => journey.goalPatterns.some(matches);
    const isExit = (journey: JourneySpec) => !isGoal(journey) && journey.exitPatterns.some(matches);
    // The journeys some version of which this event ends: each run then goes by its own version's goals and exits.
    const endingIds = [...new Set(everyVersion.filter((journey) => isGoal(journey) || isExit(journey)).map((journey) => journey.id))];
    // One Query per id for the runs of every journey the event may end (an order is the goal of several) and, for an
    // event some wait is for, of every journey: a wait is its run's, recorded running before its execution starts.
    const runs = endingIds.length === 0 && !awaitedEvent ? [] : await runsOfAll(ids, endingIds.length === 1 && !awaitedEvent ? endingIds[0] : undefined);
    // A run waiting for this event (wait_for) resumes first, and its on_event runs: a wait_for wins over a goal
    // on the same event while it waits ("converted after our message" is then the journey's own branch). An
    // exit still stops it wherever it is: a run its journey exits on this event is not resumed.
    // No run running (as read after the event was applied): no wait to resume. A run recorded after that read writes its
    // wait after it too, and a wait step reads the timeline after writing its wait (write, then check), so finds the event.
    let resumed = 0;
    const resumedRuns = new Set<string>();
    if (awaitedEvent && runs.some((r) => r.status === 'running')) for (const id of ids) {
      for (const wait of await records.waitsFor(id, event['detail-type'])) {
        if (!matchesEventPattern(wait.pattern, event)) continue;
        const run = runs.find((r) => r.journeyId === wait.journeyId && r.executionName === wait.executionName);
        const journey = run ? specOf(run) : byId.get(wait.journeyId);
        if (journey !== undefined && isExit(journey)) continue;
        if (!(await records.takeWait(id, wait))) continue;
        // Who is where: on to its on_event step (a wait there has no handler to say so), before the run goes on.
        if (wait.then !== undefined) await records.moveTo(id, wait.journeyId, wait.executionName, wait.then, clock.now().toISOString());
        if (await executions.sendTaskSuccess(wait.taskToken, { event: event['detail-type'], messageId: detail.messageId })) {
          resumed++;
          resumedRuns.add(wait.executionName);
        }
      }
    }
    let converted = 0;
    let exited = 0;
    for (const journeyId of endingIds) {
      for (const run of runs.filter((r) => r.journeyId === journeyId)) {
        const journey = specOf(run);
        if (journey === undefined || !(isGoal(journey) || isExit(journey))) continue;
        const goal = isGoal(journey);
        const outcome = goal ? 'converted' : 'exited';
        if (goal && resumedRuns.has(run.executionName)) continue;
        if (isSameEvent({ messageId: run.triggerMessageId, sourceId: run.triggerSourceId }, detail)) continue;
        // Goals and exits count from the trigger on, by event time: imported history arrives in any order.
        if (run.triggeredAt !== undefined && detail.timestamp < run.triggeredAt) continue;
        if (run.status === 'holdout') {
          // A held customer (the holdout got no messages and its execution has ended) still converts, once,
          // while held: `goal` counts every conversion, `holdout.goal` those of the holdout (the lift's baseline).
          if (goal && (await records.convertHeld(customerId, journey.id, run.executionName, eventRef(detail), clock.now().toISOString()))) {
            await records.count(journey.id, { goal: 1, 'holdout.goal': 1 }, run.version);
            converted++;
            log('journey goal reached in the holdout', { journeyId: journey.id, customerId, executionName: run.executionName });
          }
          continue;
        }
        if (run.status === 'completed') {
          // Completed (its last step done, often a send): a goal within the journey's attribution window after it
          // still converts it, whether or not a wait followed the last send. Once; moved from completed to goal.
          const window = journey.attribution?.windowSeconds;
          const endedAt = run.endedAt === undefined ? Number.NaN : Date.parse(run.endedAt);
          if (goal && window !== undefined && Date.parse(detail.timestamp) - endedAt <= window * 1000 && (await records.convertCompleted(customerId, journey.id, run.executionName, eventRef(detail), clock.now().toISOString()))) {
            await records.count(journey.id, { goal: 1, completed: -1, 'completed.goal': 1 }, run.version);
            converted++;
            log('journey goal reached after the run completed', { journeyId: journey.id, customerId, executionName: run.executionName });
          }
          continue;
        }
        if (run.status === 'running') {
          // With the event's time: if the execution turns out to have ended before it, its late news corrects the run.
          if (!(await endRun(run, outcome, { endedBy: { ...eventRef(detail), timestamp: detail.timestamp } }))) continue;
          if (goal) converted++;
          else exited++;
        } else if (!(run.status === outcome && run.endedBy !== undefined && isSameEvent({ messageId: run.endedBy, sourceId: run.endedBySourceId }, detail))) continue;
        // The run is marked first, so the execution's own end (ABORTED) cannot record it as merely stopped.
        // If this stop fails the event is redelivered, finds the run ended by it, and stops it again;
        // meanwhile every send step finds its run ended and sends nothing.
        await stopExecution(journey.id, run.executionName, `${goal ? 'goal' : 'exit'}: ${event['detail-type']} (${detail.messageId})`);
      }
    }
    return { resumed, converted, exited, ...(stopped > 0 && { stopped }) };
  }

  /**
   * Credit a conversion (an event some journey's attribution counts) to the last message sent to the customer
   * (under any of their ids) within that message's journey's window before it, by event time (last touch; a
   * message sent after the conversion, e.g. imported history, earns nothing). Once per conversion event, across
   * redeliveries and crashes (`creditConversion`); the credit, once written, stands.
   */
  async function attribute(event: BusEventLike, customerId: string, ids: readonly string[]): Promise<void> {
    const detail = event.detail as NormalisedEvent;
    const key = eventKey(detail);
    // Credited before under any id of theirs (an alias may have joined the customer since): that credit stands.
    for (const id of ids) {
      const existing = await records.attribution(id, key);
      if (!existing) continue;
      if (existing.pending) await creditUnlessErased(id, key, existing);
      return;
    }
    const at = Date.parse(detail.timestamp);
    let last: (MessageRecord & { of: string }) | undefined;
    for (const m of (await Promise.all(ids.map(async (id) => (await records.messages(id)).map((message) => ({ ...message, of: id }))))).flat()) {
      // A broadcast's message carries its rule; a journey's earns by its journey's.
      const window = m.attribution ?? byId.get(m.journeyId)?.attribution;
      if (m.status !== 'sent' || window?.event !== event['detail-type']) continue;
      const sentAt = Date.parse(m.at);
      if (sentAt > at || at - sentAt > window.windowSeconds * 1000) continue;
      if (!last || m.at > last.at || (m.at === last.at && `${m.executionName}#${m.stepId}` > `${last.executionName}#${last.stepId}`)) last = m;
    }
    if (!last) return;
    const valueProperty = (last.attribution ?? byId.get(last.journeyId)?.attribution)?.value;
    const properties = detail.properties ?? {};
    const value = valueProperty === undefined ? orderAmount(properties) : orderAmount({ value: properties[valueProperty] });
    await creditUnlessErased(customerId, key, { journeyId: last.journeyId, stepId: last.stepId, channel: last.channel, executionName: last.executionName, messageAt: last.at, convertedAt: detail.timestamp, value, ...(last.variant !== undefined && { variant: last.variant, messageOf: last.of }) });
    log('conversion credited', { customerId, journeyId: last.journeyId, stepId: last.stepId, messageId: detail.messageId });
  }

  /**
   * `creditConversion`, then erasure's writer half (write, then check; see ProfileStore.erase): a credit written
   * after the eraser's query, for a customer erased meanwhile (not their new life), is deleted.
   */
  async function creditUnlessErased(customerId: string, key: string, record: AttributionRecord): Promise<void> {
    await records.creditConversion(customerId, key, record);
    if (await profiles.erasedNow(customerId, clock.now())) await profiles.undoWrites([{ pk: `C#${customerId}`, sk: attributionSortKey(key) }]);
  }

  /**
   * After an alias joined customers: where runs of one journey and key are running under more than one
   * of the joined ids, the run that started first goes on (with its lock, under the id it started with)
   * and the others are stopped (`stopped`, their locks freed). Idempotent: a redelivered alias finds one
   * run left.
   */
  async function stopJoinedDuplicates(ids: readonly string[]): Promise<number> {
    const running = (await runsOfAll(ids)).filter((r) => r.status === 'running');
    const byKey = new Map<string, RunRecord[]>();
    for (const run of running) byKey.set(`${run.journeyId}\n${run.key}`, [...(byKey.get(`${run.journeyId}\n${run.key}`) ?? []), run]);
    let stopped = 0;
    for (const runs of byKey.values()) {
      const [, ...later] = runs.sort((a, b) => (a.startedAt < b.startedAt ? -1 : a.startedAt > b.startedAt ? 1 : a.executionName < b.executionName ? -1 : 1));
      for (const run of later) {
        // Marked first, as a goal does: a step under way finds its run ended and sends nothing.
        if (await endRun(run, 'stopped')) stopped++;
        await executions.stop(run.journeyId, run.executionName, 'customers joined by alias: an older run of this journey goes on');
        log('journey run stopped: customers joined', { journeyId: run.journeyId, customerId: run.customerId, executionName: run.executionName });
      }
    }
    return stopped;
  }

  /** Record a run's end once (whoever comes first: the goal router, the execution's own end, erasure) and free its lock. */
  async function endRun(
    run: Pick<RunRecord, 'customerId' | 'journeyId' | 'executionName' | 'key'>,
    status: 'completed' | 'converted' | 'exited' | 'stopped' | 'failed' | 'holdout',
    { exitReason, endedBy, holdSeconds }: { exitReason?: string | undefined; endedBy?: EventRef & { timestamp?: string }; holdSeconds?: number } = {},
  ): Promise<boolean> {
    const now = clock.now();
    const heldUntil = status === 'holdout' ? new Date(now.getTime() + (holdSeconds ?? 0) * 1000).toISOString() : undefined;
    // Ended by an event with its time: due to be checked until its execution's end is known (see `reconcile`).
    const checkEndAt = endedBy?.timestamp !== undefined ? new Date(now.getTime() + RECONCILE_ENDED_BY_EVENT_SECONDS * 1000) : undefined;
    const ended = await records.endRun(run.customerId, run.journeyId, run.executionName, status, now.toISOString(), endedBy, heldUntil, checkEndAt);
    if (!ended) return false;
    await records.unlock(run.customerId, run.journeyId, run.key, run.executionName);
    // A send or webhook claimed and not finished when the run ended stays unknown, not in progress.
    const abandoned = await records.abandonClaims(run.customerId, run.executionName, `run ${status} while the send was under way: it may have gone out`, now.toISOString());
    if (abandoned > 0) log('journey sends left unknown: their run ended', { journeyId: run.journeyId, customerId: run.customerId, executionName: run.executionName, abandoned });
    // One counter write: the outcome and, for an exit step, its reason (`exited.<reason>`) move together.
    await records.count(run.journeyId, { [status === 'converted' ? 'goal' : status]: 1, ...(status === 'exited' && exitReason ? { [`exited.${exitReason}`]: 1 } : {}) }, ended.version);
    return true;
  }

  /**
   * An execution ended on its own (Step Functions status change): completed, failed, or aborted by us.
   * `stoppedAt` (the status change's `stopDate`) is when it ended: news that comes late finds the run already
   * ended by a goal or exit event dated after that (the router saw it running), and records the end it had.
   * Such a run's end is then known: it leaves the run index. True when it corrected the run's end.
   */
  async function executionEnded(
    journeyId: string,
    customerId: string,
    name: string,
    status: 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT',
    output?: unknown,
    stoppedAt?: Date,
  ): Promise<boolean> {
    const run = (await records.runs(customerId, journeyId)).find((r) => r.executionName === name);
    if (!run) return false;
    // An `exit` step leaves its outcome in the output (`end`): `exit: goal` is a conversion, any other exit an exit;
    // a split's holdout group leaves `holdout` and how long its customer stays held (a goal meanwhile still counts).
    const end = (output as { end?: { outcome?: unknown; reason?: unknown; holdSeconds?: unknown } } | null | undefined)?.end;
    const outcome = status === 'SUCCEEDED' && (end?.outcome === 'converted' || end?.outcome === 'exited' || end?.outcome === 'holdout') ? end.outcome : undefined;
    const holdSeconds = typeof end?.holdSeconds === 'number' ? end.holdSeconds : 0;
    const recorded = await endRun(run, outcome ?? (status === 'SUCCEEDED' ? 'completed' : status === 'ABORTED' ? 'stopped' : 'failed'), {
      exitReason: typeof end?.reason === 'string' ? end.reason : undefined,
      holdSeconds,
    });
    // Ended before (a goal, a stop, an earlier delivery of this end): whoever ended it freed the lock, unless it
    // died in between. The lock is this execution's (conditional delete), and its execution is over: free it.
    if (!recorded) await records.unlock(run.customerId, run.journeyId, run.key, run.executionName);
    // The news came late: a goal or exit event dated after the execution had ended found the run still running and
    // ended it. The run had ended on its own: record that end (and move the count from the event's outcome to it).
    let corrected = false;
    if (!recorded && status === 'SUCCEEDED' && outcome !== 'holdout' && stoppedAt !== undefined) {
      const own = outcome ?? 'completed';
      const replaced = await records.endedBeforeItsEvent(customerId, journeyId, name, stoppedAt.toISOString(), own);
      corrected = replaced !== undefined;
      if (replaced !== undefined) {
        const counter = (s: 'completed' | 'exited' | 'converted') => (s === 'converted' ? 'goal' : s);
        const reason = own === 'exited' && typeof end?.reason === 'string' ? { [`exited.${end.reason}`]: 1 } : {};
        await records.count(journeyId, { [counter(replaced)]: -1, [counter(own)]: 1, ...reason }, run.version);
        log('journey run ended before the event that ended it: its own end recorded', { journeyId, customerId, executionName: name, replaced, status: own });
      }
    }
    // The goal came while the run was on its way to the holdout (the router ended it as converted, `goal` counted,
    // and its stop came too late): it is a holdout run that converted while held.
    if (!recorded && outcome === 'holdout') {
      const heldUntil = new Date(clock.now().getTime() + holdSeconds * 1000).toISOString();
      if (await records.convertedToHeld(customerId, journeyId, name, heldUntil)) await records.count(journeyId, { holdout: 1, 'holdout.goal': 1 }, run.version);
    }
    // A run an event ended waited in the run index for this news: its end is known, it leaves (once corrected, it has).
    if (!recorded && !corrected && run.endedByAt !== undefined && inRunIndex(run)) await records.leaveRunIndex(customerId, journeyId, name);
    return corrected;
  }

  /**
   * Stop an execution. One Step Functions does not know (its run was recorded, its StartExecution never
   * went through) is as good as stopped: its run is marked ended first, so a start retried later finds it
   * ended and does not start it (or, erased, is stopped by the starter's own check).
   */
  async function stopExecution(journeyId: string, name: string, cause: string): Promise<void> {
    try {
      await executions.stop(journeyId, name, cause);
    } catch (error) {
      if (!isExecutionMissing(error)) throw error;
      log('journey execution to stop does not exist', { journeyId, executionName: name });
    }
  }

  /** Stop every running journey of a customer (erasure): nothing is sent after it. */
  async function stopAll(customerId: string, cause: string): Promise<number> {
    let stopped = 0;
    for (const run of await records.runs(customerId)) {
      if (run.status !== 'running') continue;
      // Stop the execution first: if that fails the run still reads 'running', so a retry stops it.
      await stopExecution(run.journeyId, run.executionName, cause);
      await endRun(run, 'stopped'); // false when the execution's own end (ABORTED) recorded it first
      stopped++;
    }
    return stopped;
  }

  /**
   * The reconciling sweep: the end of a run is news of a best-effort event (Step Functions "Execution Status
   * Change"), which can be lost, as can the run-ended function's last retry. Runs still running a day after
   * they started are checked against Step Functions (DescribeExecution): one whose execution has ended is
   * ended as that event would have (`executionEnded`: outcome counted, lock freed); one still running is
   * checked again later (after as long as it has run, at most a week); one Step Functions does not know is
   * ended as failed once its start can no longer come (`START_GRACE_SECONDS`). A run a goal or exit event ended
   * whose status change has not come (lost, or late) is in the index too (`RECONCILE_ENDED_BY_EVENT_SECONDS`):
   * once its execution has ended, the end it had is recorded if it came before the event (`executionEnded` with
   * DescribeExecution's stopDate: the same correction as the late news), and it leaves the index. At most
   * `limitPerShard` runs of each index shard per pass, oldest first: the rest at the next.
   */
  async function reconcile(limitPerShard = 1000): Promise<ReconcileOutcome> {
    const now = clock.now();
    const outcome: ReconcileOutcome = { checked: 0, ended: 0, failed: 0 };
    let corrected = 0;
    for (const ref of await records.runsToCheck(now, limitPerShard)) {
      try {
        const run = await records.getRun(ref.customerId, ref.journeyId, ref.executionName);
        // Gone, or left the index meanwhile (the index lags its table): nothing to check.
        if (run === undefined || !inRunIndex(run)) continue;
        const age = now.getTime() - Date.parse(run.startedAt);
        const later = () => records.checkRunAgain(run, new Date(now.getTime() + Math.min(Math.max(age, RECONCILE_FIRST_CHECK_SECONDS * 1000), RECONCILE_MAX_INTERVAL_SECONDS * 1000)));
        if (run.status !== 'running') {
          // Ended by an event, its execution's end unknown: known now, unless the execution is still stopping.
          if (run.endedByAt === undefined) continue;
          outcome.checked++;
          const state = await executions.describe(run.journeyId, run.executionName);
          if (state?.status === 'RUNNING' || state?.status === 'PENDING_REDRIVE') await later();
          else if (state === undefined) await records.leaveRunIndex(run.customerId, run.journeyId, run.executionName);
          else if (await executionEnded(run.journeyId, run.customerId, run.executionName, state.status, state.output, state.stoppedAt)) {
            corrected++;
            log('journey run ended before the event that ended it, its end unreported: the reconciling sweep recorded it', { journeyId: run.journeyId, customerId: run.customerId, executionName: run.executionName });
          }
          continue;
        }
        outcome.checked++;
        const state = await executions.describe(run.journeyId, run.executionName);
        if (state === undefined) {
          if (age < START_GRACE_SECONDS * 1000) await later();
          else if (await endRun(run, 'failed')) {
            outcome.ended++;
            log('journey run ended by the reconciling sweep: its execution never started', { journeyId: run.journeyId, customerId: run.customerId, executionName: run.executionName });
          }
        } else if (state.status === 'RUNNING' || state.status === 'PENDING_REDRIVE') {
          await later();
        } else {
          await executionEnded(run.journeyId, run.customerId, run.executionName, state.status, state.output, state.stoppedAt);
          outcome.ended++;
          log('journey run ended by the reconciling sweep: its end was not reported', { journeyId: run.journeyId, customerId: run.customerId, executionName: run.executionName, status: state.status });
        }
      } catch (error) {
        // One run's failure holds up no other: it stays due, and the next pass checks it again.
        outcome.failed++;
        log('journey run could not be reconciled', { journeyId: ref.journeyId, customerId: ref.customerId, executionName: ref.executionName, error: String((error as Error)?.message ?? error) });
      }
    }
    return { ...outcome, ...(corrected > 0 && { corrected }) };
  }

  /**
   * A customer event the profile consumer dropped (`reason` 'erased': an event of an erased life): it starts
   * nothing, and every journey it triggers counts the skip (`skipped.erased`, once per delivery).
   */
  async function dropped(event: BusEventLike, reason: string): Promise<EnrolOutcome[]> {
    if (reason !== 'erased') return [];
    const outcomes: EnrolOutcome[] = [];
    for (const journey of deps.journeys) {
      if (journey.triggerPatterns.filter((p) => !isStarterPattern(p)).some((p) => matchesEventPattern(p, event))) outcomes.push(await skip(journey, 'erased'));
    }
    return outcomes;
  }

  return { start, applied, dropped, route, executionEnded, reconcile, stopAll, journeys: byId };
}
