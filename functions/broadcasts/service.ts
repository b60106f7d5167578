import { DEPLOYED_CHANNELS, unknownTopicMessage, type Clock, type TopicDefault, type Topics } from '../../shared';
import type { BroadcastChannel } from '../../shared/broadcasts';
import { atSpan, broadcastAttribution, isLocalAt, localAtParts, parseBroadcast, type Broadcast, type BroadcastProblem } from '../../shared/broadcasts';
import { isValidTimeZone, zonedToUtc } from '../journeys/time';
import { attributionView } from '../journeys/attribution';
import type { PageCursor, ProfileStore } from '../profile';
import { isDeliveryOutcomeUnknown, SendOutcomeUnknownError, TemplateRenderError } from '../journeys/errors';
import type { GatewayOutcome, SendGateway } from '../journeys/gateway';
import type { JourneyStore } from '../journeys/store';
import type { BroadcastLanes } from './lanes';
import { InvalidListCursorError, type BroadcastRecord, type BroadcastStore, type PageCounters } from './store';


/**
 * A broadcast's fan-out, one page at a time: the state machine (workflows/broadcasts/asl.ts) calls `page`
 * with the state it returned last, and waits as it says (`waitSeconds` for the rate, `waitUntil` for the
 * deferred recipients' next due time) until it says `done`. The state carries the broadcast's id, counts
 * and times, never a customer's id: a page's cursor names a customer, so it is kept in the table
 * (functions/profile/broadcast-cursor.ts), where erasure rewinds it, not in history.
 */
export interface PageState {
  broadcastId: string;
  /** The broadcast's `at`, for the state machine's first Wait (not read here). */
  at?: string;
  /** `members`: the segment's members, page by page; then `deferred`: the recipients the gateway deferred, when due. */
  phase: 'members' | 'deferred';
  /** Where the next page starts, in a state written before cursors were kept in the table (never written now). */
  cursor?: string;
  /** The deferred pass in progress takes the recipients due by then. */
  dueBy?: string;
  /** The earliest due time seen in this deferred pass that was not due by `dueBy`. */
  nextDue?: string;
  /** Pages counted so far (in the broadcast's record, in the same write as the page's counters). */
  page: number;
  /** The execution's generation (a long broadcast goes on in a new execution every GENERATION_PAGES pages). */
  generation: number;
  pagesThisGeneration: number;
  /** Wait this long before the next page (the rate). */
  waitSeconds?: number;
  /** Wait until then before the next page (deferred recipients not due yet). */
  waitUntil?: string;
  /** Nothing more to do (completed, cancelled, or continued in the next generation). */
  done?: boolean;
}

/** Starts a broadcast's execution, idempotent on its name (Step Functions Standard's StartExecution). */
export interface BroadcastExecutions {
  start(name: string, input: PageState): Promise<'started' | 'exists'>;
}

/** What the API needs (create, read, cancel). */
export interface BroadcastApiDeps {
  store: BroadcastStore;
  executions: BroadcastExecutions;
  clock: Clock;
  /** Whether a template exists for a channel: a broadcast naming none is refused at once (400). Absent: not checked. */
  templateExists?: (channel: BroadcastChannel, template: string) => boolean;
  /**
   * The channels this deployment has no sender for (their deployment setting is not given): a broadcast on one is
   * refused at once (400 naming `$.send.channel` and the setting), not failed recipient by recipient. Absent: none.
   */
  undeployedChannels?: ReadonlySet<string>;
  /**
   * The events the journey router credits as conversions (`conversionEventsOf`): a broadcast's `attribution.event`
   * must be one of them, or its messages would never earn (400). Absent: not checked.
   */
  conversionEvents?: ReadonlySet<string>;
  /** The declared subscription topics (topics.yaml): a broadcast's `topic` must be one (400 naming `$.topic`). Absent: not checked. */
  topics?: Topics;
  /** The counters of a broadcast's messages (`JourneyStore.stats` of `broadcast:<id>`: the router's credits). Absent: no attribution shown. */
  attributionCounters?: (journeyId: string) => Promise<Record<string, number>>;
}

