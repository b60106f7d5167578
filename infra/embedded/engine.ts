import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { BatchingPersistenceLayer, createIngestHandler, dynamoViolationLog, hashOldViolations, loadSenderTagPolicy, loadTrackingPlanFile, MAX_BODY_BYTES, powertoolsDeduplicator, staticSources, type IngestSource } from '../../functions/ingest';
import {
  createCustomerApiHandler,
  createProfileConsumer,
  createProfileConsumerHandler,
  createSweepHandler,
  type SweepOutcome,
  documentClient,
  loadProfileConfig,
  profileRetention,
  ProfileStore,
  belongsAfter,
  receivedAfterErasure,
  startsNewLife,
  resumeErasures,
  resumeInterruptedErasures,
  type ErasureResumeHooks,
  type Tombstone,
} from '../../functions/profile';
import { attributionView, DEFAULT_SEND_POLICY, InvalidRunsCursorError, DEV_UNSUBSCRIBE_KEY, experimentView, holdoutView, loadTopicsFile, staticUnsubscribeKeys, unsubscribeKeysFromValue, type OutboundWebhookTarget, type SendPolicy } from '../../functions/journeys';
import { conversionEventsOf, denialsOnly, ENV, INGEST_EVENT_SOURCE, MonotonicClock, prng, ScaledClock, systemClock, type BusEntry, type Clock, type NormalisedEvent } from '../../shared';
import { TopicsFileError, type Topics } from '../../shared/topics';
import { ensureTable, idempotencyTableDefinition, profileTableDefinition, startDynalite, type LocalDynamo } from './dynamo';
import { eventBridgeApiListener, LocalEventBus } from './event-bus';
import { inProcessClientConfig, withoutTransportMiddleware } from './in-process';
import { DeadLetters, idsNamedBy, redrive, withoutErasedJoin, type DeadLetter, type DeadLetterSink } from './dead-letters';
import { asyncLambdaTarget, functionConcurrency, invokeLambda, lambdaRuntime } from './lambda-async';
import { installFaults, type Faults } from './faults';
import { lagIndexes } from './index-lag';
import { authorizedChannels, authorizedSources, authorizedUnsubscribeKeys, installAuthorization, invocationDenied, type AwsCallAuthorizer } from './authorization';
import { createHttpGuard, parseAllowedHosts } from './http-guard';
import { invokeHttpLambda } from './lambda-http';
import { wireJourneys, type StepLambdaHandler } from './journeys';
import { JourneyError } from '../../workflows/journeys';
import { Outbox, SIMULATED_FEEDBACK, SIMULATED_SES, sesFeedbackEntry, type OutboxEntry, type SimulatedFeedback } from './outbox';
import { createMessageTools, emailAndSmsSends } from './test-send';
import { handleUi } from './ui';
import { VirtualClock } from './virtual-time';
import { apiOfPath, findRoute, PROFILE_CONSUMER_RULE, routesOf, routeTarget, sesFeedbackRule, SWEEP_SCHEDULE, type RapportApi, type RapportFunctionId } from '../topology';
import { wireBroadcasts } from './broadcasts';
import { parseBroadcastRates, type BroadcastRates } from '../../shared/broadcasts';
import { BROADCAST_ENV } from '../../shared/config/broadcast-env';
import { createSesFeedbackHandler, feedbackOf } from '../../functions/feedback';
import { handlerFor, type FunctionHandlers } from './functions';

export const IDEMPOTENCY_TABLE = 'rapport-idempotency';
/** The engine's SES feedback rule (its dead letters may hold a complaint for an erased customer's next life). */
const SES_FEEDBACK_RULE_NAME = sesFeedbackRule(SIMULATED_SES.configurationSet).engineName;

export const PROFILE_TABLE = 'rapport-profiles';
/** HTTP API refuses bodies over 10 MB before the Lambda runs; the adapter does the same. */
const HTTP_API_MAX_BODY = 10 * 1024 * 1024;

export interface EngineOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. @default 3000 */
  port?: number;
  /** Data folder (dynalite files, bus log); `null` keeps everything in memory. @default '.rapport' */
  dataDir?: string | null;
  sources: IngestSource[];
  /**
   * The engine's clock. A `VirtualClock` (simulate, the demo, tests) runs the engine on virtual time: requests,
   * deliveries, invocations and executions hold it still while they work, and it jumps to the next due timer
   * (a Wait, a retry, a callback timeout, the daily sweep) when `clock.run()` finds the engine idle.
   * @default the system clock
   */
  clock?: Clock;
  /** PutEvents retry settings, passed to the ingest function. */
  publish?: { maxAttempts?: number; baseDelayMs?: number };
  /** Folder with tags.yaml and segmentation.config.yaml. @default 'workflows' */
  configDir?: string;
  /** Environment for the profile config (consent mode, timeline retention). @default process.env */
  env?: NodeJS.ProcessEnv;
  /** How often the sweep runs on its own (real milliseconds); 0 turns it off. @default one day of the engine's clock (on a ScaledClock, 86,400,000 / scale real ms; see `defaultSweepEveryMs`) */
  sweepEveryMs?: number;
  /** Folder of journey YAML files. @default 'workflows/journeys.d' */
  journeysDir?: string;
  /** Folder of broadcast files (`<id>.yaml`), each created once when the engine starts. @default 'workflows/broadcasts.d' */
  broadcastsDir?: string;
  /** Folder of message templates. @default 'workflows/templates' */
  templatesDir?: string;
  /** Send policy overrides (frequency cap, quiet hours, default time zone). */
  sendPolicy?: Partial<SendPolicy>;
  /**
   * Messages per second all broadcasts together may send per channel (`{ email: 14 }`): the lanes' token buckets,
   * shared by every broadcast; journeys never take from them. A channel not named is not limited. @default {}
   */
  broadcastRates?: BroadcastRates;
  /**
   * Replaces every journey's `trigger.max_age` (seconds; null: any age), for a replay of
   * live traffic on a fast clock, whose events reach the engine late when the machine is busy.
   * @default each journey's own
   */
  triggerMaxAgeSeconds?: number | null;
  /** Outbound webhooks by name (support, supervisor, ...); without a URL, webhook steps are recorded in the outbox. */
  outboundWebhooks?: Record<string, OutboundWebhookTarget>;
  /**
   * Keys of one-click unsubscribe links, newest first: the first signs, every one verifies (rotate by
   * putting the new key first and keeping the old ones while their links may still be clicked).
   * @default a fixed development key
   */
  unsubscribeKeys?: readonly string[];
  /**
   * Host names the engine answers to besides 127.0.0.1, localhost and [::1] (`name` or `name:port`),
   * e.g. the name a reverse proxy forwards. Any other Host gets 421. @default none (RAPPORT_ALLOWED_HOSTS under `npm start`)
   */
  allowedHosts?: readonly string[];
  /** Log level of the functions' Powertools loggers. @default POWERTOOLS_LOG_LEVEL */
  logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  /** Fault injection for reliability tests: DynamoDB errors on chosen calls, PutEvents throttling and partial failures, channel outages. */
  faults?: Faults;
  /**
   * How many invocations of one function (the profile consumer, the journey starter) bus deliveries run at
   * once, as reserved concurrency does in AWS; the rest wait their turn. @default DEFAULT_FUNCTION_CONCURRENCY (16)
   */
  functionConcurrency?: number;
  /**
   * Authorise every AWS call a function makes (DynamoDB, EventBridge, Step Functions, and what the engine serves
   * in process: SES and End User Messaging sends, Secrets Manager reads of the unsubscribe keys, the sources' and
   * the webhooks' secrets), as IAM does in AWS: the twin test tier evaluates each against the function's role in
   * the synthesized template. A denied call fails with AWS's AccessDeniedException. @default every call is allowed
   */
  authorize?: AwsCallAuthorizer;
  /**
   * The clock webhook signatures are checked against (Standard Webhooks' 5-minute tolerance); a test
   * of that tolerance sets it instead of waiting it out. @default the system clock: wall-clock time,
   * whatever the journey clock says
   */
  signatureClock?: Clock;
  /** Tags that journeys outside `journeysDir` add (`rapport simulate` runs one journey of a folder): the journeys' tag check counts them as known. */
  tagsAddedElsewhere?: readonly string[];
  /**
   * The AWS twin's delivery semantics, seeded (needs a VirtualClock): EventBridge delivers each event to each
   * target after its own delay (0..maxDelayMs, a cold start included), so in no order, and sometimes twice
   * (duplicateProbability); a failed async invocation is retried twice, 1 and 2 minutes later, as Lambda does.
   * Step Functions' "Execution Status Change" events, which EventBridge delivers best-effort, are lost with
   * lossProbability (default 0): the run-ended function never hears of that end, and only the reconciling
   * sweep frees the run's lock. Customer events are never lost (PutEvents delivers them at least once).
   * indexLagMs (default 0: none) makes the profile table's global secondary indexes eventually consistent, as
   * DynamoDB's are: an index query sees each write 0..indexLagMs after it (see index-lag.ts).
   * The status changes not lost arrive late and sometimes twice, as EventBridge delivers them: each after
   * 0..statusChangeMaxDelayMs, a second copy with statusChangeDuplicateProbability (both default 0: at the
   * end, once), each copy to the run-ended function with Lambda's async retries.
   */
  twin?: {
    seed: number;
    maxDelayMs?: number;
    duplicateProbability?: number;
    lossProbability?: number;
    indexLagMs?: number;
    statusChangeMaxDelayMs?: number;
    statusChangeDuplicateProbability?: number;
  };
  /**
   * The step Lambda's handler to run instead of the one the engine builds from the sources: the twin passes
   * the handler of the bundle `cdk synth` produces (minified as deployed), so the error names the state
   * machines' Retry and Catch see are the bundled ones. @default the handler built from the sources
   */
  stepHandler?: StepLambdaHandler;
  /**
   * Handlers to run instead of the ones the engine builds from the sources, by function name (`rapport-ingest`,
   * `rapport-profile`, ...; see ENGINE_FUNCTIONS): the twin passes every bundle `cdk synth` produces. Each is
   * invoked with the event AWS sends that function (an HTTP API v2 request, the bus event, the state's Payload,
   * a Step Functions status change, the schedule's event), under its own name. `stepHandler` is
   * `functions['rapport-steps']`. @default every handler built from the sources
   */
  functions?: FunctionHandlers;
}

