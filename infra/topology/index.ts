import { sesFeedbackPattern } from '../../functions/feedback/ses-event';
import { isStarterPattern } from '../../functions/journeys/runtime';
import { PREFERENCES_PATH, UNSUBSCRIBE_PATH } from '../../functions/journeys/unsubscribe';
import { PROFILE_CONSUMER_PATTERN } from '../../shared/config/env';
import type { EventPattern } from '../../shared/pattern';

/**
 * Rapport's topology: the routes, bus rules, schedules and grants of its functions,
 * as data that both homes read. The CDK construct (infra/cdk/areas) deploys each
 * entry; the embedded engine (infra/embedded) routes, subscribes and schedules by
 * the same entries. tests/infra/topology.test.ts proves, entry by entry, that each
 * one exists in the synthesized template and in a running engine: a route, a rule
 * or a schedule added in one home only fails it.
 *
 * Plain data, no CDK: the engine loads it at run time. Durations and delivery
 * settings that only AWS has (retry attempts, event age) stay in infra/cdk/defaults.ts.
 */

/** Rapport's functions, by the key both homes and `RapportObservability` use. */
export const RAPPORT_FUNCTIONS = ['ingest', 'profileConsumer', 'sweep', 'customerApi', 'journeyStep', 'journeyStarter', 'journeyRunEnded', 'sesFeedback', 'broadcastApi', 'broadcastPage'] as const;
export type RapportFunctionId = (typeof RAPPORT_FUNCTIONS)[number];

// ---- Routes ----

/** The two HTTP APIs: ingest (unauthenticated at the gateway; the function verifies) and the IAM-authorised customer API. */
export type RapportApi = 'ingest' | 'customers';
export type RouteMethod = 'GET' | 'POST' | 'DELETE';

export interface ApiRoute {
  readonly api: RapportApi;
  readonly method: RouteMethod;
  /** An HTTP API route path: `{name}` stands for one path segment. */
  readonly path: string;
  /** The function the route invokes. */
  readonly target: RapportFunctionId;
}

/** Standard Webhooks (`/v1/events`) and the Segment HTTP Tracking API paths; each accepts POST. */
const INGEST_POST_PATHS = ['/v1/events', '/v1/track', '/v1/identify', '/v1/page', '/v1/screen', '/v1/group', '/v1/alias', '/v1/batch'] as const;

/** Every route of both APIs, in the order the stack adds them. */
export const ROUTES: readonly ApiRoute[] = [
  ...INGEST_POST_PATHS.map((path) => ({ api: 'ingest', method: 'POST', path, target: 'ingest' }) as const),
  // One-click unsubscribe (RFC 8058): GET shows the confirmation page, POST (what mail clients send) unsubscribes.
  { api: 'ingest', method: 'GET', path: UNSUBSCRIBE_PATH, target: 'ingest' },
  { api: 'ingest', method: 'POST', path: UNSUBSCRIBE_PATH, target: 'ingest' },
  // The preference page every message links to: GET lists the topics per channel, POST (a plain form) saves the choices.
  { api: 'ingest', method: 'GET', path: PREFERENCES_PATH, target: 'ingest' },
  { api: 'ingest', method: 'POST', path: PREFERENCES_PATH, target: 'ingest' },
  { api: 'customers', method: 'GET', path: '/v1/customers/{id}', target: 'customerApi' },
  { api: 'customers', method: 'GET', path: '/v1/customers/{id}/events', target: 'customerApi' },
  { api: 'customers', method: 'GET', path: '/v1/customers/{id}/export', target: 'customerApi' },
  { api: 'customers', method: 'GET', path: '/v1/customers/{id}/messages', target: 'customerApi' },
  { api: 'customers', method: 'GET', path: '/v1/customers/{id}/journeys', target: 'customerApi' },
  { api: 'customers', method: 'DELETE', path: '/v1/customers/{id}', target: 'customerApi' },
  // Segments (every tag, lifecycle stage and RFM tier): counts and members, paged.
  { api: 'customers', method: 'GET', path: '/v1/customers', target: 'customerApi' },
  { api: 'customers', method: 'GET', path: '/v1/segments', target: 'customerApi' },
  { api: 'customers', method: 'GET', path: '/v1/segments/{id}', target: 'customerApi' },
  { api: 'customers', method: 'GET', path: '/v1/segments/{id}/customers', target: 'customerApi' },
  // What the ingest recorded for events of `flag` sources that broke the tracking plan.
  { api: 'customers', method: 'GET', path: '/v1/tracking-plan/violations', target: 'customerApi' },
  // Broadcasts: a one-off message to a segment; created (and started), read with their counters, cancelled.
  { api: 'customers', method: 'GET', path: '/v1/broadcasts', target: 'broadcastApi' },
  { api: 'customers', method: 'POST', path: '/v1/broadcasts', target: 'broadcastApi' },
  { api: 'customers', method: 'GET', path: '/v1/broadcasts/{id}', target: 'broadcastApi' },
  { api: 'customers', method: 'DELETE', path: '/v1/broadcasts/{id}', target: 'broadcastApi' },
];

