import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Lazy, Names, type NestedStack, Stack, Stage, Tags } from 'aws-cdk-lib';
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { BROADCAST_CHANNELS, conversionEventsOf, DEPLOYED_CHANNELS, NO_TOPICS, type ConsentMode } from '../../shared';
import type { BroadcastRates } from '../../shared/broadcasts/rates';
import { recordReleases, type CompiledJourney } from '../../workflows/journeys';
import { BroadcastsArea, BusArea, EncryptionArea, encryptionProblems, FeedbackArea, FirewallArea, firewallProblems, IngestArea, JourneysArea, ProfilesArea, type AreaContext } from './areas';
import { JOURNEYS, RAPPORT_DEFAULTS, requiredTombstoneDays } from './defaults';
import { RapportPropsError } from './errors';
import { assertLocalEsbuild } from './function';
import { compileJourneys, loadJourneys, writeJourneysFile } from './journeys';
import { recordReleaseSpecs, retiredReleaseSpecs } from '../../functions/journeys/release-specs';
import type { JourneySpec } from '../../functions/journeys';
import { acknowledgeNagFindings } from './nag';
import { RapportObservability } from './observability';
import { findPropProblems, journeyStacksProblems, knownTags, knownTopics } from './validate';


/** A system that posts events: a Standard Webhooks sender or a Segment/RudderStack SDK. */
export interface RapportSource {
  /** Lower-case letters, digits and hyphens; names the source in config, logs and the secret's description. */
  readonly id: string;
  /**
   * Event names the source may send: a track's `event`, or `Identify`, `Page`, `Screen`, `Group`,
   * `Alias`. Any other is refused with a 400 naming the source, the event and the field.
   * @default every event
   */
  readonly events?: readonly string[];
  /**
   * Identify traits the source may set, by top-level name; consent as `consent.email`,
   * `consent.sms`, `consent.push` (or `consent` for every channel), which also governs
   * `Subscribed` / `Unsubscribed` events. `[]`: no trait at all.
   * @default every trait
   */
  readonly traits?: readonly string[];
}

/** Default-stage throttling of the HTTP API. */
export interface RapportThrottle {
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  /** Requests allowed in a burst above the steady rate. */
  readonly burstLimit: number;
}

/** The SES identity journey emails are sent from. */
export interface RapportEmail {
  /**
   * Sender of every journey email, a plain address such as `news@shop.example`.
   * It, or its domain, must be a verified SES identity in the stack's account and
   * region; the step function may send from this address only.
   */
  readonly fromAddress: string;
  /**
   * An existing SES configuration set to send the emails with (dedicated IPs, ...): Rapport adds its
   * EventBridge event destination (bounce, complaint, delivery, open, click, reject, delivery delay) to it.
   *
   * @default a configuration set `rapport-<stage>` that Rapport creates, with that destination
   */
  readonly configurationSet?: string;
}

/** Where journey SMS are sent from (AWS End User Messaging SMS). */
export interface RapportSms {
  /** ARN of the phone number, pool or sender id SMS are sent from; the step function may send from it alone. */
  readonly originationIdentity: string;
}

/** Where journey WhatsApp messages are sent from (AWS End User Messaging Social). */
export interface RapportWhatsApp {
  /** The origination phone number's id (`phone-number-id-<32 hex digits>`); the step function may send from it alone. */
  readonly phoneNumberId: string;
  /**
   * The Meta Cloud API version messages are written for.
   * @default v20.0
   */
  readonly metaApiVersion?: string;
}

/** Where journey pushes go (SNS mobile push): the platform application the customers' endpoints belong to. */
export interface RapportPush {
  /** `arn:aws:sns:<region>:<account>:app/<GCM|APNS|...>/<name>`; the step function may publish to its endpoints alone. */
  readonly platformApplicationArn: string;
}

/** A system journeys post to (help desk, CRM): `webhook` steps and webhook sends name it as `target`. */
export interface RapportOutboundWebhook {
  /** The https:// URL each Standard-Webhooks-signed POST goes to. */
  readonly url: string;
  /**
   * Complete ARN of a Secrets Manager secret (in the stack's account) whose value
   * is the Standard Webhooks secret, `whsec_<base64>` or the base64 alone, as plain
   * text; the receiver verifies the signatures with it.
   *
   * @default a secret generated for this webhook (`outboundWebhookSecrets`; give its value to the receiver)
   */
  readonly secretArn?: string;
}

/**
 * AWS WAF in front of the ingest API. The ingest is an HTTP API (API Gateway v2), which
 * WAF cannot be attached to (it protects REST API stages, not HTTP APIs); so Rapport puts
 * a CloudFront distribution in front of the ingest stage and attaches the web ACL to it.
 * Senders must post to the distribution's URL (`ingestDistribution`): the API's own URL
 * still answers, unfiltered.
 */
export interface RapportIngestFirewall {
  /**
   * Requests one client IP may send in any 5-minute window; over it, WAF blocks that IP
   * until its rate falls. Only used for the web ACL Rapport creates.
   *
   * @default 2000
   */
  readonly ratePerIpPer5Minutes?: number;
  /**
   * ARN of a web ACL of scope CLOUDFRONT (created in us-east-1) to attach instead of the one
   * Rapport creates. Required unless the stack deploys to us-east-1 (env: { region: 'us-east-1' }).
   *
   * @default a web ACL with a rate-based rule per IP and AWS's managed common rule set (stack in us-east-1 only)
   */
  readonly webAclArn?: string;
}

