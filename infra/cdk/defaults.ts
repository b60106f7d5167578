import * as path from 'node:path';
import { Duration, RemovalPolicy, TimeZone } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { DEFAULT_SEND_POLICY } from '../../functions/journeys';
import type { ConsentMode } from '../../shared';
import { JOURNEY_BUNDLE } from '../../shared/config/journey-env';
import { RUN_ENDED, SWEEP_SCHEDULE } from '../topology';
import type { RapportOutboundWebhook, RapportSendPolicy, RapportSource, RapportThrottle } from './rapport';

/** The profile table grants, by function: data of infra/topology, beside the routes, rules and schedules. */
export { BROADCAST_TABLE_ACCESS, JOURNEY_TABLE_ACCESS, PROFILE_TABLE_ACCESS, type ProfileTableAccess } from '../topology';

/** Repository root: entry, lock file and config paths must not depend on the directory synth runs in. */
export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * Defaults of the `Rapport` construct's optional props, kept apart from the
 * wiring so a reader sees every default in one place. The reasons are in the
 * `@default` docs of `RapportProps`.
 */
export const RAPPORT_DEFAULTS = {
  sources: [{ id: 'default' }] as readonly RapportSource[],
  eventArchiveRetention: Duration.days(30),
  logRetention: logs.RetentionDays.ONE_MONTH,
  removalPolicy: RemovalPolicy.RETAIN,
  apiThrottle: { rateLimit: 1000, burstLimit: 2000 } as RapportThrottle,
  timelineRetention: Duration.days(365),
  consentMode: 'opt-out' as ConsentMode,
  configDir: path.join(REPO_ROOT, 'workflows'),
  journeysDir: path.join(REPO_ROOT, 'workflows', 'journeys.d'),
  templatesDir: path.join(REPO_ROOT, 'workflows', 'templates'),
  outboundWebhooks: {} as Readonly<Record<string, RapportOutboundWebhook>>,
  /** The runtime's own defaults (`DEFAULT_SEND_POLICY`), so the cloud and the embedded engine decide alike. */
  sendPolicy: {
    frequencyCap: DEFAULT_SEND_POLICY.frequencyCap,
    frequencyWindowDays: DEFAULT_SEND_POLICY.frequencyWindowDays,
    frequencyCapMaxDelayDays: DEFAULT_SEND_POLICY.frequencyCapMaxDelayDays,
    quietHours: DEFAULT_SEND_POLICY.quietHours ?? false,
    defaultTimeZone: DEFAULT_SEND_POLICY.defaultTimeZone,
  } as Required<RapportSendPolicy>,
  /** The topology's sweep schedule (daily at 03:00 UTC); the embedded engine sweeps at the same period. */
  sweepSchedule: scheduler.ScheduleExpression.cron({
    minute: SWEEP_SCHEDULE.cron.minute,
    hour: SWEEP_SCHEDULE.cron.hour,
    timeZone: TimeZone.of(SWEEP_SCHEDULE.cron.timeZone),
  }),
} as const;

/** Settings every Rapport function shares; not props, because the bundles and the runtime depend on them. */
export const FUNCTION_DEFAULTS = {
  handler: 'handler',
  metricsNamespace: 'Rapport',
  /** esbuild target; matches the Lambda runtime (nodejs24.x). */
  bundlingTarget: 'node24',
} as const;