/** The routes of one API, in order. */
export const routesOf = (api: RapportApi): readonly ApiRoute[] => ROUTES.filter((route) => route.api === api);

/** Whether the request path `path` matches the route path `routePath` (`{name}`: one non-empty segment). */
export function matchesRoutePath(routePath: string, path: string): boolean {
  const want = routePath.split('/');
  const got = path.split('/');
  return want.length === got.length && want.every((segment, i) => (/^\{[^}]+\}$/.test(segment) ? got[i] !== '' : segment === got[i]));
}

/** The route of `api` whose path matches `path` and whose method is `method`, if any. */
export function findRoute(method: string, path: string, api?: RapportApi): ApiRoute | undefined {
  return ROUTES.find((route) => (api === undefined || route.api === api) && route.method === method && matchesRoutePath(route.path, path));
}

/** The function that serves `path` (any method; it answers the others with 405), if one does. */
export function routeTarget(path: string): RapportFunctionId | undefined {
  return ROUTES.find((route) => matchesRoutePath(route.path, path))?.target;
}

/** The API that serves `path` (any method; the function answers the others with 405), if one does. */
export function apiOfPath(path: string): RapportApi | undefined {
  return ROUTES.find((route) => matchesRoutePath(route.path, path))?.api;
}

// ---- Bus rules ----

/** A rule on the Rapport bus: what it matches and which function it delivers to. */
export interface BusRuleSpec {
  /** The construct id of the rule in the stack (under `Journey-<id>` for trigger rules). */
  readonly id: string;
  /** The rule's name on the embedded bus (it keys the engine's delivery cursor: never rename one). */
  readonly engineName: string;
  /** The EventBridge pattern, the same object in both homes. */
  readonly pattern: EventPattern;
  readonly target: RapportFunctionId;
}

/** Customer events from ingest to the profile consumer (derived events do not match). */
export const PROFILE_CONSUMER_RULE: BusRuleSpec = {
  id: 'ProfileConsumerRule',
  engineName: 'profile-consumer',
  pattern: PROFILE_CONSUMER_PATTERN,
  target: 'profileConsumer',
};

/** A journey as its rules need it: the compiled journey's id and trigger patterns. */
export interface TriggeredJourney {
  readonly id: string;
  readonly triggerPatterns: readonly EventPattern[];
}

/** The rules that start `journey`, one per trigger pattern, to the journey starter. */
export function journeyTriggerRules(journey: TriggeredJourney): BusRuleSpec[] {
  // Derived events' triggers only (`isStarterPattern`): a customer event's trigger is enrolled by the profile
  // consumer once it applied the event, so it needs no rule (and no starter racing the profile).
  return journey.triggerPatterns.flatMap((pattern, index) =>
    isStarterPattern(pattern) ? [{ id: `TriggerRule${index}`, engineName: `journey-${journey.id}-${index}`, pattern, target: 'journeyStarter' as const }] : [],
  );
}

