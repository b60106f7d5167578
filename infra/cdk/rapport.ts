import * as path from 'node:path';
import { Stack, Tags } from 'aws-cdk-lib';
import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventsTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ConsentMode } from '../../shared';
import { ENV, PROFILE_CONSUMER_PATTERN, PROFILE_TABLE_LAYOUT } from '../../shared/config/env';
import { INGEST, PROFILE, PROFILE_TABLE_ACCESS, RAPPORT_DEFAULTS } from './defaults';
import type { ProfileTableAccess } from './defaults';
import { RapportPropsError } from './errors';
import { assertLocalEsbuild, rapportFunction } from './function';
import { InvokeFunction, SqsOnFailure } from './targets';
import { findPropProblems } from './validate';

/** A system that posts events: a Standard Webhooks sender or a Segment/RudderStack SDK. */
export interface RapportSource {
  /** Lower-case letters, digits and hyphens; names the source in config, logs and the secret's description. */
  readonly id: string;
}

/** Default-stage throttling of the HTTP API. */
export interface RapportThrottle {
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  /** Requests allowed in a burst above the steady rate. */
  readonly burstLimit: number;
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
   * Retention of the functions' logs and the APIs' access logs.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * What happens to the resources that hold data (bus and archive, dead-letter
   * queue, idempotency and profile tables, source secrets, log groups) when they
   * leave the stack. SNAPSHOT is not supported: none of these resources can snapshot.
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
}

/** What Powertools' DynamoDB idempotency persistence layer calls, and nothing more. */
const IDEMPOTENCY_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];

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
 * Every asynchronous delivery (rule target, schedule, async invocation) is retried
 * and then lands in one dead-letter queue.
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

  readonly #customerRoutes: apigwv2.HttpRoute[];

  constructor(scope: Construct, id: string, props: RapportProps) {
    super(scope, id);

    const resolved = {
      stageName: props.stageName,
      sources: props.sources ?? RAPPORT_DEFAULTS.sources,
      eventArchiveRetention: props.eventArchiveRetention ?? RAPPORT_DEFAULTS.eventArchiveRetention,
      logRetention: props.logRetention ?? RAPPORT_DEFAULTS.logRetention,
      removalPolicy: props.removalPolicy ?? RAPPORT_DEFAULTS.removalPolicy,
      apiThrottle: props.apiThrottle ?? RAPPORT_DEFAULTS.apiThrottle,
      timelineRetention: props.timelineRetention ?? RAPPORT_DEFAULTS.timelineRetention,
      consentMode: props.consentMode ?? RAPPORT_DEFAULTS.consentMode,
      configDir: path.resolve(props.configDir ?? RAPPORT_DEFAULTS.configDir),
      sweepSchedule: props.sweepSchedule ?? RAPPORT_DEFAULTS.sweepSchedule,
    };
    const problems = findPropProblems(resolved);
    if (problems.length > 0) throw new RapportPropsError(this.node.path, problems);
    assertLocalEsbuild(this.node.path);

    const { stageName, removalPolicy, logRetention } = resolved;
    Tags.of(this).add('rapport:stage', stageName);
    const logGroup = (logicalId: string) => new logs.LogGroup(this, logicalId, { retention: logRetention, removalPolicy });

    this.bus = new events.EventBus(this, 'EventBus', {
      description: `Rapport ${stageName}: customer events`,
    });
    this.bus.applyRemovalPolicy(removalPolicy);
    this.eventArchive = this.bus.archive('Archive', {
      description: `Rapport ${stageName}: every event on the bus, for replay`,
      eventPattern: {}, // no pattern: the archive keeps every event
      retention: resolved.eventArchiveRetention,
    });
    this.eventArchive.applyRemovalPolicy(removalPolicy);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: INGEST.deadLetterRetention,
      removalPolicy,
    });

    this.idempotencyTable = new dynamodb.TableV2(this, 'IdempotencyTable', {
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: 'expiration',
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
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
        }),
      );
    }
    this.sourceSecrets = secrets;

    this.ingestFunction = rapportFunction(this, 'IngestFunction', {
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
          [...secrets].map(([sourceId, secret]) => ({ id: sourceId, secretArn: secret.secretArn })),
        ),
        [ENV.STAGE]: stageName,
      },
    });

    this.bus.grantPutEventsTo(this.ingestFunction);
    this.idempotencyTable.grant(this.ingestFunction, ...IDEMPOTENCY_TABLE_ACTIONS);
    this.ingestFunction.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [...secrets.values()].map((secret) => secret.secretArn),
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
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      removalPolicy,
    });

    const profileEnvironment = {
      [ENV.PROFILE_TABLE_NAME]: this.profileTable.tableName,
      // The customer API publishes nothing, but its loader (functions/profile/aws.ts) requires the bus name too.
      [ENV.EVENT_BUS_NAME]: this.bus.eventBusName,
      [ENV.CONFIG_DIR]: PROFILE.bundledConfigDir,
      [ENV.CONSENT_MODE]: resolved.consentMode,
      [ENV.TIMELINE_RETENTION_DAYS]: String(resolved.timelineRetention.toDays()),
      [ENV.STAGE]: stageName,
    };
    const bundledFiles = {
      folder: PROFILE.bundledConfigFolder,
      files: PROFILE.configFiles.map((file) => path.join(resolved.configDir, file)),
    };
    const asyncInvoke = {
      retryAttempts: PROFILE.asyncInvoke.retryAttempts,
      maxEventAge: PROFILE.asyncInvoke.maxEventAge,
      onFailure: new SqsOnFailure(this.deadLetterQueue),
    };

    this.profileConsumerFunction = rapportFunction(this, 'ProfileConsumerFunction', {
      description: `Rapport ${stageName}: folds customer events into profiles, tags and timelines; publishes derived events`,
      ...PROFILE.consumer,
      logGroup: logGroup('ProfileConsumerLogs'),
      environment: profileEnvironment,
      bundledFiles,
      asyncInvoke,
    });
    this.sweepFunction = rapportFunction(this, 'SweepFunction', {
      description: `Rapport ${stageName}: re-evaluates customers whose tags change with time alone`,
      ...PROFILE.sweep,
      logGroup: logGroup('SweepLogs'),
      environment: profileEnvironment,
      bundledFiles,
      asyncInvoke,
    });
    this.customerApiFunction = rapportFunction(this, 'CustomerApiFunction', {
      description: `Rapport ${stageName}: customer admin API (profile, timeline, export, erasure)`,
      entry: PROFILE.customerApi.entry,
      serviceName: PROFILE.customerApi.serviceName,
      memorySize: PROFILE.customerApi.memorySize,
      timeout: PROFILE.customerApi.timeout,
      logGroup: logGroup('CustomerApiLogs'),
      environment: profileEnvironment,
      bundledFiles,
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

    const stack = Stack.of(this);
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

/** A shared, deeply read-only pattern (the embedded bus uses the same object) as the CDK's mutable type. */
function eventPattern(pattern: object): events.EventPattern {
  return structuredClone(pattern) as events.EventPattern;
}
