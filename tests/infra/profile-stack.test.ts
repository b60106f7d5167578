import { copyFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Duration, Stack, TimeZone } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEEDBACK, INGEST, JOURNEYS, PROFILE } from '../../infra/cdk/defaults';
import { routesOf as topologyRoutesOf } from '../../infra/topology';
import { RapportPropsError } from '../../infra/cdk/errors';
import { Rapport } from '../../infra/cdk/rapport';
import { validateSegmentationFiles } from '../../infra/cdk/validate';
import type { BusEvent } from '../../infra/embedded/event-bus';
import {
  DERIVED_EVENTS,
  ENV,
  PROFILE_CONSUMER_PATTERN,
  PROFILE_EVENT_SOURCE,
  PROFILE_TABLE_LAYOUT as L,
  toBusEntry,
  type BusEntry,
} from '../../shared';
import { JOURNEY_ENV } from '../../shared/config/journey-env';
import { matchesEventPattern, type EventPattern } from '../../shared/pattern';
import { ev, identify } from '../helpers/events';
import type { PolicyStatement, Synthesised } from './synth';
import {
  asList,
  functionIdByService,
  functionPolicyStatements,
  newApp,
  onlyLogicalId,
  renderText,
  rolePolicyStatements,
  synthRapport,
  TEST_CONFIG_DIR,
  TEST_DELIVERY,
} from './synth';

/** X-Ray has no resource-level permissions: the one statement that must name `*`. */
const XRAY = { Effect: 'Allow', Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Resource: '*' };
/**
 * What a state machine's role needs to deliver its logs to CloudWatch Logs (CDK
 * adds it with `logs`): these vended-log APIs have no resource-level permissions.
 */
const LOG_DELIVERY_ACTIONS = [
  'logs:CreateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:DescribeLogGroups',
  'logs:DescribeResourcePolicies',
  'logs:GetLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:UpdateLogDelivery',
];

/** Statements with their actions sorted, so a comparison does not depend on the order CDK renders them in. */
const normalised = (statements: readonly PolicyStatement[]) =>
  statements.map((s) => ({ ...s, Action: Array.isArray(s.Action) ? [...s.Action].sort() : s.Action }));

/** An entry as EventBridge delivers it to a rule's target. */
function delivered(entry: BusEntry): BusEvent {
  return {
    version: '0',
    id: '6f3c2a1e-0000-4000-8000-000000000000',
    'detail-type': entry.DetailType,
    source: entry.Source,
    account: '123456789012',
    time: (entry.Time ?? new Date('2026-01-05T10:00:00Z')).toISOString(),
    region: 'eu-west-1',
    resources: entry.Resources ?? [],
    detail: JSON.parse(entry.Detail) as unknown,
  };
}