export interface Engine {
  url: string;
  bus: LocalEventBus;
  dynamo: LocalDynamo;
  profiles: ProfileStore;
  /** Events a target failed on after its retries (EventBridge would send them to the DLQ); kept in the data folder. */
  deadLetters: DeadLetter[];
  /** Run the sweep now (what the daily schedule does): time-based tags, then the reconciling of journey runs. */
  sweep(): Promise<SweepOutcome>;
  /** Wait until every event on the bus has been handled by its targets (on virtual time: until the engine is idle). */
  settle(): Promise<void>;
  outbox: Outbox;
  /**
   * Simulate SES feedback on an outbox email (also `POST /v1/outbox/{id}/feedback`): the SES event AWS would
   * publish is put on the bus, where the SES feedback rule and function handle it as in AWS. Each call is a new
   * SES event (its own feedbackId); a redelivery of one is `bus.putEvents` of its logged entry again. On the twin
   * with `lossProbability`, SES's best-effort delivery may lose it (`lost`).
   */
  feedback(outboxId: string, feedback: SimulatedFeedback): { eventId: string; detailType: string; lost?: true };
  journeys: ReturnType<typeof wireJourneys>;
  /** Broadcasts: their store, service and the local Step Functions executor of their state machine. */
  broadcasts: ReturnType<typeof wireBroadcasts>;
  stop(): Promise<void>;
}

/**
 * The embedded engine: Rapport whole on a laptop. The ingest Lambda handler runs
 * behind a local HTTP adapter, publishes with the real EventBridge client to the
 * in-process bus, and keeps idempotency records in dynalite.
 */
export async function startEngine(options: EngineOptions): Promise<Engine> {
  // Everything the engine starts (servers, timers, invocations) runs under one root
  // invocation store; each Lambda invocation then gets its own (see invokeLambda).
  return (await lambdaRuntime()).run({}, () => start(options));
}

