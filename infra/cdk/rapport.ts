import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArnFormat, Lazy, Names, Stack, Stage, Tags, Token } from 'aws-cdk-lib';
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventsTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { UNSUBSCRIBE_PATH } from '../../functions/journeys/unsubscribe';
import type { ConsentMode } from '../../shared';
import { ENV, PROFILE_CONSUMER_PATTERN, PROFILE_TABLE_LAYOUT } from '../../shared/config/env';
import { JOURNEY_ENV } from '../../shared/config/journey-env';
import type { CompiledJourney } from '../../workflows/journeys';
import { INGEST, JOURNEY_TABLE_ACCESS, JOURNEYS, PROFILE, PROFILE_TABLE_ACCESS, RAPPORT_DEFAULTS, requiredTombstoneDays } from './defaults';
import type { ProfileTableAccess } from './defaults';
import { RapportPropsError } from './errors';
import { assertLocalEsbuild, rapportFunction } from './function';
import { compileJourneys, loadJourneys, stateMachineName, stateMachineNamePrefix, templateFiles, writeJourneysFile } from './journeys';
import { allowRulesOfBus, BusRuleFunction, InvokeFunction, SqsOnFailure } from './targets';
import { acknowledgeNagFindings } from './nag';
import { RapportObservability } from './observability';
import { findPropProblems, knownTags } from './validate';

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
   * SES configuration set the emails are sent with (event publishing of
   * deliveries, bounces and complaints; dedicated IPs).
   *
   * @default none
   */
  readonly configurationSet?: string;
}

/** Where journey SMS are sent from (AWS End User Messaging SMS). */
export interface RapportSms {
  /** ARN of the phone number, pool or sender id SMS are sent from; the step function may send from it alone. */
  readonly originationIdentity: string;
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

  /** The SES identity journey emails are sent from. */
  readonly email: RapportEmail;

  /**
   * Where journey SMS are sent from.
   *
   * @default none: a journey that sends SMS fails synth
   */
  readonly sms?: RapportSms;

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
   * Where alarm notifications are e-mailed (dead letters, ingest 5xx rate, failed
   * executions, throttles). The address must confirm the subscription SNS sends it.
   *
   * @default none: alarms publish to `alarmTopic` only; subscribe to it yourself
   */
  readonly alarmEmail?: string;

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
}

/** What Powertools' DynamoDB idempotency persistence layer calls, and nothing more. */
const IDEMPOTENCY_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];

/**
 * What a principal needs of the customer-managed key to use the tables, secrets,
 * bus and queue it encrypts; no wildcard (the stock grantEncryptDecrypt adds `kms:ReEncrypt*`).
 */
const KEY_USER_ACTIONS = ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'];