/** Local times of day, `"HH:MM"`; may wrap midnight. */
export interface RapportQuietHours {
  readonly start: string;
  readonly end: string;
}

/**
 * How often and when marketing messages may reach a customer, decided at send
 * time. Transactional messages ignore all of it (but never suppression).
 */
export interface RapportSendPolicy {
  /**
   * Marketing messages one customer receives at most within
   * `frequencyWindowDays`, over every journey and channel; a send over the cap
   * waits until the window frees (see `frequencyCapMaxDelayDays`). 0 sends no marketing at all.
   *
   * @default 3
   */
  readonly frequencyCap?: number;
  /**
   * The window of the frequency cap, in days (1-365).
   *
   * @default 7
   */
  readonly frequencyWindowDays?: number;
  /**
   * How long (days, 0-30) a marketing send over the cap may wait for the window to free,
   * from its first deferral; a send the window would not free by then is skipped
   * and recorded (`frequency-cap`). 0: skip at once.
   *
   * @default 3
   */
  readonly frequencyCapMaxDelayDays?: number;
  /**
   * Hours in the customer's time zone (`traits.timezone`, else `defaultTimeZone`)
   * in which a marketing send waits until they end instead of going out; `false`: none.
   *
   * @default { start: '21:00', end: '08:00' }
   */
  readonly quietHours?: RapportQuietHours | false;
  /**
   * IANA time zone of customers without a valid `traits.timezone` (quiet hours, `wait_until`).
   *
   * @default 'UTC'
   */
  readonly defaultTimeZone?: string;
}

export interface RapportProps {
  /** Stage (dev, prod, ...); goes into names, tags, metrics and logs. Lower-case letters, digits and hyphens. */
  readonly stageName: string;

  /**
   * The sources that may post events. Each gets a Secrets Manager secret holding
   * its Standard Webhooks secrets and Segment write keys.
   *
   * @default [{ id: 'default' }]
   */
  readonly sources?: readonly RapportSource[];

  /**
   * How long the bus archive keeps events for replay (whole days, at least 1).
   * Archived events carry customer data that an erasure request cannot reach,
   * so the default matches the one month a controller has to answer one (GDPR
   * Art. 12(3)); a longer replay window is a deliberate choice per deployment.
   *
   * @default Duration.days(30)
   */
  readonly eventArchiveRetention?: Duration;

  /**
   * How long an erased customer's tombstone lives (it holds a hash of the id, no data). It must
   * outlive every way an old event can come back: `eventArchiveRetention` plus redelivery (24 h
   * EventBridge retries, 6 h Lambda async retries, 14 days in the dead-letter queue) plus a day;
   * synth refuses a shorter one, since a replay would re-create the customer with their data.
   *
   * @default eventArchiveRetention + 17 days
   */
  readonly erasureTombstoneRetention?: Duration;

  /**
   * Retention of the functions' logs and the APIs' access logs.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * What happens to the resources that hold data (bus and archive, dead-letter
   * queue, idempotency and profile tables, secrets, log groups, the alarm topic's
   * own key) when they leave the stack. SNAPSHOT is not supported: none of these
   * resources can snapshot. DESTROY suits throw-away stages only.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Throttling of the ingest HTTP API's default stage (all routes).
   *
   * @default { rateLimit: 1000, burstLimit: 2000 }
   */
  readonly apiThrottle?: RapportThrottle;

  /**
   * How long a customer's timeline events are kept (whole days, at least 1);
   * they expire by DynamoDB TTL and are filtered on read before that. A year
   * covers yearly buying cycles (RFM, win-back) without keeping behaviour forever.
   *
   * @default Duration.days(365)
   */
  readonly timelineRetention?: Duration;

  /**
   * May marketing reach a customer who never said yes? `opt-out`: yes, unless
   * they refused; `opt-in`: only with explicit consent (e.g. email in the EU
   * without another legal basis). Transactional messages ignore it.
   *
   * @default 'opt-out'
   */
  readonly consentMode?: ConsentMode;

  /**
   * Folder holding `tags.yaml` (tag rules) and `segmentation.config.yaml`; both
   * are copied into the profile functions' bundles. Synth fails when one is missing.
   * A relative path is resolved against the directory synth runs in.
   *
   * @default `<repository>/workflows`
   */
  readonly configDir?: string;

  /**
   * When the sweep re-evaluates customers whose tags change with time alone
   * (e.g. "inactive 30 days"). Daily suffices: those tags are day-grained.
   *
   * @default daily at 03:00 UTC: ScheduleExpression.cron({ minute: '0', hour: '3', timeZone: TimeZone.ETC_UTC })
   */
  readonly sweepSchedule?: scheduler.ScheduleExpression;

  /**
   * Folder of the journey files (`*.yaml`). At synth each is loaded, checked and
   * compiled into a Standard state machine and the bus rules that start it; a
   * broken file fails synth with `file:line:column` messages, so nothing deploys.
   * Adding a file and deploying is all a new journey needs.
   * A relative path is resolved against the directory synth runs in.
   *
   * @default `<repository>/workflows/journeys.d`
   */
  readonly journeysDir?: string;

  /**
   * Folder of the message templates (`<template>.<channel>.liquid`); they are
   * checked at synth and copied into the step function's bundle.
   * A relative path is resolved against the directory synth runs in.
   *
   * @default `<repository>/workflows/templates`
   */
  readonly templatesDir?: string;