async function start(options: EngineOptions): Promise<Engine> {
  const dataDir = options.dataDir === undefined ? '.rapport' : options.dataDir;
  const engineClock = options.clock ?? systemClock;
  const virtual = engineClock instanceof VirtualClock ? engineClock : undefined;
  // What the functions get: on virtual time, a view whose sleep (a backoff inside held work) does not wait for the clock.
  // Real time never goes back in the engine (MonotonicClock): receipt order decides consent.
  const monotonic = virtual ? undefined : new MonotonicClock(engineClock);
  const clock = virtual ? virtual.forWork : monotonic!;
  const dynamo = await startDynalite(dataDir ? join(dataDir, 'dynamodb') : undefined, { virtualTime: virtual !== undefined });
  await ensureTable(dynamo.client, idempotencyTableDefinition(IDEMPOTENCY_TABLE));

  await ensureTable(dynamo.client, profileTableDefinition(PROFILE_TABLE));

  if (options.twin && !virtual) throw new Error('the AWS twin (options.twin) runs on virtual time: pass clock: new VirtualClock(start)');
  if (options.twin?.indexLagMs && virtual) {
    if (dataDir) throw new Error('the twin lags indexes in memory only: pass dataDir: null with twin.indexLagMs');
    // Its own stream too: lags leave a seed's deliveries as they were.
    await lagIndexes(dynamo.client, { tables: [profileTableDefinition(PROFILE_TABLE)], clock: virtual, random: prng(options.twin.seed ^ 0x27d4eb2f), maxLagMs: options.twin.indexLagMs });
  }
  const twin =
    options.twin && virtual
      ? {
          clock: virtual,
          random: prng(options.twin.seed),
          maxDelayMs: options.twin.maxDelayMs ?? 5_000,
          duplicateProbability: options.twin.duplicateProbability ?? 0.1,
          lossProbability: options.twin.lossProbability ?? 0,
          // Its own stream: a seed's delays and duplicates are the same with losses as without.
          lossRandom: prng(options.twin.seed ^ 0x5bd1e995),
          // Its own stream too: late and repeated status changes leave the customer events' deliveries as they were.
          serviceEvents: {
            maxDelayMs: options.twin.statusChangeMaxDelayMs ?? 0,
            duplicateProbability: options.twin.statusChangeDuplicateProbability ?? 0,
            random: prng(options.twin.seed ^ 0x68e31da4),
          },
        }
      : undefined;
  const bus = new LocalEventBus({ ...(dataDir && { dataDir }), ...(twin && { twin }) });
  // Nothing is received before what the data folder already holds, also after a restart on a clock set back: past the
  // latest receipt (to the millisecond; an event's `time` is to the second) among the last events the bus log kept.
  if (monotonic) {
    for (const e of bus.log.slice(-100)) {
      const receivedAt = (e.detail as { receivedAt?: unknown } | undefined)?.receivedAt;
      if (typeof receivedAt === 'string') monotonic.atLeast(Date.parse(receivedAt) + 1);
      monotonic.atLeast(e.time);
    }
  }
  // Lambda's async retries: 2, about 1 and 2 minutes apart (on the twin; a quick 50, 100 ms otherwise).
  // and each function's concurrency: its async events queue for a slot, as Lambda's do past reserved concurrency.
  const asyncRetries = { retryAttempts: 2, ...(twin && { baseDelayMs: 60_000 }), concurrency: functionConcurrency(options.functionConcurrency) };
  // The functions' real EventBridge client, publishing to the bus in process (in-process.ts).
  const eventBridge = withoutTransportMiddleware(new EventBridgeClient({ ...inProcessClientConfig(eventBridgeApiListener(bus), { service: 'events' }), maxAttempts: 1 }));

  // Read as the functions read them from Secrets Manager in AWS: authorised, when the engine authorises calls.
  const staticKeys = staticUnsubscribeKeys(options.unsubscribeKeys ?? [DEV_UNSUBSCRIBE_KEY]);
  const unsubscribeKeys = options.authorize ? authorizedUnsubscribeKeys(staticKeys, options.authorize) : staticKeys;
  const logger = new Logger({ serviceName: 'rapport', ...(options.logLevel && { logLevel: options.logLevel }) });
  // Metrics are not published locally; the engine's Metrics only keep Powertools from warning on every invocation.
  const metrics = new Metrics({ namespace: 'Rapport', serviceName: 'rapport', logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: (...a: unknown[]) => console.error(...a) } });
  const profileConfig = loadProfileConfig(options.configDir ?? 'workflows', options.env ?? process.env);
  // The subscription topics (topics.yaml, optional): journeys and broadcasts are checked against them, the preference page lists them.
  // Reloaded with the journeys (`reloadTopics`): every reader holds this live view of the file as last read.
  let topicsRead = loadTopicsFile(options.configDir ?? 'workflows');
  const topics: Topics = { get list() { return topicsRead.list; }, get: (id) => topicsRead.get(id) };
  const topicsFile = {
    read: () => loadTopicsFile(options.configDir ?? 'workflows'),
    commit: (read: Topics) => void (topicsRead = read),
  };
  const doc = documentClient(dynamo.client);
  // On virtual time a reader waiting for another invocation's write stops once nothing else works (see ProfileStore.nextWrite).
  const profiles = new ProfileStore(doc, PROFILE_TABLE, { now: () => clock.now(), ...(virtual && { othersIdle: () => virtual.othersIdle() }) });
  // Flagged events' violations: in the profile table, as in AWS (functions/ingest/violations.ts).
  const violations = dynamoViolationLog(doc, PROFILE_TABLE, clock);
  // What journeys' send steps and broadcasts share: one send gateway's policy, the clock's scale.
  const sendPolicy: SendPolicy = { ...DEFAULT_SEND_POLICY, consentMode: profileConfig.consentMode, ...options.sendPolicy };
  const timeScale = engineClock instanceof ScaledClock ? engineClock.scale : 1;
  const dedupe = powertoolsDeduplicator(new BatchingPersistenceLayer({ tableName: IDEMPOTENCY_TABLE, awsSdkV3Client: dynamo.client }));
  const ingest = handlerFor(options.functions, 'rapport-ingest', createIngestHandler(
    {
      sources: options.authorize ? authorizedSources(options.sources, options.authorize) : staticSources(options.sources),
      // The same loader as the AWS function's, on the same tags.yaml the profile functions read.
      senderTags: loadSenderTagPolicy(options.configDir ?? 'workflows'),
      trackingPlan: loadTrackingPlanFile(options.configDir ?? 'workflows'),
      violations,
      dedupe,
      putEvents: (entries: BusEntry[]) => eventBridge.send(new PutEventsCommand({ Entries: entries })),
      clock,
      ...(options.signatureClock && { signatureClock: options.signatureClock }),
      consentHolds: profiles,
      identities: profiles,
      unsubscribeKeys,
      // The preference page: the topics it lists, read in the engine's consent mode, each customer's state from their profile.
      preferences: { topics, consentMode: profileConfig.consentMode, profiles },
      ...(options.publish && { publish: options.publish }),
    },
    { logger, metrics },
  ));

  // Filled in below, once the bus and outbox exist: erasure redacts them (and compacts dynalite's files).
  const erasure: { redact: (ids: string[]) => Promise<void> } = { redact: async () => undefined };
  const profileDeps = {
    store: profiles,
    segment: profileConfig.segmenter,
    putEvents: (entries: BusEntry[]) => eventBridge.send(new PutEventsCommand({ Entries: entries })),
    clock,
    timelineRetentionDays: profileConfig.timelineRetentionDays,
    declaredManualTags: profileConfig.manualTags,
    onErasedWrite: (ids: string[]) => erasure.redact(ids),
  };
  const deadLetters = new DeadLetters(dataDir ?? undefined);
  // A resumed erasure stops the journeys of the ids it reached and redacts the logs before it completes, as DELETE does.
  const erasureHooks: ErasureResumeHooks = {
    onErase: async (id) => void (await journeys.runtime.stopAll(id, 'customer erased')),
    beforeComplete: (ids) => erasure.redact(ids),
  };
  // What the functions' failed events go to: a letter naming an erased customer (a late event whose drop failed,
  // e.g. throttled) is redacted at once, with the bus log (write, then check), not kept until someone redrives it.
  // The letter is written marked `unchecked`; the check reads the tombstone of every id it names (`idsNamedBy`, as
  // erasure reads them), retried with backoff. What dead-letters such an event is often DynamoDB failing, and so may
  // the check: the mark then stays, and the check is made again before the letters are listed or redriven, at stop
  // and at the next start; until it is made, a listing withholds the letter's event and error.
  // A denial of an erased customer received after the erasure completed is not the erased life's (it would have been
  // parked, or applied to their new life, had its delivery not failed): its denials are handed on (`handOnDenials`)
  // before the rest of the letter is redacted. A live customer's event naming an erased id only to join it (a visitor's
  // anonymousId) is the customer's: the letter is kept without that id (`withoutErasedLink`), not redacted.
  // The check's backoff: real time, or on virtual time the functions' (a real millisecond at most: see VirtualClock.forWork).
  const withRetries = <T>(fn: () => Promise<T>, retries: number) => retried(fn, retries, virtual?.forWork.sleep);
  const checkDeadLetters = async (retries: number, only?: string, options: { deliver: boolean } = { deliver: true }): Promise<void> => {
    for (const letter of deadLetters.unchecked().filter((l) => only === undefined || l.id === only)) {
      const erased = new Map<string, Tombstone>();
      try {
        const named = idsNamedBy(letter.event.detail);
        // An erasure its event ran and failed (the consumer's erasure of a visitor of an erased customer): once the
        // letter is redacted nothing would retry it, so it is finished first (`resumeErasures`).
        await withRetries(() => resumeErasures(profiles, clock, named, erasureHooks), retries);
        for (const id of named) {
          const tombstone = await withRetries(() => profiles.tombstone(id, clock.now()), retries);
          if (tombstone !== undefined) erased.set(id, tombstone);
        }
        // A live customer's event naming an erased id to join (a visitor's anonymousId, an alias's previousId) of its
        // erased life: the consumer would apply it without the link (`withoutJoin`), so the letter is kept without it.
        const checked = withoutErasedLink(letter, erased) ?? letter;
        const left = new Map([...erased].filter(([id]) => idsNamedBy(checked.event.detail).includes(id)));
        if (checked !== letter) deadLetters.replace(checked);
        const handed = left.size > 0 ? await withRetries(() => handOnDenials(checked, left, options.deliver), retries) : 'none';
        if (erased.size > 0) await withRetries(() => erasure.redact([...erased.keys()]), retries);
        // Handed on: the letter goes (redaction keeps one reduced to its denials, `denials`).
        if (handed === 'parked' || handed === 'delivered') deadLetters.remove((l) => l.id === letter.id);
        // Kept for a hand-over still owed: checked again (and handed on) at the next listing or start.
        if (handed !== 'kept') deadLetters.checked(letter.id);
      } catch (error) {
        logger.warn('dead letter: its tombstone check failed; it stays marked unchecked', { deadLetter: letter.id, error: (error as Error).message });
      }
    }
  };
  /**
   * A profile consumer's letter whose event names erased ids (`erased`) to join, of their erased life (`startsNewLife`
   * is false for them, as the consumer's `erasedFor` reads it): the letter without them (`withoutErasedJoin`), or
   * undefined. The rest of the event is the live customer's it names (their order, their unsubscribe): a redrive applies
   * it to them, as its delivery would have. A letter naming an erased customer besides is judged as before, reduced.
   */
  const withoutErasedLink = (letter: DeadLetter, erased: ReadonlyMap<string, Tombstone>): DeadLetter | undefined => {
    if (letter.rule !== PROFILE_CONSUMER_RULE.engineName) return undefined;
    const d = letter.event.detail as { timestamp?: unknown; receivedAt?: unknown; sourceId?: unknown } | null;
    if (typeof d !== 'object' || d === null || typeof d.timestamp !== 'string' || typeof d.receivedAt !== 'string') return undefined;
    const event = { timestamp: d.timestamp, receivedAt: d.receivedAt, ...(typeof d.sourceId === 'string' && { sourceId: d.sourceId }) };
    const detail = withoutErasedJoin(d, (id) => {
      const tombstone = erased.get(id);
      return tombstone !== undefined && !startsNewLife(event, tombstone);
    });
    return detail === undefined ? undefined : { ...letter, event: { ...letter.event, detail } };
  };
  // Events whose denials a check is delivering now (`handOnDenials`): if that delivery dead-letters too, its letter is kept.
  const handingOn = new Set<string>();
  /**
   * The denials of a dead letter naming erased customers (`erased`, their tombstones), when it is an event received after
   * every one of those erasures completed and dated in an erased life: reduced to its consent denials and suppressions
   * (`denialsOnly`), as the profile consumer would have applied it. The customer it is for (`userId`, or the visitor)
   * without a new life yet: parked beside their tombstone (`parkDenial`, then checked: a new life begun meanwhile gets
   * it as below), for the new life to fold in. Otherwise (a new life, a join into another customer, or a live customer):
   * delivered to the letter's rule again, reduced (`deliver`), or else kept in the letter's place, reduced (`denials`),
   * for a redrive or the next check. `none`: nothing to hand on, the letter is redacted whole (or kept whole) as before.
   * Only for the profile consumer's letters. Throws when the park fails (DynamoDB refusing what failed the delivery):
   * the letter stays unchecked, whole, and the next check tries again.
   */
  const handOnDenials = async (letter: DeadLetter, erased: ReadonlyMap<string, Tombstone>, deliver: boolean): Promise<'none' | 'parked' | 'delivered' | 'kept'> => {
    // An SES complaint or hard bounce the feedback function gave up on (its PutEvents throttled past the retries) for
    // an erased customer, received now, after the erasure completed: the next life's, as the function would have taken
    // it. What it would have published (`Message Complained`/`Bounced`, naming no address) is handed on in its stead,
    // then the letter (which names the address) is redacted.
    let consumerLetter = letter;
    if (letter.rule === SES_FEEDBACK_RULE_NAME) {
      const feedback = feedbackOf(String(letter.event['detail-type']), letter.event.detail, clock.now().toISOString());
      if (!feedback.ok || feedback.suppression === undefined || feedback.event === undefined || !erased.has(feedback.message.customerId)) return 'none';
      const tombstone = erased.get(feedback.message.customerId)!;
      await profiles.putSuppressionHold(feedback.message.customerId, 'email', feedback.suppression, feedback.event.receivedAt, feedback.to);
      if (!receivedAfterErasure(feedback.event, tombstone)) return 'none';
      consumerLetter = { ...letter, rule: PROFILE_CONSUMER_RULE.engineName, event: { ...letter.event, source: INGEST_EVENT_SOURCE, 'detail-type': feedback.event.event ?? '', detail: feedback.event } };
    }
    // What the profile consumer gave up on (a journey trigger's letter is not what applies consent).
    if (consumerLetter.rule !== PROFILE_CONSUMER_RULE.engineName) return 'none';
    const d = consumerLetter.event.detail as Partial<NormalisedEvent> | null;
    if (typeof d !== 'object' || d === null || d.specVersion !== 1 || typeof d.timestamp !== 'string' || typeof d.receivedAt !== 'string' || typeof d.properties !== 'object' || typeof d.traits !== 'object') return 'none';
    const event = d as NormalisedEvent;
    const tombstones = [...erased.values()];
    if (!tombstones.every((t) => receivedAfterErasure(event, t)) || tombstones.every((t) => startsNewLife(event, t))) return 'none';
    const denial = denialsOnly(event);
    if (denial === undefined) return 'none';
    const forId = denial.userId ?? (denial.anonymousId !== undefined ? `anon:${denial.anonymousId}` : undefined);
    const tombstone = forId === undefined ? undefined : erased.get(forId);
    const noLife = async () => tombstone !== undefined && !(await profiles.hasNewLife(forId!, tombstone)) && !(await profiles.isJoined(forId!));
    if (await noLife()) {
      await profiles.parkDenial(forId!, tombstone!, denial);
      // Write, then check: a new life that began before the park may have looked for parked denials already.
      if (await noLife()) return 'parked';
    }
    const reduced = { ...consumerLetter.event, detail: denial };
    if (deliver && !handingOn.has(letter.event.id)) {
      handingOn.add(letter.event.id);
      try {
        const delivery = bus.redeliver(consumerLetter.rule, reduced);
        if (delivery !== undefined) {
          await delivery;
          return 'delivered';
        }
      } finally {
        handingOn.delete(letter.event.id);
      }
    }
    deadLetters.replace({ ...consumerLetter, event: reduced, denials: true, unchecked: true });
    return 'kept';
  };
  const deadLetterSink: DeadLetterSink = {
    add: async (letter) => {
      // This letter only: during an outage the others wait for a listing, a redrive, the stop or the next start.
      const added = deadLetters.add({ ...letter, unchecked: true });
      await checkDeadLetters(DEAD_LETTER_CHECK_RETRIES, added.id);
    },
  };
  const outbox = new Outbox(clock, options.outboundWebhooks ?? {}, dataDir ?? undefined);
  if (options.faults) installFaults({ dynamo: dynamo.client, eventBridge, bus, outbox }, options.faults);
  if (options.authorize) installAuthorization({ dynamo: dynamo.client, eventBridge }, options.authorize);
  // What journeys and broadcasts send through: SES, End User Messaging and the webhooks' secrets as AWS authorises them.
  const channels = options.authorize ? authorizedChannels(outbox, options.authorize, { fromAddress: SIMULATED_SES.from, configurationSet: SIMULATED_SES.configurationSet }) : outbox;
  let url = '';
  const journeys = wireJourneys({
    ...(options.triggerMaxAgeSeconds !== undefined && { triggerMaxAgeSeconds: options.triggerMaxAgeSeconds }),
    journeysDir: options.journeysDir ?? 'workflows/journeys.d',
    templatesDir: options.templatesDir ?? 'workflows/templates',
    bus,
    doc,
    tableName: PROFILE_TABLE,
    profiles,
    profileConfig,
    topics,
    topicsFile,
    mutateProfile: createProfileConsumer(profileDeps).mutate,
    onErasedWrite: (ids: string[]) => erasure.redact(ids),
    channels,
    policy: sendPolicy,
    clock,
    ...(virtual && { virtual }),
    timeScale,
    unsubscribe: { baseUrl: () => url, keys: unsubscribeKeys },
    webhookTargets: options.outboundWebhooks ? Object.keys(options.outboundWebhooks) : ['support', 'supervisor'],
    deadLetters: deadLetterSink,
    logger,
    metrics,
    ...(options.faults?.stepFunctions && { stepFunctionsFaults: options.faults.stepFunctions }),
    ...(options.authorize && { authorize: options.authorize }),
    ...(options.faults?.loseStatusChange && { loseStatusChange: options.faults.loseStatusChange }),
    ...(options.tagsAddedElsewhere && { tagsAddedElsewhere: options.tagsAddedElsewhere }),
    ...(options.stepHandler && { stepHandler: options.stepHandler }),
    ...(options.functions && { functions: options.functions }),
    ...(dataDir && { dataDir }),
    asyncRetries,
  });
  // The recent events the profile keeps: what the tag rules and the journeys loaded last read (computed once per load).
  let retained: { of: readonly unknown[]; spec: ReturnType<typeof profileRetention> } | undefined;
  const retention = () => {
    if (retained?.of !== journeys.compiled) retained = { of: journeys.compiled, spec: profileRetention(profileConfig, journeys.compiled) };
    return retained.spec;
  };
  // Broadcasts: the same page and API functions as in AWS, their state machine on an executor of its own.
  const broadcasts = wireBroadcasts({
    broadcastsDir: options.broadcastsDir ?? 'workflows/broadcasts.d',
    templates: journeys.templates,
    templateSources: () => journeys.templateSources,
    doc,
    tableName: PROFILE_TABLE,
    profiles,
    records: journeys.records,
    channels,
    policy: sendPolicy,
    topics,
    ...(options.broadcastRates && { broadcastRates: options.broadcastRates }),
    conversionEvents: () => conversionEventsOf(journeys.compiled),
    clock,
    ...(virtual && { virtual }),
    timeScale,
    unsubscribe: { baseUrl: () => url, keys: unsubscribeKeys },
    onErasedWrite: (ids: string[]) => erasure.redact(ids),
    ...(dataDir && { dataDir }),
    ...(options.authorize && { authorize: options.authorize }),
    logger,
    metrics,
  });
  bus.addRule({
    name: PROFILE_CONSUMER_RULE.engineName,
    pattern: PROFILE_CONSUMER_RULE.pattern,
    target: asyncLambdaTarget(
      // The profile keeps only the recent events the tag rules and the journeys read (as the AWS consumer does).
      handlerFor(
        options.functions,
        'rapport-profile',
        createProfileConsumerHandler(
          // A visitor the consumer erases (of a dropped event of an erased customer) has their journeys stopped, as DELETE does.
          {
            ...profileDeps,
            // What the journeys loaded last read (a reload may read more, or less).
            get recentEvents() {
              return retention();
            },
            onErase: async (id: string) => void (await journeys.runtime.stopAll(id, 'customer erased')),
          },
          // After the event is on the profile: the router, then enrolment in the journeys it triggers (as in AWS).
          { logger, metrics, afterApply: (event, customerId, ids) => journeys.runtime.applied(event, customerId, ids), afterDrop: (event, _customerId, reason) => journeys.runtime.dropped(event, reason) },
        ),
      ),
      'rapport-profile',
      { ...asyncRetries, deadLetters: deadLetterSink, ...(virtual && { clock: virtual }), ...(options.authorize && { authorize: options.authorize }) },
    ),
  });
  // SES feedback (AWS: on the default bus, where SES publishes it); the outbox's simulated feedback lands here.
  const sesFeedback = sesFeedbackRule(SIMULATED_SES.configurationSet);
  bus.addRule({
    name: sesFeedback.engineName,
    pattern: sesFeedback.pattern,
    target: asyncLambdaTarget(
      handlerFor(options.functions, 'rapport-ses-feedback', createSesFeedbackHandler(
        {
          profiles,
          messages: journeys.records,
          putEvents: (entries: BusEntry[]) => eventBridge.send(new PutEventsCommand({ Entries: entries })),
          clock,
          ...(options.publish && { publish: options.publish }),
          // Feedback on an erased (or unknown) customer: the bus log forgets it, address included.
          onUnknownCustomer: (customerId) => erasure.redact([customerId]),
        },
        { logger, metrics },
      )),
      'rapport-ses-feedback',
      { ...asyncRetries, deadLetters: deadLetterSink, ...(virtual && { clock: virtual }), ...(options.authorize && { authorize: options.authorize }) },
    ),
  });
  // Every rule is on the bus: deliver again what the last run had not finished delivering (at least once).
  bus.resume();
  // The sweep also reconciles journey runs whose end was never reported (as the AWS sweep does).
  const sweepHandler = handlerFor(options.functions, 'rapport-sweep', createSweepHandler({ ...profileDeps, onErase: erasureHooks.onErase! }, { logger, metrics, reconcile: () => journeys.runtime.reconcile() }));
  // The event EventBridge Scheduler sends (the schedule's input: none).
  // A write left open names its customer (the id): once the sweep closed one, dynalite's files are rewritten at the next stop.
  const sweep = () =>
    invokeLambda<SweepOutcome>('rapport-sweep', 900_000, (context, o) => sweepHandler({} as never, context, o)).then((outcome) => {
      if ((outcome.openHoldWrites?.checked ?? 0) > 0) oweRewrite('open hold writes closed');
      return outcome;
    });
  const sweepEvery = options.sweepEveryMs ?? defaultSweepEveryMs(engineClock);
  // Timer sweeps in flight: `stop` waits for them, so none writes to dynalite after it closed.
  const timerSweeps = new Set<Promise<unknown>>();
  // What the schedule invokes: with its role (on the twin: authorised by the template's schedule and role).
  const scheduledSweep = async () => {
    const denial = await invocationDenied(options.authorize, 'rapport-sweep', { schedule: SWEEP_SCHEDULE.id });
    if (denial) throw new Error(`EventBridge Scheduler could not invoke rapport-sweep: ${denial.message}`);
    return sweep();
  };
  const sweepNow = () => {
    const running = scheduledSweep()
      .catch((e: unknown) => logger.error('sweep failed', e as Error))
      .finally(() => timerSweeps.delete(running));
    timerSweeps.add(running);
    return running;
  };
  // On virtual time the sweep is a daily timer on the clock (sweepEveryMs is then virtual milliseconds); it holds the clock while it runs.
  let virtualSweep: { cancel(): void } | undefined;
  const scheduleVirtualSweep = (v: VirtualClock) => {
    virtualSweep = v.schedule(v.now().getTime() + sweepEvery, () => {
      void v.track(sweepNow());
      scheduleVirtualSweep(v);
    });
  };
  if (virtual && sweepEvery > 0) scheduleVirtualSweep(virtual);
  const sweepTimer = !virtual && sweepEvery > 0 ? setInterval(() => void sweepNow(), sweepEvery) : undefined;
  sweepTimer?.unref();
  const customerApi = handlerFor(options.functions, 'rapport-customers', createCustomerApiHandler(
    {
      store: profiles,
      clock,
      journeys: journeys.records,
      violations,
      namedSegments: profileConfig.namedSegments,
      // Erasure stops the customer's journeys (after its tombstone, before its deletes); then the bus log and
      // the outbox forget them, and dynalite's files are compacted, before DELETE answers.
      onErase: async (customerId) => {
        await journeys.runtime.stopAll(customerId, 'customer erased');
      },
      afterErase: async (ids) => {
        await erasure.redact(ids);
        await compaction;
      },
    },
    { logger, metrics },
  ));

  // Redaction: the bus log and the outbox log keep no event or message of an erased customer (erasure, and a
  // late event dropped or a write undone for them); deleted items leave dynalite's LevelDB files on compaction.
  let compaction: Promise<void> = Promise.resolve();
  // Owed until a clean stop rewrote dynalite's files: a marker in the data folder, written before an erasure
  // answers, so an engine killed after it (a crash, an OOM kill, a power cut) still rewrites them at its next stop.
  const rewriteOwed = dataDir ? join(dataDir, ERASURE_REWRITE_MARKER) : undefined;
  let erasedSinceStart = rewriteOwed !== undefined && existsSync(rewriteOwed);
  /** Rewrite dynalite's files at the next clean stop (`why`: what deleted an item that named a customer), owed in the data folder until then. */
  function oweRewrite(why: string): void {
    if (rewriteOwed && !erasedSinceStart) writeFileSync(rewriteOwed, `dynalite files to rewrite at the next clean stop (${why})\n`, { flush: true });
    erasedSinceStart = true;
  }
  erasure.redact = async (ids) => {
    oweRewrite('an erasure');
    const erased = new Set(ids);
    // Each field names one kind of id (`idsNamedBy`): a userId, previousId or customer id a known customer (or, as a
    // profile id, `anon:<v>`), an anonymousId a visitor (`anon:<v>`). Never both: erasing visitor `anon:B` is not erasing customer `B`.
    const erasedId = (v: unknown): string | undefined => (typeof v === 'string' && erased.has(v) ? v : undefined);
    // The erased life only: a customer who came back keeps the events of their new life (see startsNewLife).
    const tombstones = new Map<string, Tombstone | undefined>(await Promise.all(ids.map(async (id) => [id, await profiles.tombstone(id, clock.now())] as const)));
    // Who came back: a live profile whose new life began at this erasure, since the erasure completed.
    const newLifeSince = new Map<string, string>();
    for (const [id, tombstone] of tombstones) {
      if (tombstone?.completedAt !== undefined && (await profiles.hasNewLife(id, tombstone))) newLifeSince.set(id, tombstone.completedAt);
    }
    // An event of the new life: one that starts it, or (a one-click unsubscribe among them) one after it began.
    const ofNewLife = (d: { timestamp?: unknown; receivedAt?: unknown; sourceId?: unknown; type?: unknown; event?: unknown }, named: string[]) =>
      typeof d.timestamp === 'string' &&
      typeof d.receivedAt === 'string' &&
      named.every((id) => {
        const tombstone = tombstones.get(id);
        const event = {
          timestamp: d.timestamp as string,
          receivedAt: d.receivedAt as string,
          ...(typeof d.sourceId === 'string' && { sourceId: d.sourceId }),
          ...(typeof d.type === 'string' && { type: d.type }),
          ...(typeof d.event === 'string' && { event: d.event }),
        };
        return tombstone !== undefined && (startsNewLife(event, tombstone) || (newLifeSince.has(id) && belongsAfter(event, tombstone)));
      });
    const ofErasedLife = (e: { detail: unknown }) => {
      const d = e.detail as { timestamp?: unknown; receivedAt?: unknown; sourceId?: unknown; type?: unknown; event?: unknown };
      // The ids it names as the dead-letter sink reads them (an SES event names its customer in the message's tags).
      const named = idsNamedBy(e.detail).filter((x) => erased.has(x));
      return named.length > 0 && !ofNewLife(d, named);
    };
    bus.forget(ofErasedLife);
    // A live customer's letter naming an erased id only as the one to join (`withoutErasedLink`): kept without it, as the
    // sink's check keeps it; a redrive applies the rest to the customer, as the consumer would (the id is erased now).
    const erasedNow = new Map([...tombstones].filter((e): e is [string, Tombstone] => e[1] !== undefined));
    for (const letter of [...deadLetters.letters]) {
      const reduced = withoutErasedLink(letter, erasedNow);
      if (reduced !== undefined && !ofErasedLife(reduced.event)) deadLetters.replace(reduced);
    }
    // A letter reduced to the denials of a customer received after their erasure completed (`handOnDenials`) is kept for
    // their new life, unless an erasure that completed after its receipt (a later one) erased them.
    const heldDenials = (l: DeadLetter) => {
      const d = l.event.detail as { receivedAt?: unknown };
      if (!l.denials || typeof d.receivedAt !== 'string') return false;
      const receivedAt = d.receivedAt;
      return idsNamedBy(d)
        .filter((x) => erased.has(x))
        .every((x) => {
          const tombstone = tombstones.get(x);
          return tombstone !== undefined && receivedAfterErasure({ receivedAt }, tombstone);
        });
    };
    deadLetters.remove((l) => ofErasedLife(l.event) && !heldDenials(l));
    // Likewise the outbox: a message sent after the erasure completed to a customer living a new life is theirs.
    const erasedLife = (id: string, m: OutboxEntry) => !(m.at > (newLifeSince.get(id) ?? '\uffff'));
    outbox.forget((m) => {
      // A test send rendered with the customer's data (their traits, their one-click link) is theirs too.
      if (m.channel !== 'webhook' && m.renderedFor !== undefined && erased.has(m.renderedFor)) return erasedLife(m.renderedFor, m);
      const tagged = 'tags' in m ? (m.tags as Record<string, string>).customer : undefined;
      const id = erasedId(tagged);
      if (id !== undefined) return erasedLife(id, m);
      if (m.channel !== 'webhook') return false;
      // A webhook names its customer in `customerId` (its body may name them by email only, or name others); entries
      // from before it did, by the id in the body.
      if (m.customerId !== undefined) return erased.has(m.customerId) && erasedLife(m.customerId, m);
      return ids.some((x) => m.body.includes(JSON.stringify(x)) && erasedLife(x, m));
    });
    journeys.sfn.compact();
    compaction = compaction.then(() => dynamo.compact()).catch((e: unknown) => logger.error('dynalite compaction failed', e as Error));
  };

  // Tracking-plan violations recorded before the messageId was hashed (5e95bcb) hold it raw (attribute and sort key),
  // and erasure never looks at them: rewritten in their hashed form, once per data folder (a marker file says so);
  // dynalite's files are then rewritten at stop, as after an erasure (the old values would linger in them).
  const violationsHashed = dataDir ? join(dataDir, VIOLATIONS_HASHED_MARKER) : undefined;
  if (violationsHashed === undefined || !existsSync(violationsHashed)) {
    const rewritten = await hashOldViolations(doc, PROFILE_TABLE);
    if (rewritten > 0) {
      logger.info('tracking-plan violations from before the messageId hash rewritten', { rewritten });
      oweRewrite('old violations rewritten');
    }
    if (violationsHashed) writeFileSync(violationsHashed, 'tracking-plan violations hold a hash of the messageId only (see functions/ingest/violations.ts)\n');
  }
  // Link marks from before they were keyed by a hash (`C#<customer>` / `N#<linked id>`): the erasure of the id they name
  // does not reach them. Rewritten once per data folder (`migrateOldLinkMarkers`; in AWS infra/tools/migrate-link-markers.ts).
  const linkMarksHashed = dataDir ? join(dataDir, LINK_MARKS_HASHED_MARKER) : undefined;
  if (linkMarksHashed === undefined || !existsSync(linkMarksHashed)) {
    const rewritten = await profiles.migrateOldLinkMarkers(() => clock.now());
    if (rewritten > 0) {
      logger.info('link marks from before the hashed key rewritten', { rewritten });
      oweRewrite('old link marks rewritten');
    }
    if (linkMarksHashed) writeFileSync(linkMarksHashed, 'link marks are keyed by a hash of the id they name (see functions/profile/store.ts markLinks)\n');
  }

  // Simulated SES feedback on an outbox email: the SES event AWS would publish, put on the bus (see sesFeedbackEntry).
  const feedbackCount = new Map<string, number>();
  const simulateFeedback = (outboxId: string, feedback: SimulatedFeedback): { eventId: string; detailType: string; lost?: true } | string => {
    const email = outbox.entries.find((e) => e.outboxId === outboxId);
    if (email?.channel !== 'email') return `no email with outbox id ${JSON.stringify(outboxId)}`;
    const key = `${outboxId}#${feedback.type}`;
    const n = feedbackCount.get(key) ?? 0;
    feedbackCount.set(key, n + 1);
    const entry = sesFeedbackEntry(email, feedback, clock.now(), n);
    // SES delivers its events to EventBridge best-effort: the twin loses one as it loses a status change.
    if (!bus.deliversBestEffort()) return { eventId: '', detailType: entry.DetailType, lost: true };
    const result = bus.putEvents([entry]);
    return { eventId: result.Entries?.[0]?.EventId ?? '', detailType: entry.DetailType };
  };

  // The ingest API's paths, as the stack deploys them (infra/topology); the ingest service answers each (INGEST_PATHS).
  const ingestPaths = new Set<string>(routesOf('ingest').map((route) => route.path));
  // Dead letters being redriven: a second redrive leaves them alone.
  const redriving = new Set<string>();
  // Ingest (signed / write key) and one-click unsubscribe are meant to be called cross-site; see http-guard.ts.
  // Test sends (`rapport send-test`, to the outbox, marked as tests) and previews (the web UI), rendered as the gateway renders.
  const messageTools = createMessageTools({ templatesDir: options.templatesDir ?? 'workflows/templates', channels: outbox, channelsFor: (id) => outbox.renderedFor(id), profiles, unsubscribe: { baseUrl: () => url, keys: unsubscribeKeys }, clock });
  const guard = createHttpGuard({ crossSitePaths: ingestPaths, ...(options.allowedHosts && { allowedHosts: options.allowedHosts }) });
  const server: Server = createServer((req, res) => {
    // On virtual time a request holds the clock until its answer is sent (or the connection closes).
    if (virtual) {
      const end = virtual.begin();
      res.once('close', end);
      res.once('finish', end);
    }
    void route(req, res).catch((error: unknown) => {
      logger.error('embedded engine request failed', error as Error);
      if (!res.headersSent) send(res, 500, { error: 'internal', message: 'the embedded engine failed; see its log' });
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const verdict = guard({ method: req.method ?? 'GET', path: url.pathname, headers: req.headers, rawHeaders: req.rawHeaders, ...(req.url !== undefined && { target: req.url }) });
    if (!verdict.ok) {
      req.resume();
      return send(res, verdict.status, { error: verdict.error, message: verdict.message });
    }
    // Which of the stack's two APIs serves this path (any method: the function answers 405 for the others).
    const api = apiOfPath(url.pathname.replace(/\/$/, ''));
    // API Gateway invokes the route's function through its resource-based policy (on the twin: the template's);
    // refused, HTTP API answers 500 and the function never runs.
    if (api && options.authorize && (await routeRefused(options.authorize, api, req.method ?? 'GET', url.pathname.replace(/\/$/, '')))) {
      req.resume();
      return send(res, 500, { message: 'Internal Server Error' });
    }
    if (api === 'ingest') {
      const body = await readBody(req, HTTP_API_MAX_BODY);
      if (body === undefined) return send(res, 413, { error: 'payload_too_large', message: `body exceeds ${MAX_BODY_BYTES} bytes (1 MiB)` });
      const result = await invokeHttpLambda(ingest, ROUTE_FUNCTION_NAMES.ingest, {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        body,
        ...(req.socket.remoteAddress && { sourceIp: req.socket.remoteAddress }),
      });
      res.writeHead(result.statusCode, result.headers);
      res.end(result.body);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/v1/bus/events') {
      const limit = Math.min(Number(url.searchParams.get('limit') ?? 100) || 100, 10_000);
      const type = url.searchParams.get('detailType');
      const events = type ? bus.log.filter((e) => e['detail-type'] === type) : bus.log;
      return send(res, 200, { total: events.length, events: events.slice(-limit) });
    }
    if (api === 'customers' && routeTarget(url.pathname.replace(/\/$/, '')) === 'broadcastApi') {
      const body = await readBody(req, HTTP_API_MAX_BODY);
      if (body === undefined) return send(res, 413, { error: 'payload_too_large', message: 'body exceeds 10 MB' });
      const result = await invokeHttpLambda(broadcasts.api, ROUTE_FUNCTION_NAMES.broadcastApi, { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body });
      res.writeHead(result.statusCode, result.headers);
      res.end(result.body);
      return;
    }
    if (api === 'customers') {
      const result = await invokeHttpLambda(customerApi, ROUTE_FUNCTION_NAMES.customerApi, { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: Buffer.alloc(0) });
      res.writeHead(result.statusCode, result.headers);
      res.end(result.body);
      return;
    }
    if (req.method === 'POST' && url.pathname === '/v1/admin/sweep') return send(res, 200, await sweep());
    if (req.method === 'POST' && url.pathname === '/v1/admin/reload') {
      req.resume();
      const answer = reloadJourneys(journeys);
      return send(res, answer.status, answer.body);
    }
    if (req.method === 'GET' && url.pathname === '/v1/journeys') {
      return send(res, 200, {
        journeys: journeys.compiled.map((j) => ({
          id: j.id,
          version: j.version,
          triggerPatterns: j.triggerPatterns,
          goalPatterns: j.goalPatterns,
          transitionsPerPath: j.transitionsPerPath,
          mermaid: j.mermaid,
          sends: emailAndSmsSends(j),
        })),
      });
    }
    const stats = /^\/v1\/journeys\/([^/]+)\/stats$/.exec(url.pathname);
    if (req.method === 'GET' && stats) {
      const id = decodeURIComponent(stats[1]!);
      const current = journeys.compiled.find((j) => j.id === id);
      // A journey a reload removed whose runs may still be in flight: its kept versions' counters, marked removed.
      const removed = current === undefined ? journeys.retired.filter((j) => j.id === id).sort((a, b) => b.version - a.version)[0] : undefined;
      if (!current && !removed) return send(res, 404, { error: 'journey_not_found', message: `no journey with id ${JSON.stringify(id)}` });
      const { total: counters, versions } = await journeys.records.statsByVersion(id);
      const { attribution, version } = (current ?? removed)!;
      const experiments = current?.experiments ?? {};
      return send(res, 200, {
        journeyId: id,
        version,
        ...(removed && { removed: true }),
        counters,
        // The same counters per journey version the runs started on (runs of older versions finish on theirs).
        versions,
        attribution: attribution === undefined ? null : attributionView(counters, attribution),
        experiments: Object.fromEntries(Object.entries(experiments).map(([stepId, variants]) => [stepId, experimentView(counters, stepId, variants)])),
        holdout: holdoutView(counters) ?? null,
      });
    }
    const runsAt = /^\/v1\/journeys\/([^/]+)\/runs$/.exec(url.pathname);
    if (req.method === 'GET' && runsAt) return send(res, ...(await whoIsWhere(decodeURIComponent(runsAt[1]!), url.searchParams)));
    const feedbackPath = /^\/v1\/outbox\/([^/]+)\/feedback$/.exec(url.pathname);
    if (req.method === 'POST' && feedbackPath) {
      const body = parseFeedbackBody(await readBody(req, 64 * 1024));
      if (typeof body === 'string') return send(res, 400, { error: 'invalid_request', message: body });
      const published = simulateFeedback(decodeURIComponent(feedbackPath[1]!), body);
      if (typeof published === 'string') return send(res, 404, { error: 'not_found', message: published });
      return send(res, 202, published);
    }
    if (req.method === 'GET' && url.pathname === '/v1/outbox') return send(res, 200, { messages: outbox.entries.slice(-Number(url.searchParams.get('limit') ?? 100)) });
    if (req.method === 'POST' && url.pathname === '/v1/admin/send-test') {
      const answer = await messageTools.sendTest(await readBody(req, 64 * 1024));
      return send(res, answer.status, answer.body);
    }
    if (req.method === 'GET' && url.pathname === '/v1/admin/preview.html') {
      const page = await messageTools.previewHtml(url.searchParams);
      res.writeHead(page.status, page.headers);
      res.end(page.body);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/v1/admin/preview') {
      const answer = await messageTools.preview(url.searchParams);
      return send(res, answer.status, answer.body);
    }
    if (req.method === 'GET' && url.pathname === '/v1/admin/dead-letters') {
      await checkDeadLetters(DEAD_LETTER_CHECK_RETRIES);
      return send(res, 200, { deadLetters: deadLetters.letters.map(deadLetterView) });
    }
    if (req.method === 'POST' && url.pathname === '/v1/admin/dead-letters/redrive') {
      const ids = parseRedriveBody(await readBody(req, 1024 * 1024));
      if (typeof ids === 'string') return send(res, 400, { error: 'invalid_request', message: ids });
      // Checked first (a letter of an erased customer goes now); one still unchecked is redriven all the same: the
      // function it goes to checks the tombstone itself. Denials to hand on stay in their letter, which this redrives.
      await checkDeadLetters(DEAD_LETTER_CHECK_RETRIES, undefined, { deliver: false });
      return send(res, 200, await redrive(deadLetters, (rule, event) => bus.redeliver(rule, event), ids, redriving));
    }
    if (req.method === 'GET' && url.pathname === '/health') return send(res, 200, { status: 'ok' });
    if (await handleUi(req, res, url)) return;
    send(res, 404, { error: 'not_found', message: `nothing at ${req.method} ${url.pathname}` });
  }

  /**
   * `GET /v1/journeys/{id}/runs?step=<id>&status=running&limit=&cursor=`: who is where, the running runs at a step
   * now (from GSI2, paged), each with its customer and since when; bad input gets a 400 naming the parameter.
   */
  async function whoIsWhere(journeyId: string, query: URLSearchParams): Promise<[number, Record<string, unknown>]> {
    const journey = journeys.compiled.find((j) => j.id === journeyId);
    if (!journey) return [404, { error: 'journey_not_found', message: `no journey with id ${JSON.stringify(journeyId)}` }];
    const steps = Object.keys(journey.definition.States).filter((name) => /^[a-z0-9]/.test(name) && !name.includes('.'));
    const step = query.get('step');
    if (step === null || !steps.includes(step)) {
      return [400, { error: 'invalid_step', message: `step must be one of the journey's steps: ${steps.join(', ')}${step === null ? '' : ` (got ${JSON.stringify(step)})`}` }];
    }
    const status = query.get('status') ?? 'running';
    if (status !== 'running') return [400, { error: 'invalid_status', message: 'status must be "running": only a running run is at a step (ended runs are under /v1/customers/{id}/journeys)' }];
    const limitParam = query.get('limit');
    const limit = limitParam === null ? 100 : Number(limitParam);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return [400, { error: 'invalid_limit', message: 'limit must be a whole number from 1 to 1000' }];
    try {
      const page = await journeys.records.runsAt(journeyId, step, limit, query.get('cursor') ?? undefined);
      return [200, { journeyId, step, runs: page.runs, ...(page.next !== undefined && { next: page.next }) }];
    } catch (error) {
      if (error instanceof InvalidRunsCursorError) return [400, { error: 'invalid_cursor', message: `cursor: ${error.message}` }];
      throw error;
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  url = `http://127.0.0.1:${port}`;
  // The broadcast files, once links can point at the engine.
  await broadcasts.createFromFiles();
  // Erasures a previous run left incomplete (killed mid-DELETE, a visitor's erasure whose event was dead-lettered):
  // finished now, as the sweep does in AWS. One that fails again is left for the sweep.
  const erasures = await resumeInterruptedErasures(profiles, clock, clock.now(), erasureHooks);
  if (erasures.resumed + erasures.failed > 0) logger.info('interrupted erasures finished at start', erasures);
  // Hold writes a previous run left open (killed between a write and its check): checked again now, as the sweep does.
  const open = await profiles.recheckOpenHoldWrites(clock.now(), clock.now());
  if (open.checked + open.failed > 0) logger.info('open hold writes checked at start', open);
  if (open.checked > 0) oweRewrite('open hold writes closed');
  // Letters a previous run could not check (or stopped before checking), checked before anyone lists them.
  await checkDeadLetters(DEAD_LETTER_CHECK_RETRIES);

  return {
    url,
    bus,
    outbox,
    feedback(outboxId, feedback) {
      const published = simulateFeedback(outboxId, feedback);
      if (typeof published === 'string') throw new Error(published);
      return published;
    },
    journeys,
    broadcasts,
    dynamo,
    profiles,
    deadLetters: deadLetters.letters,
    sweep,
    // On virtual time a delivery waiting out a retry backoff is a timer, not work: settle waits for idle (run the clock to retry).
    settle: () => (virtual ? virtual.idle() : bus.drain()),
    async stop() {
      if (sweepTimer) clearInterval(sweepTimer);
      // A letter whose tombstone check is owed is checked once more before the files are left as they are (nothing is
      // delivered while stopping: denials to hand on are kept in their letter, for the next start).
      await checkDeadLetters(DEAD_LETTER_CHECK_RETRIES, undefined, { deliver: false });
      virtualSweep?.cancel();
      await Promise.allSettled([...timerSweeps]);
      // Close every connection at once: a page polling on a keep-alive connection keeps it busy, and
      // server.close() alone waits for it to go idle (the UI test's stop timed out so on a loaded machine).
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await bus.drain();
      // With a data folder, running executions are suspended (and resume at the next start); in memory they stop.
      await journeys.sfn.close();
      await broadcasts.sfn.close();
      // What the stops delivered is finished too: the cursors are written last.
      await bus.drain();
      bus.close();
      await compaction;
      eventBridge.destroy();
      // After an erasure, the files are rewritten with live entries only (a compaction may leave a deleted value behind).
      await dynamo.close({ rewrite: erasedSinceStart });
      if (rewriteOwed && erasedSinceStart) rmSync(rewriteOwed, { force: true });
    },
  };
}

/** How many times the dead-letter sink retries a tombstone read that fails (backoff 50 ms, doubling). */
const DEAD_LETTER_CHECK_RETRIES = 4;

/** `fn`, retried `retries` times on an error, with a doubling backoff from 50 ms (`sleep`: real time by default). */
async function retried<T>(fn: () => Promise<T>, retries: number, sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms))): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= retries) throw error;
      await sleep(50 * 2 ** attempt);
    }
  }
}