/** Every rule on the Rapport bus, for these journeys. */
export function rapportBusRules(journeys: readonly TriggeredJourney[]): BusRuleSpec[] {
  return [PROFILE_CONSUMER_RULE, ...journeys.flatMap(journeyTriggerRules)];
}

/**
 * The end of a journey run, to the run-ended function. In AWS a rule on the default bus
 * (Step Functions publishes status changes there); in the engine, the local Step
 * Functions calls the function when a run reaches one of these statuses.
 */
export const RUN_ENDED = {
  id: 'JourneyRunEndedRule',
  source: 'aws.states',
  detailType: 'Step Functions Execution Status Change',
  /** The Step Functions statuses that end a run; RUNNING and PENDING_REDRIVE do not. */
  endStatuses: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'],
  target: 'journeyRunEnded',
} as const;

/**
 * SES feedback (bounce, complaint, delivery, open, click, reject, delivery delay) of the emails sent with
 * `configurationSetName`, to the SES feedback function. In AWS a rule on the default bus (SES publishes a
 * configuration set's events there only); in the engine, a rule on its bus, where the outbox's simulated
 * feedback is put.
 */
export const sesFeedbackRule = (configurationSetName: string): BusRuleSpec => ({
  id: 'SesFeedbackRule',
  engineName: 'ses-feedback',
  pattern: sesFeedbackPattern(configurationSetName),
  target: 'sesFeedback',
});

// ---- Schedules ----

/** A function run on a schedule: EventBridge Scheduler in AWS, a timer on the engine's clock. */
export interface ScheduleSpec {
  /** The construct id of the schedule in the stack. */
  readonly id: string;
  readonly target: RapportFunctionId;
  /** The default cron of the AWS schedule (a prop may replace it). */
  readonly cron: { readonly minute: string; readonly hour: string; readonly timeZone: string };
  /** The period of the cron, which the engine's timer runs at (on the engine's clock). */
  readonly everyMs: number;
}

/** The daily sweep of time-based tags (e.g. "inactive 30 days"): day-grained, so daily suffices. */
export const SWEEP_SCHEDULE: ScheduleSpec = {
  id: 'SweepSchedule',
  target: 'sweep',
  cron: { minute: '0', hour: '3', timeZone: 'Etc/UTC' },
  everyMs: 86_400_000,
};

/** Every schedule. */
export const SCHEDULES: readonly ScheduleSpec[] = [SWEEP_SCHEDULE];

// ---- Grants ----

/**
 * DynamoDB actions one function may call on the profile table and on its indexes (`indexes` on GSI1 and GSI2; with
 * `emailIndex`, Query on GSI3, the email index, too: `indexes` if there are any, else Query alone).
 */
export interface ProfileTableAccess {
  readonly table: readonly string[];
  readonly indexes: readonly string[];
  /** The index actions apply to the email index (GSI3) too: customer search. */
  readonly emailIndex?: boolean;
}

/**
 * DynamoDB actions on the profile table, by function: what `functions/profile/store.ts`
 * calls on that function's paths, and nothing else. No function may Scan.
 */