/** What the page function needs besides: the profiles and segments, the message records and the send gateway. */
export interface BroadcastDeps extends BroadcastApiDeps {
  profiles: ProfileStore;
  /** The message records (a failed recipient is recorded as failed there). */
  journeys: JourneyStore;
  gateway: SendGateway;
  /** The time zone of a customer without a valid `timezone` trait (the send policy's `defaultTimeZone`): a wall-clock `at` is theirs then. */
  defaultTimeZone: string;
  /** The channels' token buckets, shared by all broadcasts (`broadcastRates`). Absent: no limit but each broadcast's own `rate`. */
  lanes?: BroadcastLanes;
}

/** How far ahead `at` may be: a Standard execution lives at most a year, and the sending comes after the wait. */
export const AT_MAX_DAYS = 330;

/** Recipients of a page without `rate`. */
export const PAGE_SIZE = 200;
/** Recipients of a page at most (a fast `rate`). */
export const PAGE_SIZE_MAX = 1_000;
/** Recipients one page works on at once. */
export const PAGE_CONCURRENCY = 8;
/**
 * Pages per execution: then the broadcast goes on in a new one. A page is about 10 history events (Task,
 * Choice, Wait), and a Standard execution holds 25,000.
 */
export const GENERATION_PAGES = 2_000;

/** The message key of a broadcast's recipient: the record `M#broadcast:<id>#send` in the customer's partition. */
export const broadcastMessageKey = (id: string) => ({ journeyId: `broadcast:${id}`, executionName: `broadcast:${id}`, stepId: 'send' });
/** The execution of a broadcast (and of its later generations). */
export const broadcastExecutionName = (id: string, generation = 0) => (generation === 0 ? `broadcast-${id}` : `broadcast-${id}-g${generation}`);

/** How many recipients a page takes, and how long it should last at least (the rate). */
export function pacing(rate: number | undefined): { size: number; periodSeconds?: number } {
  if (rate === undefined) return { size: PAGE_SIZE };
  if (rate >= 1) {
    const size = Math.min(PAGE_SIZE_MAX, Math.floor(rate));
    return { size, periodSeconds: size / rate };
  }
  return { size: 1, periodSeconds: 1 / rate };
}

export type BroadcastApiResult = { status: number; body: Record<string, unknown> };