describe('Rapport-dev stack: the profile leg, default props', () => {
  let synthesised: Synthesised;
  const ids = {} as Record<'bus' | 'queue' | 'table' | 'consumer' | 'sweep' | 'customers' | 'ingest' | 'customerApi' | 'ingestApi', string>;

  beforeAll(() => {
    synthesised = synthRapport({ stageName: 'dev' }, { bundle: false }); // bundles.test.ts checks the bundles
    const { template } = synthesised;
    ids.bus = onlyLogicalId(template, 'AWS::Events::EventBus');
    ids.queue = onlyLogicalId(template, 'AWS::SQS::Queue');
    ids.table = onlyLogicalId(template, 'AWS::DynamoDB::GlobalTable', {
      Properties: { KeySchema: Match.arrayWith([{ AttributeName: L.partitionKey, KeyType: 'HASH' }]) },
    });
    ids.consumer = functionIdByService(template, PROFILE.consumer.serviceName);
    ids.sweep = functionIdByService(template, PROFILE.sweep.serviceName);
    ids.customers = functionIdByService(template, PROFILE.customerApi.serviceName);
    ids.ingest = functionIdByService(template, INGEST.serviceName);
    ids.customerApi = onlyLogicalId(template, 'AWS::ApiGatewayV2::Api', { Properties: { Name: 'rapport-dev-customers' } });
    ids.ingestApi = onlyLogicalId(template, 'AWS::ApiGatewayV2::Api', { Properties: { Name: 'rapport-dev-ingest' } });
  });

  const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
  /** The template's resources by logical id, as plain JSON. */
  const resources = () => synthesised.template.toJSON().Resources;
  const props = (id: string) => resources()[id]?.Properties;
  /** The journeys' state machines (tagged with their journey id; the broadcasts' fan-out machine is not one). */
  const journeyMachines = () =>
    Object.entries(synthesised.template.findResources('AWS::StepFunctions::StateMachine'))
      .filter(([, r]) => ((r.Properties.Tags ?? []) as Array<{ Key: string }>).some((t) => t.Key === 'rapport:journey'))
      .map(([id]) => id)
      .sort();

  describe('profile table', () => {
    it('is keyed by PROFILE_TABLE_LAYOUT, TTL on its ttl attribute, on-demand, with PITR and encryption, named by CloudFormation', () => {
      expect(props(ids.table)).toMatchObject({
        KeySchema: [
          { AttributeName: 'PK', KeyType: 'HASH' },
          { AttributeName: 'SK', KeyType: 'RANGE' },
        ],
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        BillingMode: 'PAY_PER_REQUEST',
        Replicas: [expect.objectContaining({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } })],
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      });
      expect(props(ids.table).TableName).toBeUndefined();
      expect([...props(ids.table).AttributeDefinitions].sort((a, b) => a.AttributeName.localeCompare(b.AttributeName))).toEqual(
        ['GSI1PK', 'GSI1SK', 'GSI2PK', 'GSI2SK', 'GSI3PK', 'GSI3SK', 'PK', 'SK'].map((AttributeName) => ({ AttributeName, AttributeType: 'S' })),
      );
    });

    it('has the three sparse indexes, KEYS_ONLY: the store reads only the index sort key of index items', () => {
      expect(props(ids.table).GlobalSecondaryIndexes).toEqual([
        {
          IndexName: 'GSI1',
          KeySchema: [
            { AttributeName: 'GSI1PK', KeyType: 'HASH' },
            { AttributeName: 'GSI1SK', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
        {
          IndexName: 'GSI2',
          KeySchema: [
            { AttributeName: 'GSI2PK', KeyType: 'HASH' },
            { AttributeName: 'GSI2SK', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
        {
          IndexName: 'GSI3',
          KeySchema: [
            { AttributeName: 'GSI3PK', KeyType: 'HASH' },
            { AttributeName: 'GSI3SK', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ]);
    });

    it('is retained when it leaves the stack', () => {
      expect(resources()[ids.table]).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    });
  });

  describe('functions', () => {
    const profileEnvironment = () => ({
      [ENV.PROFILE_TABLE_NAME]: { Ref: ids.table },
      [ENV.EVENT_BUS_NAME]: { Ref: ids.bus },
      [ENV.CONFIG_DIR]: '/var/task/config',
      [ENV.CONSENT_MODE]: 'opt-out',
      [ENV.TIMELINE_RETENTION_DAYS]: '365',
      [ENV.STAGE]: 'dev',
      POWERTOOLS_METRICS_NAMESPACE: 'Rapport',
      NODE_OPTIONS: '--enable-source-maps',
    });

    it.each([
      ['consumer', 'rapport-profile', 512, 30],
      ['sweep', 'rapport-sweep', 1024, 900],
      ['customers', 'rapport-customers', 512, 29],
    ] as const)('runs the %s function like the ingest function (nodejs24.x, arm64, X-Ray, own log group)', (which, service, memory, timeout) => {
      const fn = props(ids[which]);
      expect(fn).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        MemorySize: memory,
        Timeout: timeout,
      });
      expect(resources()[fn.LoggingConfig.LogGroup.Ref]).toMatchObject({
        Type: 'AWS::Logs::LogGroup',
        Properties: { RetentionInDays: 30 },
        DeletionPolicy: 'Retain',
      });
      // The consumer also runs the journey router and enrolment (afterApply), and the customer API stops a customer's
      // runs on erasure: both get journeys.json and the state machines. The sweep reconciles runs by journey id: the machines only.
      const router =
        which === 'sweep'
          ? { [JOURNEY_ENV.STATE_MACHINE_ARN_PREFIX]: expect.anything() }
          : { [JOURNEY_ENV.JOURNEYS_FILE]: JOURNEYS.bundledJourneysFile, [JOURNEY_ENV.STATE_MACHINE_ARN_PREFIX]: expect.anything() };
      // The tombstones outlive the archive (30 days by default) and every redelivery (17 days): the customer API's and
      // the consumer's (it erases a visitor linked to an erased customer), the same lifetime.
      const tombstone = which === 'customers' || which === 'consumer' ? { [ENV.ERASURE_TOMBSTONE_DAYS]: '47' } : {};
      expect(fn.Environment.Variables).toEqual({ ...profileEnvironment(), ...router, ...tombstone, POWERTOOLS_SERVICE_NAME: service });
    });

    it('gives every function its own log group', () => {
      const functionIds = Object.keys(synthesised.template.findResources('AWS::Lambda::Function'));
      const logGroups = functionIds.map((id) => props(id).LoggingConfig.LogGroup.Ref);
      // The eight of ingest, profiles and journeys, the SES feedback's, and the broadcasts' API and page functions.
      expect(functionIds).toHaveLength(10);
      expect(new Set(logGroups).size).toBe(functionIds.length);
    });
  });

  describe('bus rule -> profile consumer', () => {
    let ruleId: string;
    beforeAll(() => {
      ruleId = onlyLogicalId(synthesised.template, 'AWS::Events::Rule', {
        Properties: { Targets: [Match.objectLike({ Arn: arnOf(ids.consumer) })] },
      });
    });

    it('deploys PROFILE_CONSUMER_PATTERN (the embedded bus routes with the same object) on the Rapport bus', () => {
      expect(props(ruleId)).toMatchObject({ EventBusName: { Ref: ids.bus }, State: 'ENABLED' });
      expect(props(ruleId).EventPattern).toEqual(PROFILE_CONSUMER_PATTERN);
    });

    it('targets the consumer with 8 retries within 6 hours, then the dead-letter queue', () => {
      expect(props(ruleId).Targets).toEqual([
        {
          Id: expect.any(String),
          Arn: arnOf(ids.consumer),
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 6 * 60 * 60 },
          DeadLetterConfig: { Arn: arnOf(ids.queue) },
        },
      ]);
    });

    describe('the deployed pattern, run through the EventBridge matcher', () => {
      const pattern = () => props(ruleId).EventPattern as EventPattern;
      const at = '2026-01-05T10:00:00Z';

      it.each([
        ['a track event', toBusEntry(ev('Order Completed', at, { orderId: 'o-1', total: 42 }))],
        ['an identify event', toBusEntry(identify(at, { email: 'ada@example.com' }))],
        ['an anonymous page view', toBusEntry(ev('', at, {}, { type: 'page', userId: undefined, anonymousId: 'v-1', name: 'Home' }))],
      ])('matches %s from ingest', (_case, entry) => {
        expect(matchesEventPattern(pattern(), delivered(entry))).toBe(true);
      });

      it.each(Object.values(DERIVED_EVENTS))('does not match a derived "%s" event, so the consumer cannot feed itself', (name) => {
        const entry = toBusEntry(ev(name, at, { tag: 'vip' }), undefined, PROFILE_EVENT_SOURCE);
        expect(matchesEventPattern(pattern(), delivered(entry))).toBe(false);
      });

      it('does not match events of other sources', () => {
        const entry = toBusEntry(ev('Journey Completed', at), undefined, 'rapport.journeys');
        expect(matchesEventPattern(pattern(), delivered(entry))).toBe(false);
      });
    });

    it('lets EventBridge invoke the consumer from this rule only', () => {
      synthesised.template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        FunctionName: arnOf(ids.consumer),
        Principal: 'events.amazonaws.com',
        SourceArn: arnOf(ruleId),
      });
    });

    it('lets the rule, and only the rule, write to the dead-letter queue', () => {
      synthesised.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: ids.queue }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Resource: arnOf(ids.queue),
              Condition: { ArnEquals: { 'aws:SourceArn': arnOf(ruleId) } },
            }),
          ]),
        },
      });
    });
  });

  it.each(['consumer', 'sweep'] as const)(
    'retries failed asynchronous invocations of the %s twice within 6 hours, then sends them to the dead-letter queue',
    (which) => {
      synthesised.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: ids[which] },
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 6 * 60 * 60,
        DestinationConfig: { OnFailure: { Destination: arnOf(ids.queue) } },
      });
    },
  );

  it('configures asynchronous invocation only for the asynchronously invoked functions (not the APIs, not the step function)', () => {
    const configured = Object.values(synthesised.template.findResources('AWS::Lambda::EventInvokeConfig')).map(
      (config) => (config.Properties.FunctionName as { Ref: string }).Ref,
    );
    const journeyFunctions = [JOURNEYS.starter.serviceName, JOURNEYS.runEnded.serviceName, FEEDBACK.serviceName].map((service) =>
      functionIdByService(synthesised.template, service),
    );
    expect(configured.sort()).toEqual([ids.consumer, ids.sweep, ...journeyFunctions].sort());
  });

  describe('sweep schedule', () => {
    let schedule: ReturnType<typeof props>;
    beforeAll(() => {
      schedule = props(onlyLogicalId(synthesised.template, 'AWS::Scheduler::Schedule'));
    });

    it('runs the sweep daily at 03:00 UTC, on time (no flexible window)', () => {
      expect(schedule).toMatchObject({
        ScheduleExpression: 'cron(0 3 * * ? *)',
        ScheduleExpressionTimezone: 'Etc/UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: 'ENABLED',
      });
      expect(schedule.Name).toBeUndefined();
      expect(schedule.Target.Arn).toEqual(arnOf(ids.sweep));
    });

    it('retries 3 times within 6 hours, then sends to the dead-letter queue', () => {
      expect(schedule.Target).toMatchObject({
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 6 * 60 * 60 },
        DeadLetterConfig: { Arn: arnOf(ids.queue) },
      });
    });

    it('assumes a role only Scheduler may assume, for this account and its default group', () => {
      const roleId = (schedule.Target.RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      const trust = props(roleId).AssumeRolePolicyDocument.Statement;
      expect(trust).toHaveLength(1);
      expect(trust[0]).toMatchObject({
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Principal: { Service: 'scheduler.amazonaws.com' },
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      });
      expect(renderText(trust[0].Condition.StringEquals['aws:SourceArn'])).toBe(
        'arn:<Ref:AWS::Partition>:scheduler:<Ref:AWS::Region>:<Ref:AWS::AccountId>:schedule-group/default',
      );
    });

    it('lets that role invoke the sweep (unqualified) and write to the dead-letter queue, nothing else', () => {
      const roleId = (schedule.Target.RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      expect(normalised(rolePolicyStatements(synthesised.template, roleId))).toEqual([
        { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: arnOf(ids.sweep) },
        { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: arnOf(ids.queue) },
      ]);
    });
  });

  describe('customer admin API', () => {
    const routesOf = (apiId: string) =>
      Object.values(synthesised.template.findResources('AWS::ApiGatewayV2::Route', { Properties: { ApiId: { Ref: apiId } } })).map(
        (route) => route.Properties as { RouteKey: string; AuthorizationType: string; AuthorizerId?: unknown; Target: unknown },
      );

    it('serves GET profile, events, export, messages and journeys and DELETE on /v1/customers/{id}, segments, broadcasts (and their list) and the tracking plan violations, nothing else', () => {
      expect(routesOf(ids.customerApi).map((route) => route.RouteKey).sort()).toEqual([
        'DELETE /v1/broadcasts/{id}',
        'DELETE /v1/customers/{id}',
        'GET /v1/broadcasts',
        'GET /v1/broadcasts/{id}',
        'GET /v1/customers',
        'GET /v1/customers/{id}',
        'GET /v1/customers/{id}/events',
        'GET /v1/customers/{id}/export',
        'GET /v1/customers/{id}/journeys',
        'GET /v1/customers/{id}/messages',
        'GET /v1/segments',
        'GET /v1/segments/{id}',
        'GET /v1/segments/{id}/customers',
        'GET /v1/tracking-plan/violations',
        'POST /v1/broadcasts',
      ]);
    });

    it('requires IAM authorization on every customer route', () => {
      for (const route of routesOf(ids.customerApi)) {
        expect(route.AuthorizationType, route.RouteKey).toBe('AWS_IAM');
      }
    });

    it('leaves every ingest route unauthenticated at the gateway (the function verifies signatures and signed unsubscribe links)', () => {
      const ingestRoutes = routesOf(ids.ingestApi);
      expect(ingestRoutes.map((route) => route.RouteKey).sort()).toEqual(topologyRoutesOf('ingest').map((route) => `${route.method} ${route.path}`).sort());
      for (const route of ingestRoutes) {
        expect(route.AuthorizationType, route.RouteKey).toBe('NONE');
        expect(route.AuthorizerId, route.RouteKey).toBeUndefined();
      }
    });

    it('sends every customer route to the customer API function, payload format 2.0 (the broadcasts routes to theirs)', () => {
      const integrationId = onlyLogicalId(synthesised.template, 'AWS::ApiGatewayV2::Integration', {
        Properties: { ApiId: { Ref: ids.customerApi }, IntegrationUri: arnOf(ids.customers) },
      });
      expect(props(integrationId)).toMatchObject({
        IntegrationType: 'AWS_PROXY',
        IntegrationUri: arnOf(ids.customers),
        PayloadFormatVersion: '2.0',
      });
      for (const route of routesOf(ids.customerApi).filter((r) => !r.RouteKey.includes('/v1/broadcasts'))) {
        expect(route.Target).toEqual({ 'Fn::Join': ['', ['integrations/', { Ref: integrationId }]] });
      }
    });

    it('throttles its default stage to 50 rps and logs who called it', () => {
      const stage = Object.values(
        synthesised.template.findResources('AWS::ApiGatewayV2::Stage', { Properties: { ApiId: { Ref: ids.customerApi } } }),
      )[0]?.Properties;
      expect(stage).toMatchObject({
        StageName: '$default',
        AutoDeploy: true,
        DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      });
      expect(JSON.parse(stage.AccessLogSettings.Format)).toMatchObject({
        callerArn: '$context.identity.userArn',
        routeKey: '$context.routeKey',
        status: '$context.status',
      });
      const logGroupId = stage.AccessLogSettings.DestinationArn['Fn::GetAtt'][0];
      expect(resources()[logGroupId]).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } });
    });
  });

  describe('IAM: each profile function may do exactly what its code paths call', () => {
    const tableArn = () => arnOf(ids.table);
    const indexArn = (name: string) => ({ 'Fn::Join': ['', [arnOf(ids.table), `/index/${name}`]] });

    it('consumer: items of the table (its own and the journey router\'s), Query on the email index, PutEvents on the bus, start, resume and stop journey runs, send to the dead-letter queue', () => {
      const machines = journeyMachines();
      const statements = normalised(functionPolicyStatements(synthesised.template, ids.consumer));
      const sortedRefs = (resource: unknown) => [...asList(resource)].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

      expect(machines).toHaveLength(3);
      expect(statements.map((s) => ({ ...s, Resource: sortedRefs(s.Resource) }))).toEqual([
        { ...XRAY, Resource: ['*'] },
        { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: [arnOf(ids.queue)] },
        {
          Effect: 'Allow',
          Action: ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
          Resource: [tableArn()],
        },
        // GSI3 alone: an erased customer's late denial of an address is kept while another record has the address.
        { Effect: 'Allow', Action: 'dynamodb:Query', Resource: [indexArn('GSI3')] },
        { Effect: 'Allow', Action: 'events:PutEvents', Resource: [arnOf(ids.bus)] },
        // It enrols customers in the journeys their events trigger, once it applied the event.
        { Effect: 'Allow', Action: 'states:StartExecution', Resource: [expect.anything()] },
        { Effect: 'Allow', Action: 'states:SendTaskSuccess', Resource: [expect.anything()] },
        { Effect: 'Allow', Action: 'states:StopExecution', Resource: [expect.anything()] },
      ]);
      // By the stage's name prefix (Rapport-dev_<journey id>): one resource for any number of journeys.
      const [start, resume, stop] = statements.slice(-3).map((s) => renderText(s.Resource));
      expect(start).toBe('arn:<Ref:AWS::Partition>:states:<Ref:AWS::Region>:<Ref:AWS::AccountId>:stateMachine:Rapport-dev_*');
      expect(resume).toBe('arn:<Ref:AWS::Partition>:states:<Ref:AWS::Region>:<Ref:AWS::AccountId>:stateMachine:Rapport-dev_*');
      expect(stop).toBe('arn:<Ref:AWS::Partition>:states:<Ref:AWS::Region>:<Ref:AWS::AccountId>:execution:Rapport-dev_*:*');
    });

    it('sweep: items of the table (its own, the run reconciling\'s, erasure\'s batches), Query on the indexes by name (GSI3: whether another customer has an erased address), PutEvents on the bus, stop and describe journey executions, send to the dead-letter queue', () => {
      const statements = normalised(functionPolicyStatements(synthesised.template, ids.sweep));
      expect(statements).toEqual([
        XRAY,
        { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: arnOf(ids.queue) },
        {
          Effect: 'Allow',
          Action: ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
          Resource: tableArn(),
        },
        { Effect: 'Allow', Action: 'dynamodb:Query', Resource: [indexArn('GSI1'), indexArn('GSI2'), indexArn('GSI3')] },
        { Effect: 'Allow', Action: 'events:PutEvents', Resource: arnOf(ids.bus) },
        { Effect: 'Allow', Action: 'states:StopExecution', Resource: expect.anything() },
        { Effect: 'Allow', Action: 'states:DescribeExecution', Resource: expect.anything() },
      ]);
      // The journeys' executions, by the stage's name prefix: what the reconciling sweep asks about runs whose end was
      // lost, and what its finishing of an interrupted erasure stops.
      for (const statement of statements.slice(-2)) expect(renderText(statement.Resource)).toBe('arn:<Ref:AWS::Partition>:states:<Ref:AWS::Region>:<Ref:AWS::AccountId>:execution:Rapport-dev_*:*');
    });

    it("customer API: read the table, end the customer's runs and erase in batches, write the tombstone, stop journey executions, list segment members from GSI1; no ingest records, no PutEvents", () => {
      const machines = journeyMachines();
      const statements = normalised(functionPolicyStatements(synthesised.template, ids.customers));
      const stop = statements.find((statement) => statement.Action === 'states:StopExecution');

      expect(statements.filter((statement) => statement !== stop)).toEqual([
        XRAY,
        {
          Effect: 'Allow',
          Action: ['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
          Resource: tableArn(),
        },
        // Segment members are listed from GSI1; customers found by email from GSI3.
        { Effect: 'Allow', Action: 'dynamodb:Query', Resource: [indexArn('GSI1'), indexArn('GSI2'), indexArn('GSI3')] },
        // The ingest's idempotency records stay (a hash, no customer data): a sender's retry is a duplicate at the door.
      ]);
      // StopExecution on the executions of the journey state machines, by their name prefix, and nothing else of Step Functions.
      expect(asList(stop?.Resource).map(renderText)).toEqual(['arn:<Ref:AWS::Partition>:states:<Ref:AWS::Region>:<Ref:AWS::AccountId>:execution:Rapport-dev_*:*']);
      expect(machines).toHaveLength(3);
    });

    it("grants no wildcard action or resource anywhere, but X-Ray, log delivery and the journeys' state machines and executions by name prefix", () => {
      const statements = Object.values(synthesised.template.findResources('AWS::IAM::Policy')).flatMap(
        (policy) => (policy.Properties as { PolicyDocument: { Statement: PolicyStatement[] } }).PolicyDocument.Statement,
      );
      const logDelivery = statements.filter((s) => asList(s.Action).some((action) => LOG_DELIVERY_ACTIONS.includes(action)));
      // Two: in the role all journey state machines share and in the broadcasts' machine role, each exactly CDK's vended-logs statement, nothing added to it.
      expect(logDelivery).toHaveLength(2);
      for (const statement of logDelivery) expect(normalised([statement])).toEqual([{ Effect: 'Allow', Action: LOG_DELIVERY_ACTIONS, Resource: '*' }]);

      const scoped = statements.filter((s) => !asList(s.Action).every((action) => action.startsWith('xray:')) && !logDelivery.includes(s));
      for (const statement of scoped) {
        expect(asList(statement.Action).every((action) => !action.includes('*')), JSON.stringify(statement)).toBe(true);
        for (const resource of asList(statement.Resource)) {
          const text = renderText(resource);
          // The journeys' state machines are Rapport-<stage>_<journey id>, and an execution's name is chosen when it starts.
          const allowed =
            (['states:StopExecution', 'states:DescribeExecution'].includes(statement.Action as string) && text.endsWith(':execution:Rapport-dev_*:*')) ||
            (['states:StartExecution', 'states:SendTaskSuccess'].includes(statement.Action as string) && text.endsWith(':stateMachine:Rapport-dev_*'));
          expect(allowed || !text.includes('*'), JSON.stringify(statement)).toBe(true);
        }
      }
    });
  });

  it('outputs the customer API URL and the profile table name, without exports', () => {
    const outputs = synthesised.template.toJSON().Outputs;

    expect(renderText(outputs.CustomerApiUrl.Value)).toMatch(new RegExp(`^https://<Ref:${ids.customerApi}>\\.execute-api\\.`));
    expect(outputs.ProfileTableName.Value).toEqual({ Ref: ids.table });
    expect(outputs.CustomerApiUrl).not.toHaveProperty('Export');
    expect(outputs.ProfileTableName).not.toHaveProperty('Export');
  });
});