  /**
   * Folder of the kept journey releases, `<journey id>/v<version>/<template files>`: the templates each
   * journey version rendered while it was current (commit it with the journeys). Synth copies the releases of
   * every version but each journey's current one into the step function's bundle, so a run of an older
   * version, still in flight after a deploy, renders the templates it started with. A missing folder, or a
   * version with no release, renders the current templates. A relative path is resolved against the
   * directory synth runs in.
   *
   * @default `releases` beside `journeysDir` (`<repository>/workflows/releases`)
   */
  readonly releasesDir?: string;

  /**
   * Record each journey's current version in `releasesDir` at synth when it is not there yet (its templates'
   * files, first files kept), as the embedded engine does in its data folder. The CDK app (`infra/cdk/app.ts`)
   * sets it; commit what it writes, or the next deploy after a version bump has no release of the old version.
   *
   * @default false
   */
  readonly recordReleases?: boolean;

  /** The SES identity journey emails are sent from. */
  readonly email: RapportEmail;

  /**
   * Where journey SMS are sent from.
   *
   * @default none: a journey that sends SMS fails synth
   */
  readonly sms?: RapportSms;
  /**
   * Where journey WhatsApp messages are sent from.
   *
   * @default none: a journey that sends WhatsApp fails synth
   */
  readonly whatsapp?: RapportWhatsApp;
  /**
   * Where journey pushes go.
   *
   * @default none: a journey that sends push fails synth
   */
  readonly push?: RapportPush;

  /**
   * The systems journeys post to, by name (kebab-case, as journeys name them in
   * `target`). Posts are signed with Standard Webhooks; each webhook's secret is
   * kept in Secrets Manager.
   *
   * @default {}: a journey that posts to a webhook fails synth
   */
  readonly outboundWebhooks?: Readonly<Record<string, RapportOutboundWebhook>>;

  /**
   * Frequency cap, quiet hours and default time zone of marketing sends.
   * Fields left out take their defaults.
   *
   * @default { frequencyCap: 3, frequencyWindowDays: 7, frequencyCapMaxDelayDays: 3, quietHours: { start: '21:00', end: '08:00' }, defaultTimeZone: 'UTC' }
   */
  readonly sendPolicy?: RapportSendPolicy;

  /**
   * Messages per second all broadcasts together may send per channel, e.g. `{ email: 10 }` under an SES
   * account whose maximum send rate is 14: the rest stays for journeys and transactional messages, which never
   * take from these buckets. A channel not named is limited only by each broadcast's own `rate`.
   *
   * @default {}: no limit across broadcasts
   */
  readonly broadcastRates?: BroadcastRates;

  /**
   * Where alarm notifications are e-mailed (dead letters, ingest 5xx rate, failed
   * executions, throttles). The address must confirm the subscription SNS sends it.
   *
   * @default none: alarms publish to `alarmTopic` only; subscribe to it yourself
   */
  readonly alarmEmail?: string;

  /**
   * AWS WAF (a rate limit per client IP and AWS's managed common rule set) in front of the
   * ingest API, through a CloudFront distribution (`RapportIngestFirewall` says why).
   *
   * @default none: the ingest API's throttle (`apiThrottle`) is shared by every caller
   */
  readonly ingestFirewall?: RapportIngestFirewall;

  /**
   * A customer-managed KMS key that encrypts everything Rapport keeps at rest:
   * tables, the dead-letter queue, the bus and its archive, log groups, secrets,
   * state machines, the functions' environment and the alarm topic. Rapport adds
   * to its key policy what CloudWatch Logs, EventBridge and CloudWatch alarms need;
   * a key imported from elsewhere must already allow them (docs/operations.md).
   *
   * @default AWS-owned or AWS-managed keys of each service (SSE-SQS, DynamoDB,
   * Secrets Manager, EventBridge, Step Functions, CloudWatch Logs), and a key of its own for the alarm topic
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * How many stacks hold the journeys. 1: every journey's state machine, version, alias, trigger rule and
   * alarm are in the stack itself, which deploys at most 70 journeys (CloudFormation's 500 resources per stack).
   * More: their state machines, versions, aliases and alarms go into that many nested stacks (`cdk.NestedStack`,
   * `JourneyStack1`, ...), at most 90 journeys each and 100 in all; what the journeys share (their role, log
   * group, the starter, the run-ended rule, the grants) and the trigger rules stay in the stack itself. A
   * journey's nested stack follows from its id alone, so adding or removing another journey never moves it.
   * Changing this number moves journeys between stacks, which replaces their state machines, and their runs in
   * flight end: docs/operations.md, "More than 70 journeys", says how to change it (two deploys).
   *
   * @default 1
   */
  readonly journeyStacks?: number;
}