/** The broadcast API: create (and start), read, cancel. */
export function createBroadcastApi(deps: BroadcastApiDeps) {
  const { store, clock } = deps;

  /** `POST /v1/broadcasts`: create (idempotent on id) and start. */
  async function create(body: unknown): Promise<BroadcastApiResult> {
    const parsed = parseBroadcast(body);
    if (!parsed.ok) return invalid(parsed.problems);
    const definition = parsed.broadcast;
    // A Standard execution lives at most a year: the wait for `at` and the sending after it must fit.
    if (definition.at !== undefined && atSpan(definition.at).last.getTime() > clock.now().getTime() + AT_MAX_DAYS * 86_400_000) {
      return invalid([{ path: '$.at', message: `expected a time within ${AT_MAX_DAYS} days from now (a broadcast's execution lives at most a year)` }]);
    }
    // A wall-clock `at` is sent at that time in every customer's zone: it must still be ahead in the earliest one.
    if (definition.at !== undefined && isLocalAt(definition.at) && atSpan(definition.at).first.getTime() < clock.now().getTime() && !(await store.get(definition.id))) {
      return invalid([{ path: '$.at', message: `expected a time still ahead in every time zone: the earliest (UTC+14) reached ${definition.at} at ${atSpan(definition.at).first.toISOString()}; give a later time, or a zone for one instant` }]);
    }
    if (definition.attribution !== undefined && deps.conversionEvents !== undefined && !deps.conversionEvents.has(definition.attribution.event)) {
      const known = [...deps.conversionEvents].sort().map((e) => JSON.stringify(e)).join(', ');
      return invalid([{ path: '$.attribution.event', message: `expected an event the journeys credit as a conversion (${known}); a journey's attribution adds one` }]);
    }
    if (deps.undeployedChannels?.has(definition.send.channel)) {
      const setting = DEPLOYED_CHANNELS.find((c) => c.id === definition.send.channel);
      const how = setting === undefined ? '' : `: it needs the ${setting.context} setting: ${setting.hint}`;
      return invalid([{ path: '$.send.channel', message: `this deployment sends no ${setting?.label ?? definition.send.channel}${how}` }]);
    }
    if (deps.templateExists && !deps.templateExists(definition.send.channel, definition.send.template)) {
      return invalid([{ path: '$.send.template', message: `no ${definition.send.channel} template "${definition.send.template}" in workflows/templates (${definition.send.template}.${definition.send.channel}.liquid)` }]);
    }
    const topic = definition.topic === undefined ? undefined : deps.topics?.get(definition.topic);
    if (definition.topic !== undefined && deps.topics !== undefined && topic === undefined) return invalid([{ path: '$.topic', message: unknownTopicMessage(definition.topic, deps.topics) }]);
    if (definition.topic !== undefined && definition.send.kind === 'transactional') {
      return invalid([{ path: '$.topic', message: 'a transactional broadcast ignores topics: give a topic to a marketing broadcast only' }]);
    }
    const { created, record } = await store.create(definition, clock.now(), topic?.default);
    if (!created && canonical(record.definition) !== canonical(definition)) {
      return { status: 409, body: { error: 'broadcast_conflict', message: `broadcast "${definition.id}" exists with another definition; a broadcast is sent once: give this one another id`, broadcast: view(record) } };
    }
    // Started unless it already was (a retried POST after a failed start starts it; the name makes a second start a no-op).
    if (record.status === 'scheduled') {
      // A wall-clock `at` starts when the earliest time zone reaches it; each recipient then waits for their own.
      const at = definition.at === undefined ? undefined : atSpan(definition.at).first.toISOString();
      await deps.executions.start(broadcastExecutionName(definition.id), { broadcastId: definition.id, ...(at !== undefined && { at }), phase: 'members', page: 0, generation: 0, pagesThisGeneration: 0 });
    }
    return { status: created ? 201 : 200, body: view(record) };
  }

  /** `GET /v1/broadcasts?limit=&cursor=`: the broadcasts, newest first, a page at a time (`next`: the following page's cursor). */
  async function list(limit: number, cursor?: string): Promise<BroadcastApiResult> {
    try {
      const page = await store.list(limit, cursor);
      return { status: 200, body: { broadcasts: page.broadcasts.map(view), ...(page.next !== undefined && { next: page.next }) } };
    } catch (error) {
      if (error instanceof InvalidListCursorError) return { status: 400, body: { error: 'invalid_cursor', message: `cursor: ${error.message}` } };
      throw error;
    }
  }

  /** `GET /v1/broadcasts/{id}`: with what its messages earned (`attribution`), when the counters are at hand. */
  async function get(id: string): Promise<BroadcastApiResult> {
    const record = await store.get(id);
    if (!record) return notFound(id);
    if (!deps.attributionCounters) return { status: 200, body: view(record) };
    const counters = await deps.attributionCounters(broadcastMessageKey(id).journeyId);
    return { status: 200, body: { ...view(record), attribution: attributionView(counters, broadcastAttribution(record.definition)) } };
  }

  /** `DELETE /v1/broadcasts/{id}`: cancel. Nobody the broadcast has not reached yet gets it. */
  async function cancel(id: string): Promise<BroadcastApiResult> {
    await store.transition(id, ['scheduled', 'running'], 'cancelled', clock.now());
    const record = await store.get(id);
    if (!record) return notFound(id);
    if (record.status === 'completed') return { status: 409, body: { error: 'broadcast_completed', message: `broadcast "${id}" has completed; there is nothing left to cancel`, broadcast: view(record) } };
    return { status: 200, body: view(record) };
  }

  return { create, list, get, cancel };
}

