import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Stack, type Duration } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventsTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { ConsentMode } from '../../../shared';
import { ENV, PROFILE_TABLE_LAYOUT } from '../../../shared/config/env';
import { PROFILE_CONSUMER_RULE, routesOf, SWEEP_SCHEDULE } from '../../topology';
import { PROFILE, PROFILE_TABLE_ACCESS } from '../defaults';
import { rapportFunction, type BundledFiles } from '../function';
import { InvokeFunction, SqsOnFailure } from '../targets';
import { eventPattern, grantProfileTable, loggedDefaultStage, type AreaContext } from './context';

export interface ProfilesAreaProps {
  readonly bus: events.EventBus;
  readonly deadLetterQueue: sqs.Queue;
  readonly consentMode: ConsentMode;
  readonly timelineRetention: Duration;
  readonly erasureTombstoneRetention: Duration;
  /** Absolute folder of tags.yaml and segmentation.config.yaml. */
  readonly configDir: string;
  readonly sweepSchedule: scheduler.ScheduleExpression;
  /** journeys.json: the consumer routes journeys after each event, erasure stops the customer's runs. */
  readonly journeysFileBundle: BundledFiles;
}

/** Profiles: bus -> consumer -> profile table (+ derived events); the sweep on its schedule; the admin API. */
export class ProfilesArea {
  public readonly profileTable: dynamodb.TableV2;
  public readonly profileConsumerFunction: nodejs.NodejsFunction;
  public readonly profileConsumerRule: events.Rule;
  public readonly sweepFunction: nodejs.NodejsFunction;
  public readonly sweepSchedule: scheduler.Schedule;
  /** Assumed by EventBridge Scheduler to invoke the sweep (and write its dead letters). */
  public readonly sweepScheduleRole: iam.Role;
  public readonly customerApiFunction: nodejs.NodejsFunction;
  public readonly customerApi: apigwv2.HttpApi;
  public readonly customerApiStage: apigwv2.HttpStage;
  public readonly customerRoutes: apigwv2.HttpRoute[];
  /** The variables of every profile function (the journey step function reads the profile too). */
  public readonly environment: Readonly<Record<string, string>>;
  /** tags.yaml and segmentation.config.yaml, as bundled into the profile functions. */
  public readonly configFiles: BundledFiles;