export const PROFILE_TABLE_ACCESS = {
  /**
   * `handleEvent`: profiles, aliases and tombstones read (GetItem); profiles,
   * aliases and timeline events written (PutItem); a merged visitor profile
   * deleted (DeleteItem). Then the journey router (`afterApply`, see
   * `functions/journeys/aws.ts` `awsJourneyRouter`): the customer's waits and
   * runs listed (Query), a wait taken and a lock freed (DeleteItem), a run
   * ended and counted (UpdateItem); then enrolment in the journeys the event
   * triggers (`applied`): the run lock taken and the run written (PutItem).
   * After a write that changed segment members, its tombstone and joined checks read at once (BatchGetItem).
   * The timeline events of a write that applied several written together (BatchWriteItem).
   * Cross-sell (`CoPurchaseStore.count`): each "bought after" pair counted once (UpdateItem), its count read
   * (GetItem) and its antecedent's top list rewritten under its version (GetItem, PutItem): no new action.
   * An email denial applied to a profile with an address, as the address's (`AH#<sha256(address)>`, `putAddressConsent`):
   * the item put (PutItem), the tombstone read and, for a customer erased meanwhile, whether another record has the
   * address (Query of the email index, GSI3; a phone number's listed records, Query), its pointer put (PutItem), else
   * the item deleted (DeleteItem). So for an SMS or WhatsApp denial and the phone number. A profile write bringing a
   * phone number lists the customer under it first (`AH#<sha256(number)>` / `H#<sha256(id)>` and its `AP#` pointer,
   * PutItem); undone for a customer erased meanwhile: their pointers read (Query) and both deleted (DeleteItem).
   */
  consumer: {
    table: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
    indexes: [],
    // A denial of an erased customer's address is kept while another record has the address (`#keepForLiveHolder`).
    emailIndex: true,
  } as ProfileTableAccess,
  /**
   * `reevaluate`: a profile read and written back (GetItem, PutItem); customers found
   * through the sparse indexes (Query): GSI1 `dueForReevaluation`, and GSI2
   * `lastOrderBefore`, which exists for the sweep's last-order tags. Then the journey
   * runtime's `reconcile`: running runs found through GSI1 (`RUN#<shard>`, Query), each
   * read (GetItem); an ended one ended and counted (UpdateItem: also its next check), its
   * lock freed (DeleteItem), its claimed sends listed (Query) and marked unknown (UpdateItem).
   * Runs a goal or exit ended, in GSI1 until their execution's end is known: their own end
   * recorded and counted, or just taken out of the index (UpdateItem).
   * Erasures never completed, found through GSI1 (`ERASING#<shard>`, Query) and finished as `erase` does
   * (`resumeInterruptedErasures`): progress written and items deleted in batches (BatchWriteItem); whether another
   * customer still has an erased customer's address, from the email index (Query of GSI3), before its address holds go;
   * for a phone number, the records listed under it (Query, strongly consistent) and their profiles (GetItem).
   */
  sweep: {
    // DeleteItem: a re-evaluation that finds the customer erased after its write undoes it (write, then check);
    // BatchGetItem: that check and, after segment member changes, whether the customer was joined meanwhile, at once.
    table: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
    indexes: ['dynamodb:Query'],
    // Erasure: whether another customer has an erased customer's address (`erase`, its address holds).
    emailIndex: true,
  } as ProfileTableAccess,
  /**
   * `get`, `listEvents`, `allItems`, `erase`: profiles read (GetItem), timelines,
   * journey messages and runs, and a customer's partitions read (Query), erased in
   * batches (BatchWriteItem), the tombstone written (PutItem). Before erasing, the
   * journey runtime's `stopAll` ends each running run (UpdateItem), frees its lock
   * (DeleteItem) and counts the stop (UpdateItem); the customer leaves every segment (UpdateItem).
   * Segments: counts read (GetItem, Query of the count shards), members listed from GSI1 (Query).
   */
  customerApi: {
    table: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchWriteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
    indexes: ['dynamodb:Query'],
    // Customer search by email (`GET /v1/customers?email=`), and erasure's check that another customer has an erased address.
    emailIndex: true,
  } as ProfileTableAccess,
} as const;

/**
 * DynamoDB actions on the profile table of the journey functions: what
 * `functions/journeys/store.ts` (runs, locks, messages, waits, counters) and
 * `functions/profile/store.ts` call on each function's paths, and nothing else.
 * None of them reads an index.
 */