/** Fixed settings of the first leg of the data path; not props, because the runtime depends on them. */
export const INGEST = {
  /** Relative to the repository root. */
  entry: 'functions/ingest/handler.ts',
  handler: FUNCTION_DEFAULTS.handler,
  memorySize: 512,
  /** One second under the HTTP API integration limit of 30 s, so API Gateway never cuts the function off. */
  timeout: Duration.seconds(29),
  /** Powertools service name (logs, metrics, traces). */
  serviceName: 'rapport-ingest',
  /** Config files the ingest loads (bundled like the profile functions'): tags.yaml says which tags senders may set. */
  configFiles: ['tags.yaml'],
  /**
   * Config files the ingest loads when the config folder has them: tracking-plan.yaml (what known
   * events carry, flag or block per source; without it, the default plan) and topics.yaml (the topics the
   * preference page lists; without it, none).
   */
  optionalConfigFiles: ['tracking-plan.yaml', 'topics.yaml'],
  /**
   * Partitions of the profile table the ingest may write: consent holds (C#<id>), the holds kept for an erased id
   * (XH#<sha256(id)>, no id in them; not the tombstones' X#), an address's consent and suppression
   * (AH#<sha256(address)>, no id nor address in them), the open writes of those (XW#<sha256(id)>, closed once checked)
   * and tracking plan violations (TPV#<day>#<shard>).
   */
  profileTableLeadingKeys: ['C#*', 'XH#*', 'AH#*', 'XW#*', 'TPV#*'],
  metricsNamespace: FUNCTION_DEFAULTS.metricsNamespace,
  // Routes: ROUTES of infra/topology (api 'ingest').
  /** Failed deliveries wait here for inspection and redrive; 14 days is the SQS maximum. */
  deadLetterRetention: Duration.days(14),
} as const;

/**
 * The longest an old event can come back after it was received, besides the archive: EventBridge
 * retries a rule target up to 24 h, Lambda retries an async invocation up to 6 h, then the event
 * waits in the dead-letter queue (14 days) for a redrive. Rounded up to whole days, plus a day.
 */
export const REDELIVERY_DAYS = Math.ceil((24 + 6) / 24) + INGEST.deadLetterRetention.toDays() + 1;

/** How long an erasure's tombstone must live: longer than any replay or redelivery of an event received before it. */
export const requiredTombstoneDays = (eventArchiveRetention: Duration) => eventArchiveRetention.toDays({ integral: false }) + REDELIVERY_DAYS;

/** How long an asynchronous delivery keeps being retried before it goes to the dead-letter queue. */
export interface DeliveryRetry {
  readonly retryAttempts: number;
  readonly maxEventAge: Duration;
}

/**
 * Fixed settings of the profile leg: the consumer of customer events, the daily
 * sweep and the IAM-authorised customer admin API (`functions/profile/`).
 */
export const PROFILE = {
  /** The files `functions/profile` loads from the config folder: tag rules and segmentation settings. */
  configFiles: ['tags.yaml', 'segmentation.config.yaml'],
  /** Loaded when present: segments.yaml (named segments). */
  optionalConfigFiles: ['segments.yaml'],
  /** Folder of the bundle the config files are copied to, and where the functions find it in Lambda. */
  bundledConfigFolder: 'config',
  bundledConfigDir: '/var/task/config',
  consumer: {
    entry: 'functions/profile/consumer-handler.ts',
    serviceName: 'rapport-profile',
    memorySize: 512,
    /** One event: a few single-item writes, retried on optimistic-lock conflicts, and PutEvents. */
    timeout: Duration.seconds(30),
  },
  sweep: {
    entry: 'functions/profile/sweep-handler.ts',
    serviceName: 'rapport-sweep',
    memorySize: 1024,
    /** Walks every due customer in one run; the Lambda maximum, so a large day is not cut short. */
    timeout: Duration.minutes(15),
  },
  customerApi: {
    entry: 'functions/profile/api-handler.ts',
    serviceName: 'rapport-customers',
    memorySize: 512,
    /** One second under the HTTP API integration limit of 30 s. */
    timeout: Duration.seconds(29),
    /** The admin API is for operators and back-office tools, not for traffic. */
    throttle: { rateLimit: 50, burstLimit: 100 } as RapportThrottle,
    // Routes: ROUTES of infra/topology (api 'customers').
  },
  /**
   * EventBridge -> consumer: EventBridge retries only failed invocations
   * (throttling, service errors); 8 attempts within 6 hours ride out a regional
   * blip without holding events for days.
   */
  consumerRuleDelivery: { retryAttempts: 8, maxEventAge: Duration.hours(6) } as DeliveryRetry,
  /** Scheduler -> sweep: a missed sweep is caught up by the next day's, so 6 hours is enough. */
  sweepScheduleDelivery: { retryAttempts: 3, maxEventAge: Duration.hours(6) } as DeliveryRetry,
  /**
   * Lambda's own retries of a failed asynchronous invocation (consumer and sweep;
   * both are idempotent), after which the event goes to the dead-letter queue.
   */
  asyncInvoke: { retryAttempts: 2, maxEventAge: Duration.hours(6) } as DeliveryRetry,
} as const;