/**
 * A dead letter as `/v1/admin/dead-letters` lists it: one whose tombstone check is still owed shows neither its event's
 * detail nor its error (it may be an erased customer's, and an error may name their id).
 */
const deadLetterView = (letter: DeadLetter): DeadLetter | (Omit<DeadLetter, 'event'> & { event: Omit<DeadLetter['event'], 'detail'> & { detail: null } }) =>
  letter.unchecked ? { ...letter, event: { ...letter.event, detail: null }, error: 'withheld until the erasure check of the ids it names can be made' } : letter;

/** The data folder's file that says its violations were rewritten in their hashed form (`hashOldViolations`). */
const VIOLATIONS_HASHED_MARKER = 'violations-hashed';

/** The data folder's file that says its link marks were rewritten keyed by a hash (`migrateOldLinkMarkers`). */
const LINK_MARKS_HASHED_MARKER = 'link-marks-hashed';

/**
 * The engine's function name (its Powertools service name) of each of the topology's functions that a route invokes:
 * `route` invokes them under it, and `routeRefused` asks whether API Gateway may.
 */
const ROUTE_FUNCTION_NAMES = { ingest: 'rapport-ingest', customerApi: 'rapport-customers', broadcastApi: 'rapport-broadcasts' } as const satisfies Partial<Record<RapportFunctionId, string>>;