  constructor(ctx: AreaContext, props: ProfilesAreaProps) {
    const { scope, stageName, removalPolicy, key, logGroup } = ctx;
    const resolved = props;
    const stack = Stack.of(scope);

    const L = PROFILE_TABLE_LAYOUT;
    const stringKey = (name: string): dynamodb.Attribute => ({ name, type: dynamodb.AttributeType.STRING });
    this.profileTable = new dynamodb.TableV2(scope, 'ProfileTable', {
      partitionKey: stringKey(L.partitionKey),
      sortKey: stringKey(L.sortKey),
      timeToLiveAttribute: L.ttlAttribute,
      // Sparse, and KEYS_ONLY: the store reads only the index sort key (`<time>#<customerId>`) from index items.
      globalSecondaryIndexes: [L.dueIndex, L.lastOrderIndex, L.emailIndex].map((index) => ({
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

    const profileEnvironment = {
      [ENV.PROFILE_TABLE_NAME]: this.profileTable.tableName,
      // The customer API publishes nothing, but its loader (functions/profile/aws.ts) requires the bus name too.
      [ENV.EVENT_BUS_NAME]: props.bus.eventBusName,
      [ENV.CONFIG_DIR]: PROFILE.bundledConfigDir,
      [ENV.CONSENT_MODE]: resolved.consentMode,
      [ENV.TIMELINE_RETENTION_DAYS]: String(resolved.timelineRetention.toDays()),
    };
    this.environment = profileEnvironment;
    const configFiles = {
      folder: PROFILE.bundledConfigFolder,
      files: [
        ...PROFILE.configFiles.map((file) => path.join(resolved.configDir, file)),
        ...PROFILE.optionalConfigFiles.map((file) => path.join(resolved.configDir, file)).filter((file) => existsSync(file)),
      ],
    };
    this.configFiles = configFiles;
    const journeysFileBundle = props.journeysFileBundle;
    const asyncInvoke = {
      retryAttempts: PROFILE.asyncInvoke.retryAttempts,
      maxEventAge: PROFILE.asyncInvoke.maxEventAge,
      onFailure: new SqsOnFailure(props.deadLetterQueue),
    };

    // How long a tombstone lives: the customer API's erasures, and the consumer's erasure of a visitor whose link to
    // an erased customer it finds (its tombstone must outlive the archive and every redelivery just the same).
    const tombstoneEnvironment = { [ENV.ERASURE_TOMBSTONE_DAYS]: String(Math.ceil(resolved.erasureTombstoneRetention.toDays({ integral: false }))) };
    this.profileConsumerFunction = rapportFunction(scope, 'ProfileConsumerFunction', {
      ...(key !== undefined && { encryptionKey: key }),
      stageName,
      description: `Rapport ${stageName}: folds customer events into profiles, tags and timelines; publishes derived events`,
      ...PROFILE.consumer,
      logGroup: logGroup('ProfileConsumerLogs'),
      environment: { ...profileEnvironment, ...tombstoneEnvironment },
      // journeys.json: the consumer runs the journey router after each event (see the journeys area).
      bundledFiles: [configFiles, journeysFileBundle],
      asyncInvoke,
    });
    this.sweepFunction = rapportFunction(scope, 'SweepFunction', {
      ...(key !== undefined && { encryptionKey: key }),
      stageName,
      description: `Rapport ${stageName}: re-evaluates customers whose tags change with time alone`,
      ...PROFILE.sweep,
      logGroup: logGroup('SweepLogs'),
      environment: profileEnvironment,
      bundledFiles: [configFiles],
      asyncInvoke,
    });
    this.customerApiFunction = rapportFunction(scope, 'CustomerApiFunction', {
      ...(key !== undefined && { encryptionKey: key }),
      stageName,
      description: `Rapport ${stageName}: customer admin API (profile, timeline, messages, journeys, export, erasure)`,
      entry: PROFILE.customerApi.entry,
      serviceName: PROFILE.customerApi.serviceName,
      memorySize: PROFILE.customerApi.memorySize,
      timeout: PROFILE.customerApi.timeout,
      logGroup: logGroup('CustomerApiLogs'),
      environment: { ...profileEnvironment, ...tombstoneEnvironment },
      // journeys.json: erasure stops the customer's runs, through the journey runtime (see the journeys area).
      bundledFiles: [configFiles, journeysFileBundle],
    });

    grantProfileTable(this.profileTable, this.profileConsumerFunction, PROFILE_TABLE_ACCESS.consumer);
    grantProfileTable(this.profileTable, this.sweepFunction, PROFILE_TABLE_ACCESS.sweep);
    grantProfileTable(this.profileTable, this.customerApiFunction, PROFILE_TABLE_ACCESS.customerApi);
    // Derived events (Tag Added, Lifecycle Stage Changed, ...); the customer API publishes none.
    props.bus.grantPutEventsTo(this.profileConsumerFunction);
    props.bus.grantPutEventsTo(this.sweepFunction);

    this.profileConsumerRule = new events.Rule(scope, PROFILE_CONSUMER_RULE.id, {
      eventBus: props.bus,
      description: `Rapport ${stageName}: customer events from ingest to the profile consumer (derived events do not match)`,
      eventPattern: eventPattern(PROFILE_CONSUMER_RULE.pattern),
      targets: [
        new eventsTargets.LambdaFunction(this.profileConsumerFunction, {
          retryAttempts: PROFILE.consumerRuleDelivery.retryAttempts,
          maxEventAge: PROFILE.consumerRuleDelivery.maxEventAge,
          deadLetterQueue: props.deadLetterQueue,
        }),
      ],
    });

    const scheduleRole = new iam.Role(scope, 'SweepScheduleRole', {
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
    this.sweepScheduleRole = scheduleRole;
    this.sweepSchedule = new scheduler.Schedule(scope, SWEEP_SCHEDULE.id, {
      description: `Rapport ${stageName}: sweep of time-based tags`,
      schedule: resolved.sweepSchedule,
      target: new InvokeFunction(this.sweepFunction, {
        role: scheduleRole,
        retryAttempts: PROFILE.sweepScheduleDelivery.retryAttempts,
        maxEventAge: PROFILE.sweepScheduleDelivery.maxEventAge,
        deadLetterQueue: props.deadLetterQueue,
      }),
    });

    this.customerApi = new apigwv2.HttpApi(scope, 'CustomerApi', {
      apiName: `rapport-${stageName}-customers`,
      description: `Rapport ${stageName}: customer admin API (IAM authorization)`,
      createDefaultStage: false, // created below, with throttling and access logs
      // Every route, including any added later, requires a SigV4-signed request from an allowed principal.
      defaultAuthorizer: new HttpIamAuthorizer(),
    });
    this.customerApiStage = loggedDefaultStage(scope, 'CustomerApiDefaultStage', this.customerApi, PROFILE.customerApi.throttle, logGroup('CustomerApiAccessLogs'), {
      // Who read, exported or erased a customer: the signing principal.
      callerArn: '$context.identity.userArn',
    });
    const customerIntegration = new HttpLambdaIntegration('Customers', this.customerApiFunction, {
      payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
    });
    // The customer API function's routes; other functions' routes on this API are added by their areas (broadcasts).
    this.customerRoutes = routesOf('customers').filter((route) => route.target === 'customerApi').flatMap((route) =>
      this.customerApi.addRoutes({
        path: route.path,
        methods: [apigwv2.HttpMethod[route.method]],
        integration: customerIntegration,
      }),
    );
  }
}