/** Access log fields of both APIs, as JSON. */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  routeKey: '$context.routeKey',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integration.status',
  integrationLatency: '$context.integration.latency',
  integrationError: '$context.integration.error',
};

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
 * the step function; a rule per trigger on `bus` invokes the starter, which
 * enrols customers under deterministic execution names; the profile consumer
 * resumes waiting runs and stops converted ones; a rule on the default bus
 * reports each execution's end to the run-ended function.
 *
 * Every asynchronous delivery (rule target, schedule, async invocation) is retried
 * and then lands in one dead-letter queue.
 *
 * Operations: alarms (dead letters, ingest 5xx rate, failed executions, throttles)
 * notify `alarmTopic`; a dashboard per stage; everything at rest is encrypted,
 * with `encryptionKey` when given. docs/operations.md is the runbook.
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
  /** The `$default` stage of `customerApi`; its `url` is the admin API's base URL. */
  public readonly customerApiStage: apigwv2.HttpStage;
  /** The compiled journeys, in file order (their definitions invoke `journeyStepFunction`). */
  public readonly journeys: readonly CompiledJourney[];
  /** One Standard state machine per journey, by journey id, named `Rapport-<stage>_<journey id>` (tagged `rapport:journey`). */
  public readonly journeyStateMachines: ReadonlyMap<string, sfn.StateMachine>;
  /** The role of every journey state machine: invoke the step function, deliver logs and traces (and use the key). */
  public readonly journeyStateMachineRole: iam.Role;
  /** The start of every journey state machine's name, `Rapport-<stage>_`: grants and the run-ended rule name them by it. */
  public readonly journeyStateMachineNamePrefix: string;
  /** The rules on `bus` that start each journey (one per trigger pattern), by journey id. */
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

  readonly #customerRoutes: apigwv2.HttpRoute[];

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
      email: props.email,
      ...(props.sms !== undefined && { sms: props.sms }),
      outboundWebhooks: props.outboundWebhooks ?? RAPPORT_DEFAULTS.outboundWebhooks,
      sendPolicy: {
        frequencyCap: props.sendPolicy?.frequencyCap ?? RAPPORT_DEFAULTS.sendPolicy.frequencyCap,
        frequencyWindowDays: props.sendPolicy?.frequencyWindowDays ?? RAPPORT_DEFAULTS.sendPolicy.frequencyWindowDays,
        frequencyCapMaxDelayDays: props.sendPolicy?.frequencyCapMaxDelayDays ?? RAPPORT_DEFAULTS.sendPolicy.frequencyCapMaxDelayDays,
        quietHours: props.sendPolicy?.quietHours ?? RAPPORT_DEFAULTS.sendPolicy.quietHours,
        defaultTimeZone: props.sendPolicy?.defaultTimeZone ?? RAPPORT_DEFAULTS.sendPolicy.defaultTimeZone,
      },
      ...(props.alarmEmail !== undefined && { alarmEmail: props.alarmEmail }),
    };
    const key = props.encryptionKey;
    if (key !== undefined) this.encryptionKey = key;
    const webhookTargets = Object.keys(resolved.outboundWebhooks);
    // The tags journeys may read: tags.yaml's rules and manual tags, as the profile functions load them.
    const tags = knownTags(resolved.configDir);
    const journeyLoad = loadJourneys({
      stageName: props.stageName,
      journeysDir: resolved.journeysDir,
      templatesDir: resolved.templatesDir,
      webhookTargets,
      sms: resolved.sms !== undefined,
      ...(tags !== undefined && { tags }),
    });
    const problems = [
      ...findPropProblems(resolved),
      ...(props.encryptionKey !== undefined && Token.isUnresolved(Stack.of(this).region)
        ? ['encryptionKey needs a stack with an explicit region (env: { region }): DynamoDB tables name their customer-managed key per region']
        : []),
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
    const journeysFile = writeJourneysFile(this.#synthFilesDir('journeys'), this.journeys);

    const { stageName, removalPolicy, logRetention } = resolved;
    const stack = Stack.of(this);
    Tags.of(this).add('rapport:stage', stageName);
    if (key !== undefined) allowLogsToUse(key, stack);
    const logGroup = (logicalId: string) =>
      new logs.LogGroup(this, logicalId, { retention: logRetention, removalPolicy, ...(key !== undefined && { encryptionKey: key }) });

    this.bus = new events.EventBus(this, 'EventBus', {
      description: `Rapport ${stageName}: customer events`,
      ...(key !== undefined && { kmsKey: key }),
    });
    this.bus.applyRemovalPolicy(removalPolicy);
    this.eventArchive = new events.Archive(this.bus, 'Archive', {
      sourceEventBus: this.bus,
      description: `Rapport ${stageName}: every event on the bus, for replay`,
      eventPattern: {}, // no pattern: the archive keeps every event
      retention: resolved.eventArchiveRetention,
    });
    if (key !== undefined) {
      // Not the Archive's kmsKey prop: its key policy statement names the bus by GetAtt, a cycle with a bus on
      // the same key. The bus's own statement already lets EventBridge use the key for this bus's events.
      (this.eventArchive.node.defaultChild as events.CfnArchive).kmsKeyIdentifier = key.keyArn;
    }
    this.eventArchive.applyRemovalPolicy(removalPolicy);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      ...(key !== undefined ? { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: key } : { encryption: sqs.QueueEncryption.SQS_MANAGED }),
      enforceSSL: true,
      retentionPeriod: INGEST.deadLetterRetention,
      removalPolicy,
    });

    this.idempotencyTable = new dynamodb.TableV2(this, 'IdempotencyTable', {
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: 'expiration',
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: key !== undefined ? dynamodb.TableEncryptionV2.customerManagedKey(key) : dynamodb.TableEncryptionV2.awsManagedKey(),
      removalPolicy,
    });

    // ---- Ingest: HTTP API -> ingest function -> bus ----

    const secrets = new Map<string, secretsmanager.Secret>();
    for (const source of resolved.sources) {
      secrets.set(
        source.id,
        new secretsmanager.Secret(this, `SourceSecret-${source.id}`, {
          description: `Rapport ${stageName}: Standard Webhooks secrets and Segment write keys of source "${source.id}"`,
          generateSecretString: {
            secretStringTemplate: JSON.stringify({ webhookSecrets: [], writeKeys: [] }),
            generateStringKey: 'webhookSecret',
            excludePunctuation: true,
            passwordLength: 32,
          },
          removalPolicy,
          ...(key !== undefined && { encryptionKey: key }),
        }),
      );
    }
    this.sourceSecrets = secrets;

    // Signs the one-click unsubscribe links the step function puts in messages; ingest verifies them on /v1/unsubscribe.
    this.unsubscribeSecret = new secretsmanager.Secret(this, 'UnsubscribeSecret', {
      description: `Rapport ${stageName}: key that signs one-click unsubscribe links; to rotate, store a JSON list, new key first, old keys kept (see docs/operations.md)`,
      generateSecretString: { excludePunctuation: true, passwordLength: 48 },
      removalPolicy,
      ...(key !== undefined && { encryptionKey: key }),
    });

    this.ingestFunction = rapportFunction(this, 'IngestFunction', {
      ...(key !== undefined && { encryptionKey: key }),
      stageName,
      description: `Rapport ${stageName}: verifies and validates webhook and Segment events, puts them on the bus`,
      entry: INGEST.entry,
      serviceName: INGEST.serviceName,
      memorySize: INGEST.memorySize,
      timeout: INGEST.timeout,
      logGroup: logGroup('IngestLogs'),
      environment: {
        [ENV.EVENT_BUS_NAME]: this.bus.eventBusName,
        [ENV.IDEMPOTENCY_TABLE_NAME]: this.idempotencyTable.tableName,
        [ENV.SOURCES]: Stack.of(this).toJsonString(
          // What each source may send travels beside its secret's ARN (not secret; read by functions/ingest/aws.ts).
          resolved.sources.map(({ id, events, traits }) => ({
            id,
            secretArn: secrets.get(id)!.secretArn,
            ...(events !== undefined && { events }),
            ...(traits !== undefined && { traits }),
          })),
        ),
        [ENV.UNSUBSCRIBE_SECRET]: this.unsubscribeSecret.secretArn,
        // tags.yaml (which tags senders may set) is bundled rather than put in a variable: variables share 4 KB.
        [ENV.CONFIG_DIR]: PROFILE.bundledConfigDir,
      },
      bundledFiles: [
        {
          folder: PROFILE.bundledConfigFolder,
          files: [
            ...INGEST.configFiles.map((file) => path.join(resolved.configDir, file)),
            ...INGEST.optionalConfigFiles.map((file) => path.join(resolved.configDir, file)).filter((file) => existsSync(file)),
          ],
        },
      ],
    });

    this.bus.grantPutEventsTo(this.ingestFunction);
    this.idempotencyTable.grant(this.ingestFunction, ...IDEMPOTENCY_TABLE_ACTIONS);
    this.ingestFunction.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [...[...secrets.values()].map((secret) => secret.secretArn), this.unsubscribeSecret.secretArn],
      }),
    );

    this.httpApi = new apigwv2.HttpApi(this, 'HttpApi', {
      apiName: `rapport-${stageName}-ingest`,
      description: `Rapport ${stageName}: Standard Webhooks and Segment HTTP Tracking API ingest`,
      createDefaultStage: false, // created below, with throttling and access logs
    });
    this.httpStage = this.#loggedDefaultStage('DefaultStage', this.httpApi, resolved.apiThrottle, logGroup('ApiAccessLogs'));

    const integration = new HttpLambdaIntegration('Ingest', this.ingestFunction, {
      payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
    });
    for (const routePath of INGEST.routes) {
      // No authorizer: senders sign their requests, and the function verifies the signature on the raw body.
      this.httpApi.addRoutes({ path: routePath, methods: [apigwv2.HttpMethod.POST], integration });
    }
    // One-click unsubscribe (RFC 8058): GET shows the confirmation page, POST (what mail clients send) unsubscribes.
    // No authorizer either: the link's HMAC (the unsubscribe secret) is the authorization.
    this.httpApi.addRoutes({ path: UNSUBSCRIBE_PATH, methods: [apigwv2.HttpMethod.GET, apigwv2.HttpMethod.POST], integration });

    // ---- Profiles: bus -> consumer -> profile table (+ derived events); sweep; admin API ----

    const L = PROFILE_TABLE_LAYOUT;
    const stringKey = (name: string): dynamodb.Attribute => ({ name, type: dynamodb.AttributeType.STRING });
    this.profileTable = new dynamodb.TableV2(this, 'ProfileTable', {
      partitionKey: stringKey(L.partitionKey),
      sortKey: stringKey(L.sortKey),
      timeToLiveAttribute: L.ttlAttribute,
      // Sparse, and KEYS_ONLY: the store reads only the index sort key (`<time>#<customerId>`) from index items.
      globalSecondaryIndexes: [L.dueIndex, L.lastOrderIndex].map((index) => ({
        indexName: index.name,
        partitionKey: stringKey(index.partitionKey),
        sortKey: stringKey(index.sortKey),
        projectionType: dynamodb.ProjectionType.KEYS_ONLY,
      })),
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: key !== undefined ? dynamodb.TableEncryptionV2.customerManagedKey(key) : dynamodb.TableEncryptionV2.awsManagedKey(),
      removalPolicy,
    });

    // Ingest records each consent denial in the customer's partition before it answers, so the send step honours
    // it at once (one conditional PutItem; functions/profile/store.ts putConsentHold), then reads the customer's
    // erasure tombstone and deletes the hold it wrote if they are erased (write, then check), and reads the forwarding
    // records an alias would join (GetItem in C#*; functions/ingest/aliases.ts refuses one that would close a
    // cycle). It also records the
    // tracking plan violations of flagged events in their own partitions (functions/ingest/violations.ts).
    this.ingestFunction.addEnvironment(ENV.PROFILE_TABLE_NAME, this.profileTable.tableName);
    this.ingestFunction.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:PutItem'],
        resources: [this.profileTable.tableArn],
        // Customer partitions (C#<id>) and violations (TPV#...) only: ingest cannot touch aliases, tombstones or anything else.
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...INGEST.profileTableLeadingKeys] } },
      }),
    );
    this.ingestFunction.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:DeleteItem'],
        resources: [this.profileTable.tableArn],
        // Alias checks (forwarding records) and undoing a consent hold of an erased customer: customer partitions only.
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['C#*'] } },
      }),
    );
    this.ingestFunction.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem'],
        resources: [this.profileTable.tableArn],
        // Tombstones only (X#<sha256(id)>, no customer data in them).
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['X#*'] } },
      }),
    );

    const profileEnvironment = {
      [ENV.PROFILE_TABLE_NAME]: this.profileTable.tableName,
      // The customer API publishes nothing, but its loader (functions/profile/aws.ts) requires the bus name too.
      [ENV.EVENT_BUS_NAME]: this.bus.eventBusName,
      [ENV.CONFIG_DIR]: PROFILE.bundledConfigDir,
      [ENV.CONSENT_MODE]: resolved.consentMode,
      [ENV.TIMELINE_RETENTION_DAYS]: String(resolved.timelineRetention.toDays()),
    };
    const configFiles = {
      folder: PROFILE.bundledConfigFolder,
      files: PROFILE.configFiles.map((file) => path.join(resolved.configDir, file)),
    };
    const journeysFileBundle = { folder: JOURNEYS.bundledJourneysFolder, files: [journeysFile] };
    const asyncInvoke = {
      retryAttempts: PROFILE.asyncInvoke.retryAttempts,
      maxEventAge: PROFILE.asyncInvoke.maxEventAge,
      onFailure: new SqsOnFailure(this.deadLetterQueue),
    };

    this.profileConsumerFunction = rapportFunction(this, 'ProfileConsumerFunction', {
      ...(key !== undefined && { encryptionKey: key }),
      stageName,
      description: `Rapport ${stageName}: folds customer events into profiles, tags and timelines; publishes derived events`,
      ...PROFILE.consumer,
      logGroup: logGroup('ProfileConsumerLogs'),
      environment: profileEnvironment,
      // journeys.json: the consumer runs the journey router after each event (see the journeys section).
      bundledFiles: [configFiles, journeysFileBundle],
      asyncInvoke,
    });
    this.sweepFunction = rapportFunction(this, 'SweepFunction', {
      ...(key !== undefined && { encryptionKey: key }),
      stageName,
      description: `Rapport ${stageName}: re-evaluates customers whose tags change with time alone`,
      ...PROFILE.sweep,
      logGroup: logGroup('SweepLogs'),
      environment: profileEnvironment,
      bundledFiles: [configFiles],
      asyncInvoke,
    });
    this.customerApiFunction = rapportFunction(this, 'CustomerApiFunction', {
      ...(key !== undefined && { encryptionKey: key }),
      stageName,
      description: `Rapport ${stageName}: customer admin API (profile, timeline, messages, journeys, export, erasure)`,
      entry: PROFILE.customerApi.entry,
      serviceName: PROFILE.customerApi.serviceName,
      memorySize: PROFILE.customerApi.memorySize,
      timeout: PROFILE.customerApi.timeout,
      logGroup: logGroup('CustomerApiLogs'),
      environment: { ...profileEnvironment, [ENV.ERASURE_TOMBSTONE_DAYS]: String(Math.ceil(resolved.erasureTombstoneRetention.toDays({ integral: false }))) },
      // journeys.json: erasure stops the customer's runs, through the journey runtime (see the journeys section).
      bundledFiles: [configFiles, journeysFileBundle],
    });

    this.#grantProfileTable(this.profileConsumerFunction, PROFILE_TABLE_ACCESS.consumer);
    this.#grantProfileTable(this.sweepFunction, PROFILE_TABLE_ACCESS.sweep);
    this.#grantProfileTable(this.customerApiFunction, PROFILE_TABLE_ACCESS.customerApi);
    // Derived events (Tag Added, Lifecycle Stage Changed, ...); the customer API publishes none.
    this.bus.grantPutEventsTo(this.profileConsumerFunction);
    this.bus.grantPutEventsTo(this.sweepFunction);

    this.profileConsumerRule = new events.Rule(this, 'ProfileConsumerRule', {
      eventBus: this.bus,
      description: `Rapport ${stageName}: customer events from ingest to the profile consumer (derived events do not match)`,
      eventPattern: eventPattern(PROFILE_CONSUMER_PATTERN),
      targets: [
        new eventsTargets.LambdaFunction(this.profileConsumerFunction, {
          retryAttempts: PROFILE.consumerRuleDelivery.retryAttempts,
          maxEventAge: PROFILE.consumerRuleDelivery.maxEventAge,
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });

    const scheduleRole = new iam.Role(this, 'SweepScheduleRole', {
      description: `Rapport ${stageName}: lets EventBridge Scheduler invoke the sweep`,
      // Confused-deputy guard: only schedules of this account's default group may assume it.
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': stack.account,
            'aws:SourceArn': stack.formatArn({ service: 'scheduler', resource: 'schedule-group', resourceName: 'default' }),
          },
        },
      }),
    });
    this.sweepSchedule = new scheduler.Schedule(this, 'SweepSchedule', {
      description: `Rapport ${stageName}: sweep of time-based tags`,
      schedule: resolved.sweepSchedule,
      target: new InvokeFunction(this.sweepFunction, {
        role: scheduleRole,
        retryAttempts: PROFILE.sweepScheduleDelivery.retryAttempts,
        maxEventAge: PROFILE.sweepScheduleDelivery.maxEventAge,
        deadLetterQueue: this.deadLetterQueue,
      }),
    });

    this.customerApi = new apigwv2.HttpApi(this, 'CustomerApi', {
      apiName: `rapport-${stageName}-customers`,
      description: `Rapport ${stageName}: customer admin API (IAM authorization)`,
      createDefaultStage: false, // created below, with throttling and access logs
      // Every route, including any added later, requires a SigV4-signed request from an allowed principal.
      defaultAuthorizer: new HttpIamAuthorizer(),
    });
    this.customerApiStage = this.#loggedDefaultStage('CustomerApiDefaultStage', this.customerApi, PROFILE.customerApi.throttle, logGroup('CustomerApiAccessLogs'), {
      // Who read, exported or erased a customer: the signing principal.
      callerArn: '$context.identity.userArn',
    });
    const customerIntegration = new HttpLambdaIntegration('Customers', this.customerApiFunction, {
      payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
    });
    this.#customerRoutes = PROFILE.customerApi.routes.flatMap((route) =>
      this.customerApi.addRoutes({
        path: route.path,
        methods: [apigwv2.HttpMethod[route.method]],
        integration: customerIntegration,
      }),
    );

    // ---- Journeys: trigger rules -> starter -> state machines -> step function; router in the consumer ----

    const webhookSecrets = new Map<string, secretsmanager.ISecret>();
    for (const [name, webhook] of Object.entries(resolved.outboundWebhooks)) {
      webhookSecrets.set(
        name,
        webhook.secretArn !== undefined
          ? secretsmanager.Secret.fromSecretCompleteArn(this, `OutboundWebhookSecret-${name}`, webhook.secretArn)
          : new secretsmanager.Secret(this, `OutboundWebhookSecret-${name}`, {
              description: `Rapport ${stageName}: Standard Webhooks secret of outbound webhook "${name}" (base64; the receiver verifies with whsec_<value>)`,
              // Letters and digits only: a valid base64 body, 36 bytes of key.
              generateSecretString: { excludePunctuation: true, passwordLength: 48 },
              removalPolicy,
              ...(key !== undefined && { encryptionKey: key }),
            }),
      );
    }
    this.outboundWebhookSecrets = webhookSecrets;

    const { email, sms, sendPolicy } = resolved;
    this.journeyStepFunction = rapportFunction(this, 'JourneyStepFunction', {
      ...(key !== undefined && { encryptionKey: key }),
      stageName,
      description: `Rapport ${stageName}: runs journey steps (send, branch, split, tag, update, webhook, waits)`,
      ...JOURNEYS.step,
      logGroup: logGroup('JourneyStepLogs'),
      environment: {
        ...profileEnvironment,
        [JOURNEY_ENV.TEMPLATES_DIR]: JOURNEYS.bundledTemplatesDir,
        [JOURNEY_ENV.EMAIL_FROM_ADDRESS]: email.fromAddress,
        ...(email.configurationSet !== undefined && { [JOURNEY_ENV.EMAIL_CONFIGURATION_SET]: email.configurationSet }),
        ...(sms !== undefined && { [JOURNEY_ENV.SMS_ORIGINATION_IDENTITY]: sms.originationIdentity }),
        [JOURNEY_ENV.OUTBOUND_WEBHOOK_TARGETS]: stack.toJsonString(
          Object.fromEntries(
            [...webhookSecrets].map(([name, secret]) => [name, { url: resolved.outboundWebhooks[name]?.url, secretArn: secret.secretArn }]),
          ),
        ),
        [JOURNEY_ENV.SEND_POLICY]: JSON.stringify({
          frequencyCap: sendPolicy.frequencyCap,
          frequencyWindowDays: sendPolicy.frequencyWindowDays,
          frequencyCapMaxDelayDays: sendPolicy.frequencyCapMaxDelayDays,
          quietHours: sendPolicy.quietHours === false ? null : { start: sendPolicy.quietHours.start, end: sendPolicy.quietHours.end },
          defaultTimeZone: sendPolicy.defaultTimeZone,
        }),
        [ENV.UNSUBSCRIBE_SECRET]: this.unsubscribeSecret.secretArn,
        // One-click unsubscribe links point at the ingest API, which serves /v1/unsubscribe.
        [ENV.PUBLIC_URL]: this.httpStage.url,
      },
      bundledFiles: [configFiles, { folder: JOURNEYS.bundledTemplatesFolder, files: templateFiles(resolved.templatesDir) }],
    });

    this.journeyLogGroup = logGroup('JourneyLogs');
    this.journeyStateMachineNamePrefix = stateMachineNamePrefix(stageName);
    // Every journey's state machine is named Rapport-<stage>_<journey id>: grants, the run-ended rule and
    // the functions name them all by this prefix, so none of them grows with the number of journeys.
    const stateMachineArnPrefix = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: this.journeyStateMachineNamePrefix,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.journeyStateMachineRole = this.#journeyStateMachineRole(stageName, stateMachineArnPrefix, key);
    // CDK adds each machine's log, trace and key statements to its role: one set per machine, a policy
    // growing with the journeys (the key's differ by machine). The shared role has them once, for all.
    const sharedRole = this.journeyStateMachineRole.withoutPolicyUpdates();
    const stateMachines = new Map<string, sfn.StateMachine>();
    for (const journey of this.journeys) {
      const scope = new Construct(this, `Journey-${journey.id}`);
      const stateMachine = new sfn.StateMachine(scope, 'StateMachine', {
        stateMachineName: stateMachineName(stageName, journey.id),
        stateMachineType: sfn.StateMachineType.STANDARD,
        role: sharedRole,
        definitionBody: sfn.DefinitionBody.fromString(stack.toJsonString(journey.definition)),
        // Executions carry ids only, but their data stays out of the logs all the same.
        logs: { destination: this.journeyLogGroup, level: JOURNEYS.logLevel, includeExecutionData: false },
        tracingEnabled: true,
        ...(key !== undefined && { encryptionConfiguration: new sfn.CustomerManagedEncryptionConfiguration(key) }),
      });
      // Step Functions checks the role's log delivery permissions when it creates the machine: policy first.
      stateMachine.node.addDependency(this.journeyStateMachineRole);
      Tags.of(stateMachine).add('rapport:journey', journey.id);
      stateMachines.set(journey.id, stateMachine);
    }
    this.journeyStateMachines = stateMachines;

    const journeyAsyncInvoke = {
      retryAttempts: JOURNEYS.asyncInvoke.retryAttempts,
      maxEventAge: JOURNEYS.asyncInvoke.maxEventAge,
      onFailure: new SqsOnFailure(this.deadLetterQueue),
    };
    this.journeyStarterFunction = rapportFunction(this, 'JourneyStarterFunction', {
      ...(key !== undefined && { encryptionKey: key }),
      stageName,
      description: `Rapport ${stageName}: enrols customers in the journeys their events trigger`,
      ...JOURNEYS.starter,
      logGroup: logGroup('JourneyStarterLogs'),
      environment: {
        [ENV.PROFILE_TABLE_NAME]: this.profileTable.tableName,
        [ENV.CONSENT_MODE]: resolved.consentMode,
        [JOURNEY_ENV.JOURNEYS_FILE]: JOURNEYS.bundledJourneysFile,
        [JOURNEY_ENV.STATE_MACHINE_ARN_PREFIX]: stateMachineArnPrefix,
      },
      bundledFiles: [journeysFileBundle],
      asyncInvoke: journeyAsyncInvoke,
    });
    this.journeyRunEndedFunction = rapportFunction(this, 'JourneyRunEndedFunction', {
      ...(key !== undefined && { encryptionKey: key }),
      stageName,
      description: `Rapport ${stageName}: records the end of journey runs and frees their locks`,
      ...JOURNEYS.runEnded,
      logGroup: logGroup('JourneyRunEndedLogs'),
      environment: {
        [ENV.PROFILE_TABLE_NAME]: this.profileTable.tableName,
        [ENV.CONSENT_MODE]: resolved.consentMode,
      },
      asyncInvoke: journeyAsyncInvoke,
    });
    // The router runs in the consumer after each event (afterApply): it reads the same journeys.json.
    // So does the customer API: erasure stops the customer's running journeys before it deletes their items.
    for (const fn of [this.profileConsumerFunction, this.customerApiFunction]) {
      fn.addEnvironment(JOURNEY_ENV.JOURNEYS_FILE, JOURNEYS.bundledJourneysFile);
      fn.addEnvironment(JOURNEY_ENV.STATE_MACHINE_ARN_PREFIX, stateMachineArnPrefix);
    }

    const triggerRules = new Map<string, events.Rule[]>();
    for (const journey of this.journeys) {
      const scope = this.node.findChild(`Journey-${journey.id}`);
      triggerRules.set(
        journey.id,
        journey.triggerPatterns.map(
          (pattern, index) =>
            new events.Rule(scope, `TriggerRule${index}`, {
              eventBus: this.bus,
              description: `Rapport ${stageName}: starts journey "${journey.id}"`,
              eventPattern: eventPattern(pattern),
              // No permission or dead-letter statement per rule: allowRulesOfBus below, once for all.
              targets: [new BusRuleFunction(this.journeyStarterFunction, { ...JOURNEYS.triggerRuleDelivery, deadLetterQueue: this.deadLetterQueue })],
            }),
        ),
      );
    }
    this.journeyTriggerRules = triggerRules;
    if (this.journeys.length > 0) allowRulesOfBus(this.bus, this.journeyStarterFunction, this.deadLetterQueue, 'AllowTriggerRulesOfRapportBus');

    const machines = [...stateMachines.values()];
    if (machines.length > 0) {
      // Step Functions reports status changes on the account's default bus, never on a custom one.
      this.journeyRunEndedRule = new events.Rule(this, 'JourneyRunEndedRule', {
        description: `Rapport ${stageName}: ends of journey executions, to the run-ended function`,
        eventPattern: {
          source: ['aws.states'],
          detailType: ['Step Functions Execution Status Change'],
          // By name prefix: the pattern's size does not grow with the journeys (EventBridge allows 2,048 characters).
          detail: { status: [...JOURNEYS.endStatuses], stateMachineArn: [{ prefix: stateMachineArnPrefix }] },
        },
        targets: [
          new eventsTargets.LambdaFunction(this.journeyRunEndedFunction, {
            retryAttempts: JOURNEYS.runEndedRuleDelivery.retryAttempts,
            maxEventAge: JOURNEYS.runEndedRuleDelivery.maxEventAge,
            deadLetterQueue: this.deadLetterQueue,
          }),
        ],
      });
    }

    // Grants: what each function's code path calls, on exactly these resources.
    this.#grantProfileTable(this.journeyStepFunction, { table: JOURNEY_TABLE_ACCESS.step, indexes: [] });
    this.#grantProfileTable(this.journeyStarterFunction, { table: JOURNEY_TABLE_ACCESS.starter, indexes: [] });
    this.#grantProfileTable(this.journeyRunEndedFunction, { table: JOURNEY_TABLE_ACCESS.runEnded, indexes: [] });
    // Tag and update steps change the profile, which publishes derived events (Tag Added, ...).
    this.bus.grantPutEventsTo(this.journeyStepFunction);
    this.journeyStepFunction.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.unsubscribeSecret.secretArn, ...[...webhookSecrets.values()].map((secret) => secret.secretArn)],
      }),
    );
    this.journeyStepFunction.addToRolePolicy(this.#sendEmailStatement(email));
    if (sms !== undefined) {
      this.journeyStepFunction.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['sms-voice:SendTextMessage'], resources: [sms.originationIdentity] }),
      );
    }
    if (machines.length > 0) {
      // Journeys' state machines and their executions, by name prefix (Rapport-<stage>_*): one statement
      // of a fixed size for any number of journeys.
      const journeyMachines = `${stateMachineArnPrefix}*`;
      this.journeyStarterFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [journeyMachines] }));
      // The router resumes waiting runs (task tokens of these state machines) and stops converted or exited ones.
      this.profileConsumerFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:SendTaskSuccess'], resources: [journeyMachines] }));
      // A wait_for reached at the trigger's time resumes itself when its event was handled first (steps.ts `earlierEvent`).
      this.journeyStepFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:SendTaskSuccess'], resources: [journeyMachines] }));
      // Executions are named per customer and trigger at run time: the state machine's name prefix pins them.
      const executions = stack.formatArn({
        service: 'states',
        resource: 'execution',
        resourceName: `${this.journeyStateMachineNamePrefix}*:*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
      // The router stops converted and exited runs; erasure (the customer API) stops every running one; the
      // starter stops a run it started for a customer erased meanwhile (write, then check).
      for (const fn of [this.profileConsumerFunction, this.customerApiFunction, this.journeyStarterFunction]) {
        fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:StopExecution'], resources: [executions] }));
      }
    }

    const functions = {
      ingest: this.ingestFunction,
      profileConsumer: this.profileConsumerFunction,
      sweep: this.sweepFunction,
      customerApi: this.customerApiFunction,
      journeyStep: this.journeyStepFunction,
      journeyStarter: this.journeyStarterFunction,
      journeyRunEnded: this.journeyRunEndedFunction,
    };
    if (key !== undefined) {
      // Tables, secrets, the bus and the dead-letter queue are encrypted with the key: every function uses it.
      for (const grantee of [...Object.values(functions), scheduleRole]) key.grant(grantee, ...KEY_USER_ACTIONS); // scheduleRole: the sweep's dead letters
      // EventBridge writes the rules' dead letters into the encrypted queue.
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'EventBridgeWritesDeadLettersOfRapportRules',
          principals: [new iam.ServicePrincipal('events.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: ['*'], // in a key policy, "*" is this key
          conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
        }),
      );
    }

    this.observability = new RapportObservability(this, 'Observability', {
      stageName,
      ...(resolved.alarmEmail !== undefined && { alarmEmail: resolved.alarmEmail }),
      ...(key !== undefined && { encryptionKey: key }),
      removalPolicy,
      deadLetterQueue: this.deadLetterQueue,
      httpApi: this.httpApi,
      functions,
      stateMachines,
    });
    this.alarmTopic = this.observability.alarmTopic;

    acknowledgeNagFindings(this);
    // Every journey's definition is in the template: refuse at synth a template CloudFormation would refuse.
    this.node.addValidation({ validate: () => templateSizeProblems(stack) });
  }

  /**
   * The one role of every journey state machine (`Rapport-<stage>_*`), with what CDK would give each
   * machine's own role, stated once: invoke the step function (the compiler's FunctionName, unqualified),
   * deliver execution logs and traces (neither API has resource-level permissions), and with a key,
   * use it for the machines' data (encryption context: a journey machine) and their log delivery.
   */
  #journeyStateMachineRole(stageName: string, stateMachineArnPrefix: string, key: kms.IKey | undefined): iam.Role {
    const stack = Stack.of(this);
    const journeyMachines = `${stateMachineArnPrefix}*`;
    const role = new iam.Role(this, 'JourneyStateMachineRole', {
      description: `Rapport ${stageName}: the role of every journey state machine`,
      // Confused-deputy guard: only this stage's journey state machines, in this account, may assume it.
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com', {
        conditions: { ArnLike: { 'aws:SourceArn': journeyMachines }, StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          'logs:CreateLogDelivery',
          'logs:GetLogDelivery',
          'logs:UpdateLogDelivery',
          'logs:DeleteLogDelivery',
          'logs:ListLogDeliveries',
          'logs:PutResourcePolicy',
          'logs:DescribeResourcePolicies',
          'logs:DescribeLogGroups',
        ],
        resources: ['*'],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets'], resources: ['*'] }),
    );
    // Every Task invokes the step function's unqualified ARN (the compiler's FunctionName): that and nothing else.
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.journeyStepFunction.functionArn] }));
    if (key !== undefined) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [key.keyArn],
          conditions: { StringLike: { 'kms:EncryptionContext:aws:states:stateMachineArn': journeyMachines } },
        }),
      );
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:GenerateDataKey'],
          resources: [key.keyArn],
          conditions: { StringEquals: { 'kms:EncryptionContext:SourceArn': stack.formatArn({ service: 'logs', resource: '*', arnFormat: ArnFormat.NO_RESOURCE_NAME }) } },
        }),
      );
    }
    return role;
  }

  /**
   * `ses:SendEmail` (SES v2) from `email.fromAddress` only: on the address's and
   * its domain's identities (SES authorises whichever is verified) and on the
   * configuration set, which SES v2 authorises too when one is used.
   */
  #sendEmailStatement(email: RapportEmail): iam.PolicyStatement {
    const stack = Stack.of(this);
    const identity = (name: string) => stack.formatArn({ service: 'ses', resource: 'identity', resourceName: name });
    const domain = email.fromAddress.slice(email.fromAddress.lastIndexOf('@') + 1);
    return new iam.PolicyStatement({
      actions: ['ses:SendEmail'],
      resources: [
        identity(email.fromAddress),
        identity(domain),
        ...(email.configurationSet !== undefined
          ? [stack.formatArn({ service: 'ses', resource: 'configuration-set', resourceName: email.configurationSet })]
          : []),
      ],
      conditions: { StringEquals: { 'ses:FromAddress': email.fromAddress } },
    });
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

  /** `access.table` on the profile table and `access.indexes` on its two indexes, each named: no wildcard. */
  #grantProfileTable(fn: lambda.IFunction, access: ProfileTableAccess): void {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: [...access.table], resources: [this.profileTable.tableArn] }));
    if (access.indexes.length === 0) return;
    const { dueIndex, lastOrderIndex } = PROFILE_TABLE_LAYOUT;
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [...access.indexes],
        resources: [dueIndex, lastOrderIndex].map((index) => `${this.profileTable.tableArn}/index/${index.name}`),
      }),
    );
  }

  /** The `$default` stage of `api`, auto-deployed, throttled, with JSON access logs. */
  #loggedDefaultStage(
    id: string,
    api: apigwv2.HttpApi,
    throttle: RapportThrottle,
    accessLogs: logs.ILogGroup,
    extraLogFields: Record<string, string> = {},
  ): apigwv2.HttpStage {
    return new apigwv2.HttpStage(this, id, {
      httpApi: api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: throttle.rateLimit, burstLimit: throttle.burstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify({ ...ACCESS_LOG_FIELDS, ...extraLogFields })),
      },
    });
  }
}

/**
 * Lets CloudWatch Logs encrypt this account's log groups with `key` (what the
 * service needs, limited by encryption context to log groups of this account and region).
 */
function allowLogsToUse(key: kms.IKey, stack: Stack): void {
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'CloudWatchLogsEncryptsRapportLogGroups',
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'], // in a key policy, "*" is this key
      conditions: {
        ArnLike: { 'kms:EncryptionContext:aws:logs:arn': stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
      },
    }),
  );
}

/** A shared, deeply read-only pattern (the embedded bus uses the same object) as the CDK's mutable type. */
function eventPattern(pattern: object): events.EventPattern {
  return structuredClone(pattern) as events.EventPattern;
}

/**
 * CloudFormation accepts a template of at most 1 MB (uploaded to S3, as cdk deploy does); journey
 * definitions take most of it. Measured on the rendered template; `_toCloudFormation` is CDK's own
 * renderer (internal, so absent it the check is skipped rather than guessed).
 */
function templateSizeProblems(stack: Stack): string[] {
  const render = (stack as unknown as { _toCloudFormation?: () => unknown })._toCloudFormation;
  if (typeof render !== 'function') return [];
  const bytes = Buffer.byteLength(JSON.stringify(render.call(stack)));
  if (bytes <= JOURNEYS.maxTemplateBytes) return [];
  return [
    `the template of stack ${stack.stackName} is ${bytes} bytes, CloudFormation accepts ${JOURNEYS.maxTemplateBytes} (1 MB); each journey's state machine definition is in it (${JOURNEYS.maxJourneys} journeys fit only if they are small): deploy fewer or shorter journeys`,
  ];
}