/**
 * Whether API Gateway may invoke the function of the route `method path` matches on `api` (a request matching no
 * route goes to the API's function, which answers 405 as the stack's catch-all would not: not a matter of IAM).
 */
async function routeRefused(authorize: AwsCallAuthorizer, api: RapportApi, method: string, path: string): Promise<boolean> {
  const route = findRoute(method, path, api);
  const functionName = route && (ROUTE_FUNCTION_NAMES as Partial<Record<RapportFunctionId, string>>)[route.target];
  if (!route || functionName === undefined) return false;
  return (await invocationDenied(authorize, functionName, { route: { api, method: route.method, path: route.path } })) !== undefined;
}

/** The data folder's file that says an erasure's rewrite of dynalite's files is owed (see `erasure.redact`). */
export const ERASURE_REWRITE_MARKER = 'erasure-rewrite-owed';

/**
 * The daily sweep's interval in real milliseconds: one day of the engine's clock, so that on a
 * scaled clock (RAPPORT_TIME_SCALE) time-based stages and tags move as fast as waits do. Not under
 * 100 ms, however fast the clock.
 */
export function defaultSweepEveryMs(clock: Clock): number {
  const period = SWEEP_SCHEDULE.everyMs; // the stack's schedule: daily
  return clock instanceof ScaledClock ? Math.max(100, period / clock.scale) : period;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * The body of `POST /v1/admin/dead-letters/redrive`: empty or `{}` (all), or `{"ids": ["dl-1", ...]}`.
 * Returns the ids (undefined: all), or what is wrong with it.
 */
export function parseRedriveBody(body: Buffer | undefined): string[] | undefined | string {
  if (body === undefined) return 'the body is over 1 MiB';
  const text = body.toString('utf8').trim();
  if (text === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'the body must be JSON: {} to redrive every dead letter, or {"ids": ["dl-1", ...]}';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'the body must be a JSON object: {} or {"ids": ["dl-1", ...]}';
  const unknown = Object.keys(value).filter((k) => k !== 'ids');
  if (unknown.length > 0) return `unknown field ${JSON.stringify(unknown[0])}: the body takes "ids" only`;
  const { ids } = value as { ids?: unknown };
  if (ids === undefined) return undefined;
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === 'string' && id !== '')) return '"ids" must be a non-empty array of dead-letter ids (strings such as "dl-1")';
  return ids as string[];
}