/** The broadcast API and its fan-out, page by page (the page function). */
export function createBroadcastService(deps: BroadcastDeps) {
  const { store, clock } = deps;

  /**
   * Keep a deferred recipient under the broadcast (`D#<customerId>`). Erasure's writer half (write, then check):
   * erasure deletes these through the customer's message record of the broadcast; one written after its query
   * is taken back here when the customer has a tombstone (a deferred broadcast never outlives an erasure).
   */
  async function deferUnlessErased(id: string, customerId: string, due: string): Promise<void> {
    await store.defer(id, { customerId, due });
    if (await erasedNow(customerId)) await store.undefer(id, customerId);
  }

  /** Whether the customer is erased (a tombstone, and this is not their new life, begun after it). */
  const erasedNow = (customerId: string) => deps.profiles.erasedNow(customerId, clock.now());
  const cursors = deps.profiles.broadcastCursors;

  /**
   * Keep where the page after page `page` starts (or that it starts at its phase's beginning). Erasure's writer
   * half: the cursor names the last customer read; one erased meanwhile is rewound past at once.
   */
  async function keepCursor(id: string, page: number, cursor: PageCursor | undefined): Promise<void> {
    return cursor === undefined ? cursors.drop(id, page) : cursors.saveUnlessErased(id, page, cursor, erasedNow);
  }

  /** Where page `page + 1` starts: the cursor page `page` kept for this phase (a state from before keeps its own). */
  async function cursorAfter(state: PageState): Promise<string | undefined> {
    if (state.cursor !== undefined) return state.cursor;
    const kept = state.page > 0 ? await cursors.get(state.broadcastId, state.page) : undefined;
    return kept?.phase === state.phase ? kept.cursor : undefined;
  }

  /** One page of the fan-out (the broadcast page Lambda). */
  async function page(state: PageState): Promise<PageState> {
    const id = state.broadcastId;
    const record = await store.get(id);
    const done = { broadcastId: id, phase: state.phase, page: state.page, generation: state.generation, pagesThisGeneration: state.pagesThisGeneration, done: true };
    if (!record || record.status === 'cancelled' || record.status === 'completed') {
      await cursors.dropAll(id);
      return done;
    }
    const startedAt = clock.now();
    if (record.status === 'scheduled') await store.transition(id, ['scheduled'], 'running', startedAt);
    // A retry of a members page an earlier attempt counted (it failed after its count): its work is done, and listing
    // again could list another size (the lane may grant less) and move the cursor it kept. Go on from that cursor.
    if (state.phase === 'members' && record.page >= state.page + 1) {
      const counted = state.page + 1;
      const kept = await cursors.get(id, counted);
      if (state.page > 1) await cursors.drop(id, state.page - 1);
      return nextGeneration(kept?.phase === 'members' ? { ...base(state, counted), phase: 'members' } : { ...base(state, counted), phase: 'deferred', dueBy: startedAt.toISOString() });
    }
    const definition = record.definition;
    const { size: paced } = pacing(definition.rate);
    // The channel's lane, shared by every broadcast: this page sends at most what it grants, and waits when it grants nothing.
    const channel = definition.send.channel;
    const lane = deps.lanes ? await deps.lanes.take(channel, paced) : { granted: paced };
    if (lane.granted === 0) return laneWait(state, lane.waitSeconds ?? 1);
    const size = lane.granted;
    // The broadcast's own rate: this page lasts at least as long as its recipients take at that rate (fewer when the lane granted fewer).
    const periodSeconds = definition.rate === undefined ? undefined : size / definition.rate;
    const giveBack = async (counters: PageCounters) => {
      const unsent = size - (counters.sent ?? 0) - (counters.failed ?? 0);
      if (deps.lanes && unsent > 0) await deps.lanes.giveBack(channel, unsent);
    };
    const number = state.page + 1;
    const cancelledAt = async (page: number) => {
      await cursors.dropAll(id);
      return { ...done, page };
    };
    let next: PageState;

    if (state.phase === 'members') {
      const listing = await deps.profiles.segments.members(definition.segment, size, await cursorAfter(state));
      const { counters, cancelled } = await fanOut(definition, record.topicDefault, listing.customers, async (customerId, outcome) => {
        if (outcome.status === 'deferred') await deferUnlessErased(id, customerId, outcome.until);
      });
      await giveBack(counters);
      const last = listing.customers.at(-1);
      await keepCursor(id, number, listing.next !== undefined && last !== undefined ? { phase: 'members', cursor: listing.next, customerId: last, segment: definition.segment } : undefined);
      await store.countPage(id, number, counters);
      if (cancelled) return cancelledAt(number);
      next = listing.next !== undefined ? { ...base(state, number), phase: 'members' } : { ...base(state, number), phase: 'deferred', dueBy: startedAt.toISOString() };
    } else {
      const dueBy = state.dueBy ?? startedAt.toISOString();
      const listing = await deps.store.deferred(id, dueBy, size, await cursorAfter(state));
      const finished: string[] = [];
      let nextDue = min(state.nextDue, listing.later);
      const { counters, cancelled } = await fanOut(definition, record.topicDefault, listing.due.map((r) => r.customerId), async (customerId, outcome) => {
        if (outcome.status === 'deferred') {
          await deferUnlessErased(id, customerId, outcome.until);
          nextDue = min(nextDue, outcome.until);
        } else finished.push(customerId);
      });
      await giveBack(counters);
      // Out of the deferred count once sent, skipped or failed (a re-deferral stays in it).
      counters.deferred = -finished.length;
      counters.recipients = 0;
      await keepCursor(id, number, listing.next !== undefined ? { phase: 'deferred', cursor: listing.next, customerId: listing.next } : undefined);
      await store.countPage(id, number, counters);
      await Promise.all(finished.map((customerId) => store.undefer(id, customerId)));
      if (cancelled) return cancelledAt(number);
      if (listing.next !== undefined) next = { ...base(state, number), phase: 'deferred', dueBy, ...(nextDue !== undefined && { nextDue }) };
      else if (nextDue !== undefined) next = { ...base(state, number), phase: 'deferred', dueBy: nextDue, waitUntil: nextDue };
      else {
        await store.complete(id, clock.now());
        await cursors.dropAll(id);
        return { ...done, page: number };
      }
    }
    // The cursor page `state.page - 1` kept: only a retry of page `state.page` read it, and that page has returned.
    if (state.page > 1) await cursors.drop(id, state.page - 1);

    if (periodSeconds !== undefined && next.waitUntil === undefined) {
      const elapsed = (clock.now().getTime() - startedAt.getTime()) / 1000;
      const wait = Math.ceil(periodSeconds - elapsed - 1e-9);
      if (wait > 0) next.waitSeconds = wait;
    }
    return nextGeneration(next);
  }

  /** A long broadcast goes on in a new execution before this one's history fills up. */
  async function nextGeneration(next: PageState): Promise<PageState> {
    if (next.pagesThisGeneration < GENERATION_PAGES) return next;
    const generation = next.generation + 1;
    const { waitSeconds: _w, ...carried } = next;
    await deps.executions.start(broadcastExecutionName(next.broadcastId, generation), { ...carried, generation, pagesThisGeneration: 0 });
    return { broadcastId: next.broadcastId, phase: next.phase, page: next.page, generation: next.generation, pagesThisGeneration: next.pagesThisGeneration, done: true };
  }

  /** The channel's lane is empty: the same page again after `waitSeconds` (nothing listed, sent or counted). */
  async function laneWait(state: PageState, waitSeconds: number): Promise<PageState> {
    const { waitSeconds: _w, waitUntil: _u, done: _d, ...same } = state;
    return nextGeneration({ ...same, pagesThisGeneration: state.pagesThisGeneration + 1, waitSeconds });
  }

  /**
   * Each recipient through the send gateway, PAGE_CONCURRENCY at a time, claimed per recipient
   * (`M#broadcast:<id>#send`), until the broadcast is cancelled. Returns what the page adds to the counters.
   */
  async function fanOut(definition: Broadcast, topicDefault: TopicDefault | undefined, customerIds: readonly string[], after: (customerId: string, outcome: GatewayOutcome | { status: 'failed' }) => Promise<void>) {
    const counters: PageCounters = { recipients: 0 };
    const add = (name: string) => (counters[name] = (counters[name] ?? 0) + 1);
    let cancelled = false;
    const unwanted = async () => {
      if (cancelled) return 'cancelled';
      if ((await store.get(definition.id))?.status === 'cancelled') cancelled = true;
      return cancelled ? 'cancelled' : undefined;
    };
    let at = 0;
    // The first error (a provider outage, a transient AWS failure) stops the page once the sends under way have
    // ended: nothing goes on in the background of a failed invocation, and the retried page finishes the rest.
    let failure: { error: unknown } | undefined;
    const worker = async () => {
      while (!cancelled && failure === undefined && at < customerIds.length) {
        const customerId = customerIds[at++]!;
        try {
          const outcome = await deliver(definition, customerId, unwanted, topicDefault);
          add('recipients');
          if (outcome.status === 'sent') add('sent');
          else if (outcome.status === 'skipped') add(`skipped.${outcome.reason}`);
          else if (outcome.status === 'deferred') add('deferred');
          else add('failed');
          await after(customerId, outcome);
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PAGE_CONCURRENCY, customerIds.length) }, worker));
    if (failure !== undefined) throw failure.error;
    return { counters, cancelled };
  }

  /** One recipient: the gateway decides and sends; a template that fails, or a send an earlier attempt left unfinished, is recorded failed. */
  async function deliver(definition: Broadcast, customerId: string, unwanted: () => Promise<string | undefined>, topicDefault: TopicDefault | undefined): Promise<GatewayOutcome | { status: 'failed' }> {
    const key = broadcastMessageKey(definition.id);
    const { channel, template, kind } = definition.send;
    try {
      const profile = (await deps.profiles.resolve(customerId)).stored?.profile;
      // A wall-clock `at`: not before that time in the customer's own zone (deferred until then, as quiet hours defer).
      if (definition.at !== undefined && isLocalAt(definition.at)) {
        const tz = isValidTimeZone(profile?.traits.timezone) ? profile.traits.timezone : deps.defaultTimeZone;
        const p = localAtParts(definition.at);
        const due = new Date(zonedToUtc(p.year, p.month, p.day, p.hour, p.minute, tz).getTime() + p.second * 1000);
        if (due.getTime() > clock.now().getTime()) return { status: 'deferred', until: due.toISOString(), reason: 'local-time' };
      }
      return await deps.gateway.send(
        { customerId, ...key, channel, template, kind, ...(definition.topic !== undefined && { topic: definition.topic }), ...(topicDefault !== undefined && { topicDefault }), attribution: broadcastAttribution(definition), data: { broadcast: { id: definition.id } }, unwanted },
        profile,
      );
    } catch (error) {
      // A provider's refusal after the claim (its outcome unknown: never sent again) fails this recipient alone, its
      // message (which may quote the address) on their message record, erased with them: never in the page's error.
      if (!(error instanceof SendOutcomeUnknownError || error instanceof TemplateRenderError || isDeliveryOutcomeUnknown(error))) throw error;
      await deps.journeys.settleMessage(customerId, { ...key, channel, template, kind, status: 'failed', reason: `${(error as Error).name}: ${(error as Error).message}`.slice(0, 500), at: clock.now().toISOString() });
      // Write, then check: the record (settleMessage creates it if the erasure took it) goes if the customer was erased meanwhile.
      if (await erasedNow(customerId)) await deps.profiles.undoWrites([{ pk: `C#${customerId}`, sk: `M#${key.executionName}#${key.stepId}` }]);
      return { status: 'failed' };
    }
  }

  return { ...createBroadcastApi(deps), page };
}

