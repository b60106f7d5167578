import { createRequire } from 'node:module';
import * as path from 'node:path';
import { Stack, Tags } from 'aws-cdk-lib';
import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../../shared/config/env';
import { INGEST, RAPPORT_DEFAULTS } from './defaults';
import { RapportPropsError } from './errors';
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
   * Retention of the ingest function's logs and the API access logs.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * What happens to the resources that hold data (bus and archive, dead-letter
   * queue, idempotency table, source secrets, log groups) when they leave the stack.
   * SNAPSHOT is not supported: none of these resources can snapshot.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Throttling of the HTTP API's default stage (all routes).
   *
   * @default { rateLimit: 1000, burstLimit: 2000 }
   */
  readonly apiThrottle?: RapportThrottle;
}

/** Repository root: entry and lock file paths must not depend on the directory synth runs in. */
const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * Defines `require` in the ESM bundle, for CommonJS dependencies that call it.
 * The import is aliased so it cannot collide with a bundled `createRequire`.
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __rapportCreateRequire } from 'node:module'; const require = __rapportCreateRequire(import.meta.url);";

/** What Powertools' DynamoDB idempotency persistence layer calls, and nothing more. */
const IDEMPOTENCY_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];

/**
 * The first leg of the data path: an HTTP API whose routes (Standard Webhooks
 * and the Segment HTTP Tracking API) invoke the ingest function, which verifies,
 * validates and normalises events and puts them on the Rapport event bus.
 *
 * Also creates what later legs build on: the bus with its archive and the
 * dead-letter queue that rules on the bus use.
 */
export class Rapport extends Construct {
  /** The custom bus every Rapport event goes through; archived for replay. */
  public readonly bus: events.EventBus;
  /** Archive of every event on `bus`. */
  public readonly eventArchive: events.Archive;
  /** Dead-letter queue for the targets of rules on `bus` (SSE-SQS, which EventBridge can write to). */
  public readonly deadLetterQueue: sqs.Queue;
  /** Powertools idempotency records: partition key `id`, TTL on `expiration`. */
  public readonly idempotencyTable: dynamodb.TableV2;
  /** One secret per source, by source id. */
  public readonly sourceSecrets: ReadonlyMap<string, secretsmanager.Secret>;
  /** Verifies, validates and normalises incoming events and puts them on `bus`. */
  public readonly ingestFunction: nodejs.NodejsFunction;
  public readonly httpApi: apigwv2.HttpApi;
  /** The `$default` stage of `httpApi`, with throttling and access logs; its `url` is the API's base URL. */
  public readonly httpStage: apigwv2.HttpStage;

  constructor(scope: Construct, id: string, props: RapportProps) {
    super(scope, id);

    const resolved = {
      stageName: props.stageName,
      sources: props.sources ?? RAPPORT_DEFAULTS.sources,
      eventArchiveRetention: props.eventArchiveRetention ?? RAPPORT_DEFAULTS.eventArchiveRetention,
      logRetention: props.logRetention ?? RAPPORT_DEFAULTS.logRetention,
      removalPolicy: props.removalPolicy ?? RAPPORT_DEFAULTS.removalPolicy,
      apiThrottle: props.apiThrottle ?? RAPPORT_DEFAULTS.apiThrottle,
    };
    const problems = findPropProblems(resolved);
    if (problems.length > 0) throw new RapportPropsError(this.node.path, problems);
    assertLocalEsbuild(this.node.path);

    const { stageName, removalPolicy, logRetention } = resolved;
    Tags.of(this).add('rapport:stage', stageName);

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

    this.ingestFunction = new nodejs.NodejsFunction(this, 'IngestFunction', {
      description: `Rapport ${stageName}: verifies and validates webhook and Segment events, puts them on the bus`,
      entry: path.join(REPO_ROOT, INGEST.entry),
      handler: INGEST.handler,
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: INGEST.memorySize,
      timeout: INGEST.timeout,
      tracing: lambda.Tracing.ACTIVE,
      logGroup: new logs.LogGroup(this, 'IngestLogs', { retention: logRetention, removalPolicy }),
      environment: {
        [ENV.EVENT_BUS_NAME]: this.bus.eventBusName,
        [ENV.IDEMPOTENCY_TABLE_NAME]: this.idempotencyTable.tableName,
        [ENV.SOURCES]: Stack.of(this).toJsonString(
          [...secrets].map(([sourceId, secret]) => ({ id: sourceId, secretArn: secret.secretArn })),
        ),
        [ENV.STAGE]: stageName,
        POWERTOOLS_SERVICE_NAME: INGEST.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: INGEST.metricsNamespace,
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        forceDockerBundling: false,
        // The handler pins its AWS SDK versions: bundle them instead of using the runtime's.
        bundleAwsSDK: true,
        format: nodejs.OutputFormat.ESM,
        target: 'node24',
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        logLevel: nodejs.LogLevel.WARNING,
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
    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', { retention: logRetention, removalPolicy });
    this.httpStage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: resolved.apiThrottle.rateLimit, burstLimit: resolved.apiThrottle.burstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
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
          }),
        ),
      },
    });

    const integration = new HttpLambdaIntegration('Ingest', this.ingestFunction, {
      payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
    });
    for (const routePath of INGEST.routes) {
      this.httpApi.addRoutes({ path: routePath, methods: [apigwv2.HttpMethod.POST], integration });
    }
  }
}

/**
 * Bundling must never fall back to Docker (CDK does when it cannot find esbuild):
 * synth has to work offline, on machines without Docker.
 */
function assertLocalEsbuild(constructPath: string): void {
  try {
    createRequire(path.join(REPO_ROOT, 'package.json')).resolve('esbuild');
  } catch {
    throw new Error(
      `${constructPath}: esbuild is not installed in ${REPO_ROOT}; the ingest function is bundled with local esbuild, never with Docker (run npm ci)`,
    );
  }
}