/**
 * Rapport on AWS, in two legs.
 *
 * Ingest: an HTTP API whose routes (Standard Webhooks and the Segment HTTP
 * Tracking API) invoke the ingest function, which verifies, validates and
 * normalises events and puts them on the Rapport event bus (archived for replay).
 *
 * Profiles: a bus rule feeds customer events to the profile consumer, which keeps
 * profiles, timelines and tags in the single-table profile table and publishes
 * derived events; a daily schedule runs the sweep for time-based tags; an
 * IAM-authorised admin API reads, exports and erases customers.
 *
 * Journeys: each journey file becomes a Standard state machine whose Tasks invoke
 * the step function; the profile consumer, once it applied a customer event,
 * enrols the customer in the journeys it triggers (a rule per derived-event trigger
 * invokes the starter for the others), under deterministic execution names, resumes
 * waiting runs and stops converted ones; a rule on the default bus reports each
 * execution's end to the run-ended function, and the daily sweep reconciles runs
 * whose end was never reported.
 *
 * Every asynchronous delivery (rule target, schedule, async invocation) is retried
 * and then lands in one dead-letter queue.
 *
 * Operations: alarms (dead letters, ingest 5xx rate, failed executions, throttles)
 * notify `alarmTopic`; a dashboard per stage; everything at rest is encrypted,
 * with `encryptionKey` when given. docs/operations.md is the runbook.
 *
 * Each area is built by its own module in `infra/cdk/areas/` (encryption, bus,
 * ingest, profiles, journeys) and `RapportObservability`; this constructor
 * resolves the props and wires the areas together. The areas build directly in
 * this construct, so the logical ids are those of the one-constructor Rapport
 * (tests/infra/logical-ids.test.ts pins the stateful ones).
 */
export class Rapport extends Construct {
  /** The custom bus every Rapport event goes through; archived for replay. */
  public readonly bus: events.EventBus;
  /** Archive of every event on `bus`. */
  public readonly eventArchive: events.Archive;
  /**
   * Dead-letter queue of every asynchronous delivery: rule targets on `bus`, the
   * sweep schedule, and failed asynchronous invocations of the consumer and sweep
   * (SSE-SQS, which EventBridge and Scheduler can write to).
   */
  public readonly deadLetterQueue: sqs.Queue;
  /** Powertools idempotency records: partition key `id`, TTL on `expiration`. */
  public readonly idempotencyTable: dynamodb.TableV2;
  /** One secret per source, by source id. */
  public readonly sourceSecrets: ReadonlyMap<string, secretsmanager.Secret>;
  /** Verifies, validates and normalises incoming events and puts them on `bus`. */
  public readonly ingestFunction: nodejs.NodejsFunction;
  /** The ingest API: unauthenticated at the gateway, the function verifies signatures and write keys. */
  public readonly httpApi: apigwv2.HttpApi;
  /** The `$default` stage of `httpApi`, with throttling and access logs; its `url` is the API's base URL. */
  public readonly httpStage: apigwv2.HttpStage;
  /**
   * Profiles, timelines, aliases and erasure tombstones in one table
   * (`PROFILE_TABLE_LAYOUT`): keys PK/SK, TTL on `ttl`, sparse KEYS_ONLY indexes GSI1 and GSI2.
   */
  public readonly profileTable: dynamodb.TableV2;
  /** Folds customer events into profiles and publishes derived events (source `rapport.profile`). */
  public readonly profileConsumerFunction: nodejs.NodejsFunction;
  /** Sends customer events (`PROFILE_CONSUMER_PATTERN`) to `profileConsumerFunction`. */
  public readonly profileConsumerRule: events.Rule;
  /** Re-evaluates customers whose tags change with time alone. */
  public readonly sweepFunction: nodejs.NodejsFunction;
  /** Runs `sweepFunction` on `sweepSchedule`. */
  public readonly sweepSchedule: scheduler.Schedule;
  /** Serves the customer admin API: profile, timeline, export, erasure. */
  public readonly customerApiFunction: nodejs.NodejsFunction;
  /** The customer admin API; every route requires IAM authorization (SigV4). */
  public readonly customerApi: apigwv2.HttpApi;
  /** Creates (and starts), reads and cancels broadcasts: the customer API's `/v1/broadcasts` routes. */
  public readonly broadcastApiFunction: nodejs.NodejsFunction;
  /** Sends one page of a broadcast through the send gateway; reserved concurrency keeps it in its own lane. */
  public readonly broadcastPageFunction: nodejs.NodejsFunction;
  /** The broadcast fan-out (Standard): a page after another, waiting for `at`, the rate and deferred recipients. */
  public readonly broadcastStateMachine: sfn.StateMachine;
  /** The `$default` stage of `customerApi`; its `url` is the admin API's base URL. */
  public readonly customerApiStage: apigwv2.HttpStage;
  /** The compiled journeys, in file order (their definitions invoke `journeyStepFunction`). */
  public readonly journeys: readonly CompiledJourney[];
  /** One Standard state machine per journey, by journey id, named `Rapport-<stage>_<journey id>` (tagged `rapport:journey`). */
  public readonly journeyStateMachines: ReadonlyMap<string, sfn.StateMachine>;
  /** The kept older versions of the deployed journeys, in `journeys.json` (`retired`): their runs in flight end by their own goals and exits. */
  public readonly retiredJourneys: readonly JourneySpec[];
  /** The releases this synth recorded in `releasesDir` (`recordReleases`), `<journey id>/v<version>`: to commit. */
  public readonly recordedReleases: readonly string[];
  /** The kept releases of older journey versions the step function's bundle carries, one folder each (`releases/<journey id>/v<version>`). */
  public readonly journeyReleaseBundles: JourneysArea['releaseBundles'];
  /** Each journey's published version (kept: RETAIN) and its alias `live`, which new runs start through. */
  public readonly journeyReleases: JourneysArea['journeyReleases'];
  /** The role of every journey state machine: invoke the step function, deliver logs and traces (and use the key). */
  public readonly journeyStateMachineRole: iam.Role;
  /** The start of every journey state machine's name, `Rapport-<stage>_`: grants and the run-ended rule name them by it. */
  public readonly journeyStateMachineNamePrefix: string;
  /**
   * The rules on `bus` that start each journey, by journey id: one per trigger pattern of a derived event
   * (source `rapport.profile`); a customer event's trigger has none, the profile consumer enrols it.
   */
  public readonly journeyTriggerRules: ReadonlyMap<string, readonly events.Rule[]>;
  /** Runs every journey step (send, branch, split, tag, update, webhook, wait-until, await). */
  public readonly journeyStepFunction: nodejs.NodejsFunction;
  /** Enrols customers in the journeys their events trigger, then starts the executions. */
  public readonly journeyStarterFunction: nodejs.NodejsFunction;
  /** Records the end of each run and frees the customer's lock. */
  public readonly journeyRunEndedFunction: nodejs.NodejsFunction;
  /**
   * Sends the journeys' execution status changes (succeeded, failed, timed out,
   * aborted) from the default bus to `journeyRunEndedFunction`; absent without journeys.
   */
  public readonly journeyRunEndedRule?: events.Rule;
  /** SES feedback: the configuration set emails are sent with (its name), the function and its rule on the default bus. */
  public readonly emailConfigurationSetName: string;
  public readonly sesFeedbackFunction: nodejs.NodejsFunction;
  public readonly sesFeedbackRule: events.Rule;
  /**
   * The nested stacks holding the journeys' state machines, versions, aliases and alarms, by construct id
   * (`JourneyStack1`, ...), when `journeyStacks` > 1; empty with one stack.
   */
  public readonly journeyNestedStacks: ReadonlyMap<string, NestedStack>;
  /** Execution events (without data) of every journey state machine. */
  public readonly journeyLogGroup: logs.LogGroup;
  /** The key that signs one-click unsubscribe links in journey messages (a generated string). */
  public readonly unsubscribeSecret: secretsmanager.Secret;
  /** The Secrets Manager secret of each outbound webhook, by name (generated unless its `secretArn` was given). */
  public readonly outboundWebhookSecrets: ReadonlyMap<string, secretsmanager.ISecret>;