export const JOURNEY_TABLE_ACCESS = {
  /**
   * `start`: the profile and an anonymous id's alias read (GetItem), the customer's
   * runs listed (Query), the run lock taken and the run written (PutItem),
   * counters added (UpdateItem). It never deletes.
   */
  // DeleteItem: a run started for a customer erased meanwhile is deleted with its lock (write, then check).
  starter: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
  /**
   * `run`: the profile and a step's message record read (GetItem), the consent and suppression holds of
   * every id of the customer read at once (BatchGetItem), sends and waits
   * recorded and the profile written by tag/update steps (PutItem), marketing
   * sends counted for the frequency cap (Query), counters added (UpdateItem).
   * Cross-sell: a send's `recommendations` and a branch on them read the top lists of the customer's
   * purchases at once (BatchGetItem, `CoPurchaseStore.tops`).
   */
  // DeleteItem: a tag/update step that finds the customer erased after its profile write undoes it (write, then check).
  step: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
  /** `executionEnded`: the run found (Query), ended and counted (UpdateItem), its lock freed (DeleteItem). */
  runEnded: ['dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
} as const;

/**
 * DynamoDB actions on the profile table of the SES feedback function (`functions/feedback/service.ts`):
 * the profile read (GetItem), the suppression hold written (PutItem) and, after an erasure raced it,
 * the tombstone read (GetItem) and the hold deleted (DeleteItem); the message record marked (UpdateItem).
 * With no live profile, a hard bounce or complaint reads the tombstone (GetItem): all GetItem, no new grant.
 * The suppression of the address (`AH#<sha256(address)>`): the profile read for its address (GetItem), the item put
 * (PutItem) and, for a customer erased meanwhile, deleted (DeleteItem): no new grant either.
 */
export const SES_FEEDBACK_TABLE_ACCESS: ProfileTableAccess = {
  // Query: the records listed under the address (`AH#<hash>` / `H#…`), whether one is still live.
  table: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
  indexes: [],
  // A complaint or bounce of mail to a customer erased since suppresses the address while another record has it
  // (Query of the email index, GSI3, then that record's pointer put).
  emailIndex: true,
};

/**
 * DynamoDB actions on the profile table of the broadcast functions (`functions/broadcasts/`).
 */
export const BROADCAST_TABLE_ACCESS = {
  /**
   * `create`, `list`, `get`, `cancel`: the broadcast written once (PutItem), listed from GSI1 (Query on the index),
   * read with its attribution counters (GetItem), cancelled (UpdateItem).
   */
  api: { table: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], indexes: ['dynamodb:Query'] } as ProfileTableAccess,
  /**
   * `page`: the broadcast read (GetItem), started, counted, completed (UpdateItem); the segment's members
   * listed from GSI1 (Query on the index); each recipient through the send gateway, as the journey step's
   * send: the profile and message read (GetItem), holds (BatchGetItem), the cap and sends (Query, UpdateItem),
   * the message claimed and deferred recipients kept (PutItem); a claim released, a write undone for an
   * erased customer, a deferred recipient done (DeleteItem); a template's `recommendations` read (BatchGetItem);
   * deferred recipients listed (Query); page cursors
   * kept (PutItem), rewound past an erased customer (Query of GSI1 or of the deferred, UpdateItem), dropped (DeleteItem).
   */
  page: {
    table: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
    indexes: ['dynamodb:Query'],
  } as ProfileTableAccess,
} as const;

/**
 * The profile table grants of every function that holds one, by function id: what
 * tests/infra/topology.test.ts compares with each function's role in the template.
 * (The ingest's are conditioned on leading keys; infra/cdk/areas/ingest.ts states them.)
 */
export const PROFILE_TABLE_GRANTS: Partial<Record<RapportFunctionId, ProfileTableAccess>> = {
  profileConsumer: PROFILE_TABLE_ACCESS.consumer,
  sweep: PROFILE_TABLE_ACCESS.sweep,
  customerApi: PROFILE_TABLE_ACCESS.customerApi,
  journeyStep: { table: JOURNEY_TABLE_ACCESS.step, indexes: [] },
  journeyStarter: { table: JOURNEY_TABLE_ACCESS.starter, indexes: [] },
  journeyRunEnded: { table: JOURNEY_TABLE_ACCESS.runEnded, indexes: [] },
  sesFeedback: SES_FEEDBACK_TABLE_ACCESS,
  broadcastApi: BROADCAST_TABLE_ACCESS.api,
  broadcastPage: BROADCAST_TABLE_ACCESS.page,
};