describe('Rapport with custom profile props', () => {
  const { template } = synthRapport(
    {
      stageName: 'prod',
      timelineRetention: Duration.days(90),
      consentMode: 'opt-in',
      sweepSchedule: scheduler.ScheduleExpression.cron({ minute: '30', hour: '1', timeZone: TimeZone.EUROPE_BERLIN }),
    },
    {
      bundle: false,
      extend: (stack) => {
        const operator = new iam.Role(stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() });
        stack.rapport.grantCustomerApiInvoke(operator);
      },
    },
  );

  it('passes consent mode and timeline retention to every profile function', () => {
    for (const service of ['rapport-profile', 'rapport-sweep', 'rapport-customers']) {
      const fn = template.toJSON().Resources[functionIdByService(template, service)];
      expect(fn.Properties.Environment.Variables, service).toMatchObject({
        [ENV.CONSENT_MODE]: 'opt-in',
        [ENV.TIMELINE_RETENTION_DAYS]: '90',
      });
    }
  });

  it('runs the sweep on the given schedule, in its time zone', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(30 1 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
    });
  });

  it('grantCustomerApiInvoke allows execute-api:Invoke on the customer, segment, broadcast and violations routes only', () => {
    const apiId = onlyLogicalId(template, 'AWS::ApiGatewayV2::Api', { Properties: { Name: 'rapport-prod-customers' } });
    const roleId = onlyLogicalId(template, 'AWS::IAM::Role', {
      Properties: { AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { AWS: Match.anyValue() } })] } },
    });
    const statements = rolePolicyStatements(template, roleId);

    expect(statements).toHaveLength(1);
    expect(statements[0]?.Action).toBe('execute-api:Invoke');
    // API Gateway's resource ARNs end in `*` where the path has a parameter: {id} and what follows it.
    expect(asList(statements[0]?.Resource).map(renderText).sort()).toEqual(
      [...['DELETE', 'GET'].flatMap((method) => [`${method}/v1/customers/*`, `${method}/v1/broadcasts/*`]), 'POST/v1/broadcasts', 'GET/v1/broadcasts', 'GET/v1/customers', 'GET/v1/segments', 'GET/v1/segments/*', 'GET/v1/tracking-plan/violations'].map(
        (route) => `arn:<Ref:AWS::Partition>:execute-api:<Ref:AWS::Region>:<Ref:AWS::AccountId>:<Ref:${apiId}>/*/${route}`,
      ).sort(),
    );
  });
});