  /** Alarm topic, alarms and the stage's dashboard. */
  public readonly observability: RapportObservability;
  /** Every alarm publishes here (e-mailed to `alarmEmail` when given). */
  public readonly alarmTopic: sns.ITopic;
  /** The customer-managed key everything is encrypted with, when `encryptionKey` was given. */
  public readonly encryptionKey?: kms.IKey;
  /** The CloudFront distribution in front of the ingest API, with the WAF web ACL, when `ingestFirewall` was given. */
  public readonly ingestDistribution?: cloudfront.Distribution;
  /** The web ACL Rapport created for `ingestDistribution` (absent when `ingestFirewall.webAclArn` was given). */
  public readonly ingestWebAcl?: wafv2.CfnWebACL;

  #customerRoutes: apigwv2.HttpRoute[];

  constructor(scope: Construct, id: string, props: RapportProps) {
    super(scope, id);

    const resolved = {
      stageName: props.stageName,
      sources: props.sources ?? RAPPORT_DEFAULTS.sources,
      eventArchiveRetention: props.eventArchiveRetention ?? RAPPORT_DEFAULTS.eventArchiveRetention,
      erasureTombstoneRetention:
        props.erasureTombstoneRetention ?? Duration.days(Math.ceil(requiredTombstoneDays(props.eventArchiveRetention ?? RAPPORT_DEFAULTS.eventArchiveRetention))),
      logRetention: props.logRetention ?? RAPPORT_DEFAULTS.logRetention,
      removalPolicy: props.removalPolicy ?? RAPPORT_DEFAULTS.removalPolicy,
      apiThrottle: props.apiThrottle ?? RAPPORT_DEFAULTS.apiThrottle,
      timelineRetention: props.timelineRetention ?? RAPPORT_DEFAULTS.timelineRetention,
      consentMode: props.consentMode ?? RAPPORT_DEFAULTS.consentMode,
      configDir: path.resolve(props.configDir ?? RAPPORT_DEFAULTS.configDir),
      sweepSchedule: props.sweepSchedule ?? RAPPORT_DEFAULTS.sweepSchedule,
      journeysDir: path.resolve(props.journeysDir ?? RAPPORT_DEFAULTS.journeysDir),
      templatesDir: path.resolve(props.templatesDir ?? RAPPORT_DEFAULTS.templatesDir),
      // Beside the journeys: another folder of journeys never takes the repository's releases of like-named ones.
      releasesDir: path.resolve(props.releasesDir ?? path.join(path.dirname(path.resolve(props.journeysDir ?? RAPPORT_DEFAULTS.journeysDir)), 'releases')),
      email: props.email,
      ...(props.sms !== undefined && { sms: props.sms }),
      ...(props.whatsapp !== undefined && { whatsapp: props.whatsapp }),
      ...(props.push !== undefined && { push: props.push }),
      outboundWebhooks: props.outboundWebhooks ?? RAPPORT_DEFAULTS.outboundWebhooks,
      sendPolicy: {
        frequencyCap: props.sendPolicy?.frequencyCap ?? RAPPORT_DEFAULTS.sendPolicy.frequencyCap,
        frequencyWindowDays: props.sendPolicy?.frequencyWindowDays ?? RAPPORT_DEFAULTS.sendPolicy.frequencyWindowDays,
        frequencyCapMaxDelayDays: props.sendPolicy?.frequencyCapMaxDelayDays ?? RAPPORT_DEFAULTS.sendPolicy.frequencyCapMaxDelayDays,
        quietHours: props.sendPolicy?.quietHours ?? RAPPORT_DEFAULTS.sendPolicy.quietHours,
        defaultTimeZone: props.sendPolicy?.defaultTimeZone ?? RAPPORT_DEFAULTS.sendPolicy.defaultTimeZone,
      },
      ...(props.alarmEmail !== undefined && { alarmEmail: props.alarmEmail }),
      ...(props.broadcastRates !== undefined && { broadcastRates: props.broadcastRates }),
      journeyStacks: props.journeyStacks ?? 1,
    };
    const key = props.encryptionKey;
    if (key !== undefined) this.encryptionKey = key;
    const webhookTargets = Object.keys(resolved.outboundWebhooks);
    // The tags journeys may read: tags.yaml's rules and manual tags, as the profile functions load them.
    const tags = knownTags(resolved.configDir);
    const topics = knownTopics(resolved.configDir);
    // The channels whose deployment setting (the registry's `deployment`) is given.
    const deployedChannels = [...(resolved.whatsapp !== undefined ? ['whatsapp'] : []), ...(resolved.push !== undefined ? ['push'] : [])];
    const journeyLoad = loadJourneys({
      stageName: props.stageName,
      journeysDir: resolved.journeysDir,
      templatesDir: resolved.templatesDir,
      webhookTargets,
      sms: resolved.sms !== undefined,
      deployed: deployedChannels,
      ...(tags !== undefined && { tags }),
      topics,
      // Counted per stack only once the number of stacks is valid (an invalid one is reported on its own).
      journeyStacks: journeyStacksProblems(resolved.journeyStacks).length === 0 ? resolved.journeyStacks : 1,
    });
    const problems = [
      ...findPropProblems(resolved),
      ...encryptionProblems(this, props.encryptionKey),
      ...firewallProblems(this, props.ingestFirewall),
      ...(journeyLoad.ok ? [] : journeyLoad.problems),
    ];
    if (problems.length > 0 || !journeyLoad.ok) throw new RapportPropsError(this.node.path, problems);
    assertLocalEsbuild(this.node.path);

    // Compiled now, so journeys.json is on disk before the bundles that carry it are built;
    // each Task's FunctionName resolves to the step function's ARN when the template is rendered.
    this.journeys = compileJourneys(
      journeyLoad.loaded,
      Lazy.string({ produce: () => this.journeyStepFunction.functionArn }),
      webhookTargets,
    );
    // Each journey's current version kept as a release (its templates and its spec), for the deploys after its next
    // version bump: runs of it still in flight then render its templates and end by its goals and exits.
    this.recordedReleases =
      props.recordReleases === true
        ? [
            ...recordReleases(resolved.releasesDir, resolved.templatesDir, journeyLoad.loaded.journeys.map(({ journey }) => journey)),
            ...recordReleaseSpecs(resolved.releasesDir, this.journeys).map((file) => path.relative(resolved.releasesDir, file)),
          ]
        : [];
    // The kept older versions of the deployed journeys: the starter's and the router's `retired` (a removed journey's
    // state machine is deleted, and its runs with it).
    const deployed = new Map(this.journeys.map((j) => [j.id, j.version]));
    this.retiredJourneys = retiredReleaseSpecs(resolved.releasesDir, deployed).filter((spec) => deployed.has(spec.id));
    const journeysFile = writeJourneysFile(this.#synthFilesDir('journeys'), this.journeys, this.retiredJourneys);

    const { stageName, removalPolicy, logRetention } = resolved;
    Tags.of(this).add('rapport:stage', stageName);
    // ---- Encryption: the key's policy first (log groups need it), its users once every function exists ----
    const encryption = key !== undefined ? new EncryptionArea(this, key) : undefined;
    const ctx: AreaContext = {
      scope: this,
      stageName,
      removalPolicy,
      key,
      logGroup: (logicalId: string) =>
        new logs.LogGroup(this, logicalId, { retention: logRetention, removalPolicy, ...(key !== undefined && { encryptionKey: key }) }),
    };

    // ---- The bus, its archive and the dead-letter queue: what every area uses ----
    const busArea = new BusArea(ctx, { eventArchiveRetention: resolved.eventArchiveRetention });
    this.bus = busArea.bus;
    this.eventArchive = busArea.eventArchive;
    this.deadLetterQueue = busArea.deadLetterQueue;

    // ---- Ingest: HTTP API -> ingest function -> bus ----
    const ingest = new IngestArea(ctx, { bus: this.bus, sources: resolved.sources, apiThrottle: resolved.apiThrottle, configDir: resolved.configDir, consentMode: resolved.consentMode });
    this.idempotencyTable = ingest.idempotencyTable;
    this.sourceSecrets = ingest.sourceSecrets;
    this.unsubscribeSecret = ingest.unsubscribeSecret;
    this.ingestFunction = ingest.ingestFunction;
    this.httpApi = ingest.httpApi;
    this.httpStage = ingest.httpStage;

    // ---- Profiles: bus -> consumer -> profile table (+ derived events); sweep; admin API ----
    const journeysFileBundle = { folder: JOURNEYS.bundledJourneysFolder, files: [journeysFile] };
    const profiles = new ProfilesArea(ctx, {
      bus: this.bus,
      deadLetterQueue: this.deadLetterQueue,
      consentMode: resolved.consentMode,
      timelineRetention: resolved.timelineRetention,
      erasureTombstoneRetention: resolved.erasureTombstoneRetention,
      configDir: resolved.configDir,
      sweepSchedule: resolved.sweepSchedule,
      journeysFileBundle,
    });
    this.profileTable = profiles.profileTable;
    ingest.useProfileTable(this.profileTable);
    this.profileConsumerFunction = profiles.profileConsumerFunction;
    this.profileConsumerRule = profiles.profileConsumerRule;
    this.sweepFunction = profiles.sweepFunction;
    this.sweepSchedule = profiles.sweepSchedule;
    this.customerApiFunction = profiles.customerApiFunction;
    this.customerApi = profiles.customerApi;
    this.customerApiStage = profiles.customerApiStage;
    this.#customerRoutes = profiles.customerRoutes;

    // ---- SES feedback: configuration set -> default bus -> feedback function -> Rapport bus ----
    const feedback = new FeedbackArea(ctx, {
      bus: this.bus,
      deadLetterQueue: this.deadLetterQueue,
      profileTable: this.profileTable,
      ...(resolved.email.configurationSet !== undefined && { configurationSetName: resolved.email.configurationSet }),
    });
    this.emailConfigurationSetName = feedback.configurationSetName;
    this.sesFeedbackFunction = feedback.sesFeedbackFunction;
    this.sesFeedbackRule = feedback.sesFeedbackRule;

    // ---- Journeys: trigger rules -> starter -> state machines -> step function; router in the consumer ----
    const journeys = new JourneysArea(ctx, {
      journeys: this.journeys,
      bus: this.bus,
      deadLetterQueue: this.deadLetterQueue,
      profileTable: this.profileTable,
      profileEnvironment: profiles.environment,
      configFiles: profiles.configFiles,
      journeysFileBundle,
      profileConsumerFunction: this.profileConsumerFunction,
      sweepFunction: this.sweepFunction,
      customerApiFunction: this.customerApiFunction,
      unsubscribeSecret: this.unsubscribeSecret,
      httpStage: this.httpStage,
      consentMode: resolved.consentMode,
      templatesDir: resolved.templatesDir,
      releasesDir: resolved.releasesDir,
      // Every email is sent with the configuration set, so its feedback reaches the feedback function.
      email: { ...resolved.email, configurationSet: feedback.configurationSetName },
      ...(resolved.sms !== undefined && { sms: resolved.sms }),
      ...(resolved.whatsapp !== undefined && { whatsapp: resolved.whatsapp }),
      ...(resolved.push !== undefined && { push: resolved.push }),
      outboundWebhooks: resolved.outboundWebhooks,
      sendPolicy: resolved.sendPolicy,
      journeyStacks: resolved.journeyStacks,
    });
    this.outboundWebhookSecrets = journeys.outboundWebhookSecrets;
    this.journeyStepFunction = journeys.journeyStepFunction;
    this.journeyLogGroup = journeys.journeyLogGroup;
    this.journeyStateMachineNamePrefix = journeys.journeyStateMachineNamePrefix;
    this.journeyStateMachineRole = journeys.journeyStateMachineRole;
    this.journeyStateMachines = journeys.journeyStateMachines;
    this.journeyReleases = journeys.journeyReleases;
    this.journeyReleaseBundles = journeys.releaseBundles;
    this.journeyStarterFunction = journeys.journeyStarterFunction;
    this.journeyRunEndedFunction = journeys.journeyRunEndedFunction;
    this.journeyTriggerRules = journeys.journeyTriggerRules;
    if (journeys.journeyRunEndedRule !== undefined) this.journeyRunEndedRule = journeys.journeyRunEndedRule;

    // ---- Broadcasts: customer API -> broadcast API -> state machine -> page function (its own lane) ----
    const broadcasts = new BroadcastsArea(ctx, {
      profileTable: this.profileTable,
      customerApi: this.customerApi,
      sendEnvironment: journeys.broadcastSendEnvironment,
      sendBundledFiles: journeys.sendBundledFiles,
      sendStatements: journeys.broadcastSendStatements,
      // The channels whose setting is not given (the registry's `deployment`): a broadcast on one is refused.
      undeployedChannels: DEPLOYED_CHANNELS.map((c) => c.id).filter((id) => (BROADCAST_CHANNELS as readonly string[]).includes(id) && !deployedChannels.includes(id)),
      unsubscribeSecret: this.unsubscribeSecret,
      conversionEvents: [...conversionEventsOf(this.journeys)],
      topics: (topics ?? NO_TOPICS).list.map(({ id, default: topicDefault }) => ({ id, default: topicDefault })),
      ...(resolved.broadcastRates !== undefined && { broadcastRates: resolved.broadcastRates }),
    });
    this.broadcastApiFunction = broadcasts.broadcastApiFunction;
    this.broadcastPageFunction = broadcasts.broadcastPageFunction;
    this.broadcastStateMachine = broadcasts.broadcastStateMachine;
    this.#customerRoutes = [...this.#customerRoutes, ...broadcasts.broadcastRoutes];

    const functions = {
      ingest: this.ingestFunction,
      profileConsumer: this.profileConsumerFunction,
      sweep: this.sweepFunction,
      customerApi: this.customerApiFunction,
      journeyStep: this.journeyStepFunction,
      journeyStarter: this.journeyStarterFunction,
      journeyRunEnded: this.journeyRunEndedFunction,
      sesFeedback: this.sesFeedbackFunction,
      broadcastApi: this.broadcastApiFunction,
      broadcastPage: this.broadcastPageFunction,
    };
    // The sweep's schedule role writes its dead letters into the queue the key encrypts.
    encryption?.grantUsers([...Object.values(functions), profiles.sweepScheduleRole]);

    // ---- Observability: the alarm topic, alarms and the stage's dashboard ----
    this.observability = new RapportObservability(this, 'Observability', {
      stageName,
      ...(resolved.alarmEmail !== undefined && { alarmEmail: resolved.alarmEmail }),
      ...(key !== undefined && { encryptionKey: key }),
      removalPolicy,
      deadLetterQueue: this.deadLetterQueue,
      httpApi: this.httpApi,
      functions,
      stateMachines: this.journeyStateMachines,
      broadcastStateMachine: this.broadcastStateMachine,
    });
    this.alarmTopic = this.observability.alarmTopic;

    // ---- Firewall: WAF in front of the ingest API, through CloudFront (an HTTP API takes no web ACL) ----
    if (props.ingestFirewall !== undefined) {
      const firewall = new FirewallArea(this, { stageName, firewall: props.ingestFirewall, httpStage: this.httpStage });
      this.ingestDistribution = firewall.distribution;
      if (firewall.webAcl !== undefined) this.ingestWebAcl = firewall.webAcl;
    }

    acknowledgeNagFindings(this);
    // Every journey's definition is in a template: refuse at synth a stack CloudFormation would refuse, the
    // stack itself and each nested stack of journeys.
    const stack = Stack.of(this);
    const nestedStacks = [...journeys.journeyNestedStacks];
    this.node.addValidation({
      validate: () => [
        ...stackLimitProblems(stack, `stack ${stack.stackName}`, resolved.journeyStacks),
        ...nestedStacks.flatMap(([id, nested]) => stackLimitProblems(nested, `nested stack ${id} of ${stack.stackName}`, resolved.journeyStacks)),
      ],
    });
    this.journeyNestedStacks = journeys.journeyNestedStacks;
  }
  /**
   * A folder of this app's cloud assembly for files synth writes (journeys.json),
   * one per Rapport instance: it lives as long as the assembly whose bundles use it.
   */
  #synthFilesDir(name: string): string {
    const outdir = Stage.of(this)?.outdir;
    if (outdir === undefined) return mkdtempSync(path.join(tmpdir(), `rapport-${name}-`));
    return path.join(outdir, 'rapport', Names.uniqueId(this), name);
  }