/**
 * Fixed settings of the journeys leg (`functions/journeys/`): the step function
 * every state machine invokes, the starter behind the trigger rules, and the
 * run-ended function behind the Step Functions status-change rule.
 */
export const JOURNEYS = {
  step: {
    entry: 'functions/journeys/step-handler.ts',
    serviceName: 'rapport-steps',
    memorySize: 512,
    /** One step: a profile read, a render and one provider call (webhooks give up after 10 s), or a profile write. */
    timeout: Duration.seconds(30),
  },
  starter: {
    entry: 'functions/journeys/starter-handler.ts',
    serviceName: 'rapport-starter',
    memorySize: 512,
    /** Derived events' triggers only (the profile is written before they are published): a few writes and StartExecution per journey. */
    timeout: Duration.seconds(30),
  },
  runEnded: {
    entry: 'functions/journeys/run-ended-handler.ts',
    serviceName: 'rapport-run-ended',
    memorySize: 256,
    /** A query and two conditional writes. */
    timeout: Duration.seconds(30),
  },
  /** Where the journey files land in the bundles, and where the functions find them in Lambda. */
  bundledJourneysFolder: JOURNEY_BUNDLE.journeysFolder,
  bundledJourneysFile: `/var/task/${JOURNEY_BUNDLE.journeysFolder}/${JOURNEY_BUNDLE.journeysFile}`,
  bundledTemplatesFolder: JOURNEY_BUNDLE.templatesFolder,
  bundledTemplatesDir: `/var/task/${JOURNEY_BUNDLE.templatesFolder}`,
  /**
   * Execution events without their data (no PII in logs): which state failed,
   * when, and why, across every execution, in CloudWatch Logs Insights.
   */
  logLevel: sfn.LogLevel.ALL,
  /** The Step Functions statuses that end a run; RUNNING and PENDING_REDRIVE do not. */
  endStatuses: RUN_ENDED.endStatuses,
  /** Trigger rule -> starter: as the consumer's rule; a late enrolment beats a lost one, and the starter is idempotent. */
  triggerRuleDelivery: { retryAttempts: 8, maxEventAge: Duration.hours(6) } as DeliveryRetry,
  /** Status-change rule -> run-ended: until it runs, the customer's lock blocks re-entry, so keep trying for a day. */
  runEndedRuleDelivery: { retryAttempts: 8, maxEventAge: Duration.hours(24) } as DeliveryRetry,
  /** Lambda's own retries of failed asynchronous invocations of the starter and run-ended (both idempotent). */
  asyncInvoke: { retryAttempts: 2, maxEventAge: Duration.hours(6) } as DeliveryRetry,
  /**
   * Journeys one stack deploys. Each adds a state machine, its published version and its alias (releases:
   * runs in flight keep their version), a trigger rule (derived-event triggers) and a failed-executions
   * alarm to the stack: five resources at most (the state machines share one role; the rules share one
   * invoke permission and one dead-letter statement). CloudFormation allows 500 resources per stack and
   * the rest of the stack is about 145: 70 journeys come to about 495 at most, 425 when customer events
   * trigger them (tests/infra/scale.test.ts measures it, with the template size, the functions'
   * variables, the rule patterns and the policies). It was 100 before versions and aliases (two per journey).
   */
  maxJourneys: 70,
  maxJourneysReason:
    'each journey adds a state machine, its version and alias, a trigger rule and an alarm to the stack, and CloudFormation allows 500 resources per stack',
  /**
   * `journeyStacks` > 1: each journey's state machine, version, alias and alarm go into one of that many nested
   * stacks, chosen by its id alone (`journeyStackIndex`); the parent keeps what they share and the trigger rules
   * (a rule targets the starter, which waits for every alias). A nested stack holds at most 90 journeys: four
   * resources each (CloudFormation's 500 per stack) and two outputs each, the state machine's and the alarm's
   * ARNs for the parent's dashboard (CloudFormation's 200 outputs per stack), with room.
   */
  maxJourneysPerNestedStack: 90,
  /**
   * Journeys all nested stacks together deploy: what tests/infra/scale.test.ts measures against every limit (the
   * parent's dashboard and outputs grow with the journeys, and each derived-event trigger is a rule on the bus,
   * whose default quota is 300 rules).
   */
  maxJourneysInNestedStacks: 100,
  /** `journeyStacks` at most: 100 journeys need 2; more stacks only spread them thinner. */
  maxJourneyStacks: 10,
  /** CloudFormation's limit on a template uploaded to S3 (1 MB); synth refuses a larger one. */
  maxTemplateBytes: 1_000_000,
  /** CloudFormation's limits per stack (parent or nested): resources, outputs and parameters. */
  maxStackResources: 500,
  maxStackOutputs: 200,
  maxStackParameters: 200,
  /** Step Functions' limit on a state machine's name (`Rapport-<stage>_<journey id>`). */
  stateMachineNameMaxLength: 80,
} as const;