/** The body of `POST /v1/outbox/{id}/feedback`: `{"type": "bounce"|..., "bounceType"?, "link"?}`, or what is wrong with it. */
export function parseFeedbackBody(body: Buffer | undefined): SimulatedFeedback | string {
  const usage = `the body must be JSON: {"type": ${SIMULATED_FEEDBACK.map((t) => JSON.stringify(t)).join('|')}, "bounceType"?: "Permanent"|"Transient"|"Undetermined", "link"?: "https://..."}`;
  if (body === undefined) return 'the body is over 64 KiB';
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return usage;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return usage;
  const { type, bounceType, link, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) return `unknown field ${JSON.stringify(unknown[0])}: ${usage}`;
  if (!(SIMULATED_FEEDBACK as readonly unknown[]).includes(type)) return `"type" must be one of ${SIMULATED_FEEDBACK.join(', ')}`;
  if (bounceType !== undefined && !['Permanent', 'Transient', 'Undetermined'].includes(bounceType as string)) return '"bounceType" must be Permanent, Transient or Undetermined';
  if (link !== undefined && typeof link !== 'string') return '"link" must be a string';
  return { type: type as SimulatedFeedback['type'], ...(bounceType !== undefined && { bounceType: bounceType as NonNullable<SimulatedFeedback['bounceType']> }), ...(link !== undefined && { link: link as string }) };
}