describe('Rapport fails synth without its config files', () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'rapport-config-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /** A config folder holding only `files`, copied from the fixtures. */
  function configDirWith(...files: string[]): string {
    const dir = mkdtempSync(path.join(scratch, 'config-'));
    for (const file of files) copyFileSync(path.join(TEST_CONFIG_DIR, file), path.join(dir, file));
    return dir;
  }
  const build = (configDir: string) => () =>
    new Rapport(new Stack(newApp({ bundle: false }), 'Rapport-test'), 'Rapport', { stageName: 'test', configDir, ...TEST_DELIVERY });

  it.each([
    ['tags.yaml', 'segmentation.config.yaml'],
    ['segmentation.config.yaml', 'tags.yaml'],
  ])('names a missing %s', (missing, present) => {
    const dir = configDirWith(present);

    expect(build(dir)).toThrow(RapportPropsError);
    expect(build(dir)).toThrow(`configDir ${dir} has no ${missing}; the profile functions load it at start`);
  });

  it('names a configDir that is not a folder', () => {
    const dir = path.join(scratch, 'missing');

    expect(build(dir)).toThrow(`configDir ${dir} is not a folder; it must hold tags.yaml and segmentation.config.yaml`);
  });

  it('lists every missing file at once', () => {
    expect(validateSegmentationFiles(configDirWith())).toEqual([
      expect.stringMatching(/ has no tags\.yaml;/),
      expect.stringMatching(/ has no segmentation\.config\.yaml;/),
    ]);
    expect(validateSegmentationFiles(TEST_CONFIG_DIR)).toEqual([]);
  });

  it('refuses a broken tracking plan at synth with file:line:col messages, so it never deploys', () => {
    const dir = configDirWith('tags.yaml', 'segmentation.config.yaml');
    writeFileSync(path.join(dir, 'tracking-plan.yaml'), 'sources:\n  shop: { mode: refuse }\n');

    expect(build(dir)).toThrow(RapportPropsError);
    expect(build(dir)).toThrow(/tracking-plan\.yaml:2:17 +sources\.shop\.mode: expected one of flag, block, got "refuse"/);
  });

  it('refuses a broken tag file at synth with file:line:col messages, so it never deploys', () => {
    const dir = configDirWith('segmentation.config.yaml');
    writeFileSync(path.join(dir, 'tags.yaml'), 'tags:\n  - name: vip\n    description: x\n    when: { stat: totalRevenu, gte: 1000 }\n');

    expect(build(dir)).toThrow(RapportPropsError);
    expect(build(dir)).toThrow(/tags\.yaml:4:\d+ +tags\[0\]\.when\.stat: /);
  });
});