export type BroadcastApi = ReturnType<typeof createBroadcastApi>;
export type BroadcastService = ReturnType<typeof createBroadcastService>;

/** `GET /v1/broadcasts/{id}`: the definition, status and counters. */
export function view(record: BroadcastRecord): Record<string, unknown> {
  const skipped = Object.fromEntries(
    Object.entries(record.counters)
      .filter(([name, n]) => name.startsWith('skipped.') && n !== 0)
      .map(([name, n]) => [name.slice('skipped.'.length), n])
      .sort(([a], [b]) => ((a as string) < (b as string) ? -1 : 1)),
  );
  return {
    ...record.definition,
    status: record.status,
    createdAt: record.createdAt,
    ...(record.startedAt !== undefined && { startedAt: record.startedAt }),
    ...(record.completedAt !== undefined && { completedAt: record.completedAt }),
    ...(record.cancelledAt !== undefined && { cancelledAt: record.cancelledAt }),
    recipients: record.counters.recipients ?? 0,
    sent: record.counters.sent ?? 0,
    skipped,
    deferred: record.counters.deferred ?? 0,
    failed: record.counters.failed ?? 0,
  };
}

function base(state: PageState, page: number): PageState {
  return { broadcastId: state.broadcastId, phase: state.phase, page, generation: state.generation, pagesThisGeneration: state.pagesThisGeneration + 1 };
}

const min = (a: string | undefined, b: string | undefined) => (a === undefined ? b : b === undefined ? a : a < b ? a : b);

function invalid(problems: BroadcastProblem[]): BroadcastApiResult {
  const first = problems[0]!;
  return { status: 400, body: { error: 'invalid_broadcast', message: `${first.path}: ${first.message}`, problems } };
}

function notFound(id: string): BroadcastApiResult {
  return { status: 404, body: { error: 'broadcast_not_found', message: `no broadcast with id ${JSON.stringify(id)}` } };
}

/** JSON with sorted keys: a stored definition (a DynamoDB map keeps no key order) compared with a posted one. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));
}