/** Read the whole body; `undefined` when it exceeds `limit` (the rest is drained, not kept). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export interface EnvConfig {
  port: number;
  dataDir: string;
  source: { id: string; webhookSecret: string; writeKey: string };
  unsubscribeKeys: string[];
  allowedHosts: string[];
  /** `RAPPORT_BROADCAST_RATES`: messages per second all broadcasts together may send per channel. */
  broadcastRates: BroadcastRates;
  generated: { webhookSecret: boolean; writeKey: boolean };
}

/**
 * The embedded engine's configuration from the environment. Without
 * RAPPORT_WEBHOOK_SECRET / RAPPORT_WRITE_KEY, development credentials are
 * generated once and kept in the data folder, so restarts keep them.
 */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): EnvConfig {
  const port = Number(env[ENV.PORT] ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${ENV.PORT} must be a port number, got ${JSON.stringify(env[ENV.PORT])}`);
  const dataDir = env[ENV.DATA_DIR] || '.rapport';
  const devFile = join(dataDir, 'dev-credentials.json');
  const saved = existsSync(devFile) ? (JSON.parse(readFileSync(devFile, 'utf8')) as { webhookSecret?: string; writeKey?: string; unsubscribeSecret?: string }) : {};
  const webhookSecret = env[ENV.WEBHOOK_SECRET] || saved.webhookSecret || `whsec_${randomBytes(24).toString('base64')}`;
  const writeKey = env[ENV.WRITE_KEY] || saved.writeKey || `wk_${randomBytes(12).toString('hex')}`;
  // A key, or a JSON list of keys newest first (rotation), as in the AWS secret.
  const unsubscribeSecret = env[ENV.UNSUBSCRIBE_SECRET] || saved.unsubscribeSecret || randomBytes(32).toString('base64url');
  const unsubscribeKeys = unsubscribeKeysFromValue(unsubscribeSecret, ENV.UNSUBSCRIBE_SECRET);
  const generated = { webhookSecret: !env[ENV.WEBHOOK_SECRET], writeKey: !env[ENV.WRITE_KEY] };
  if (generated.webhookSecret || generated.writeKey || !env[ENV.UNSUBSCRIBE_SECRET]) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(devFile, JSON.stringify({ webhookSecret, writeKey, unsubscribeSecret }, null, 2), { mode: 0o600 });
  }
  const allowedHosts = parseAllowedHosts(env[ENV.ALLOWED_HOSTS], ENV.ALLOWED_HOSTS);
  const broadcastRates = env[BROADCAST_ENV.BROADCAST_RATES] ? parseBroadcastRates(env[BROADCAST_ENV.BROADCAST_RATES], BROADCAST_ENV.BROADCAST_RATES) : {};
  return { port, dataDir, source: { id: 'default', webhookSecret, writeKey }, unsubscribeKeys, allowedHosts, broadcastRates, generated };
}

/**
 * `POST /v1/admin/reload` (and `npm start` on a file change): the journeys and templates reloaded from their folders,
 * by the rules of a release (see wireJourneys' `reload`). `200` with the journeys now and what changed, as `rapport
 * plan` lists it; a broken file `422 invalid_journeys` with every problem at `file:line:col`, and nothing changed.
 */
export function reloadJourneys(journeys: Pick<ReturnType<typeof wireJourneys>, 'reload' | 'compiled'>): { status: number; body: Record<string, unknown> } {
  try {
    const { plans } = journeys.reload();
    return { status: 200, body: { journeys: journeys.compiled.map((j) => ({ id: j.id, version: j.version })), changes: plans } };
  } catch (error) {
    if (error instanceof TopicsFileError) return { status: 422, body: { error: 'invalid_topics', message: `nothing was reloaded: ${error.problems.length} problem(s) in topics.yaml; the journeys and topics in use are unchanged`, problems: error.problems } };
    if (!(error instanceof JourneyError)) throw error;
    return { status: 422, body: { error: 'invalid_journeys', message: `nothing was reloaded: ${error.errors.length} problem(s); the journeys running are unchanged`, problems: error.errors } };
  }
}