/** Fixed settings of broadcasts (`functions/broadcasts/`): the API and page functions and their state machine. */
export const BROADCASTS = {
  api: {
    entry: 'functions/broadcasts/api-handler.ts',
    serviceName: 'rapport-broadcasts',
    memorySize: 256,
    /** A conditional write and StartExecution; one second under the HTTP API integration limit of 30 s. */
    timeout: Duration.seconds(29),
  },
  page: {
    entry: 'functions/broadcasts/page-handler.ts',
    serviceName: 'rapport-broadcast-page',
    memorySize: 512,
    /** A page: up to 1,000 recipients, 8 at a time, each a few reads, writes and one provider call. */
    timeout: Duration.minutes(5),
    /**
     * Reserved concurrency: the broadcasts' own lane. Each broadcast runs one page at a time, so this is how
     * many broadcasts send at once; it never takes more of the account's concurrency, so journeys' step
     * functions are never queued behind a broadcast.
     */
    reservedConcurrency: 5,
  },
  /** The state machine's name: `Rapport-<stage>-broadcasts` (not `_`: no journey's name prefix matches it). */
  stateMachineName: (stageName: string) => `Rapport-${stageName}-broadcasts`,
  logLevel: sfn.LogLevel.ALL,
} as const;

/** Outbound webhook names become construct ids and variable keys; journeys refer to them as `target`. */
/** SES feedback: the configuration set journey emails are sent with, its EventBridge destination, the function. */
export const FEEDBACK = {
  entry: 'functions/feedback/handler.ts',
  serviceName: 'rapport-ses-feedback',
  memorySize: 256,
  /** A read, a hold, a record update and one PutEvents. */
  timeout: Duration.seconds(30),
  /** The configuration set Rapport creates when `email.configurationSet` names none: one per stage. */
  configurationSetName: (stageName: string) => `rapport-${stageName}`,
  /** Rule -> function: a late suppression beats a lost one, and the function is idempotent. */
  ruleDelivery: { retryAttempts: 8, maxEventAge: Duration.hours(24) } as DeliveryRetry,
  asyncInvoke: { retryAttempts: 2, maxEventAge: Duration.hours(6) } as DeliveryRetry,
} as const;

export const WEBHOOK_NAME_PATTERN = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

/** Source ids become part of config keys and logical ids: lower-case letters, digits and hyphens. */
export const SOURCE_ID_PATTERN = /^[a-z0-9-]+$/;
export const SOURCE_ID_MAX_LENGTH = 64;
/**
 * Lambda allows 4 KB of environment variables in total; each source adds about
 * 150 bytes (id and secret ARN) to `RAPPORT_SOURCES`, so 20 leaves room for the rest.
 */
export const MAX_SOURCES = 20;
/** Stage names go into the stack name, API name and tags. */
export const STAGE_NAME_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;