  /**
   * Lets `grantee` (an operator role, a back-office service) call every route of
   * the customer admin API: `execute-api:Invoke` on exactly those routes.
   */
  public grantCustomerApiInvoke(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: this.#customerRoutes.map((route) => route.routeArn),
    });
  }
}

/**
 * What CloudFormation refuses of one stack (the `Rapport` construct's, or a nested stack of journeys): a template
 * over 1 MB (uploaded to S3, as cdk deploy does; journey definitions take most of it), over 500 resources, 200
 * outputs or 200 parameters. Measured on the rendered template; `_toCloudFormation` is CDK's own renderer
 * (internal, so absent it the check is skipped rather than guessed). Each problem names the limit and what raises it.
 */
function stackLimitProblems(stack: Stack, what: string, journeyStacks: number): string[] {
  const render = (stack as unknown as { _toCloudFormation?: () => unknown })._toCloudFormation;
  if (typeof render !== 'function') return [];
  const template = render.call(stack) as { Resources?: object; Outputs?: object; Parameters?: object };
  const nested = stack.nested;
  const remedy = nested
    ? `raise journeyStacks (now ${journeyStacks}; the prop, or -c journeyStacks=<n> with the app) to spread the journeys over more nested stacks`
    : journeyStacks > 1
      ? 'the journeys are in nested stacks already: deploy fewer journeys, or move other resources out of this stack'
      : 'deploy fewer or shorter journeys, or set journeyStacks (the prop, or -c journeyStacks=<n> with the app) to put the journeys in nested stacks';
  const problems: string[] = [];
  const bytes = templateBytes(stack, template);
  if (bytes > JOURNEYS.maxTemplateBytes) {
    problems.push(
      `the template of ${what} is ${bytes} bytes, CloudFormation accepts ${JOURNEYS.maxTemplateBytes} (1 MB); each journey's state machine definition is in it${nested || journeyStacks > 1 ? '' : ` (${JOURNEYS.maxJourneys} journeys fit only if they are small)`}: ${remedy}`,
    );
  }
  const counts = [
    ['resources', Object.keys(template.Resources ?? {}).length, JOURNEYS.maxStackResources],
    ['outputs', Object.keys(template.Outputs ?? {}).length, JOURNEYS.maxStackOutputs],
    ['parameters', Object.keys(template.Parameters ?? {}).length, JOURNEYS.maxStackParameters],
  ] as const;
  for (const [name, count, limit] of counts) {
    if (count > limit) problems.push(`${what} has ${count} ${name}, CloudFormation allows ${limit} per stack: ${remedy}`);
  }
  return problems;
}

/** The bytes of a stack's template as synth writes it (indented unless `suppressTemplateIndentation`): the file cdk deploy uploads. */
export function templateBytes(stack: Stack, template: unknown): number {
  const suppressed = (stack as unknown as { _suppressTemplateIndentation?: boolean })._suppressTemplateIndentation === true;
  return Buffer.byteLength(JSON.stringify(template, undefined, suppressed ? undefined : 1));
}
