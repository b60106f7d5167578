import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { describe, expect, it } from 'vitest';
import { RapportPropsError } from '../../infra/cdk/errors';
import { ALARMS } from '../../infra/cdk/observability';
import { Rapport } from '../../infra/cdk/rapport';
import { functionIdByService, newApp, onlyLogicalId, synthRapport, TEST_CONFIG_DIR, TEST_DELIVERY } from './synth';

const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

describe('alarms, alarm topic and dashboard (Rapport-dev, alarm e-mail given)', () => {
  const { stack, template } = synthRapport({ stageName: 'dev', alarmEmail: 'oncall@shop.example' }, { bundle: false });
  const resources = template.toJSON().Resources as Resources;
  const topicId = onlyLogicalId(template, 'AWS::SNS::Topic');
  const queueId = onlyLogicalId(template, 'AWS::SQS::Queue');
  const apiId = onlyLogicalId(template, 'AWS::ApiGatewayV2::Api', { Properties: { Name: 'rapport-dev-ingest' } });
  const alarms = Object.entries(template.findResources('AWS::CloudWatch::Alarm')) as [string, { Properties: Record<string, unknown> }][];
  const alarmAbout = (text: string) => {
    const found = alarms.filter(([, alarm]) => String(alarm.Properties.AlarmDescription).includes(text));
    expect(found, text).toHaveLength(1);
    return found[0]?.[1].Properties as Record<string, unknown>;
  };

  it('e-mails the alarm topic to alarmEmail; the topic is KMS-encrypted (a rotating key of its own) and TLS-only', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', { TopicArn: { Ref: topicId }, Protocol: 'email', Endpoint: 'oncall@shop.example' });
    const keyId = onlyLogicalId(template, 'AWS::KMS::Key');
    expect(resources[topicId]?.Properties.KmsMasterKeyId).toEqual(arnOf(keyId));
    expect(resources[keyId]?.Properties.EnableKeyRotation).toBe(true);
    // CloudWatch may use the key to publish (a topic on the AWS-managed SNS key would drop every alarm).
    expect(JSON.stringify(resources[keyId]?.Properties.KeyPolicy)).toContain('cloudwatch.amazonaws.com');
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('notifies the topic of every alarm, when it fires and when it is OK again', () => {
    // Dead letters, ingest 5xx, throttles, the broadcasts' failed executions, and each journey's.
    expect(alarms.length).toBe(4 + stack.rapport.journeyStateMachines.size);
    for (const [, alarm] of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: topicId }]);
      expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
    }
  });

  it("alarms on the broadcast state machine's failed, timed-out and throttled executions", () => {
    const alarm = alarmAbout('executions of broadcasts failed');
    expect(alarm).toMatchObject({ Threshold: ALARMS.failedExecutions, ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 1 });
    expect(JSON.stringify(alarm.Metrics)).toContain('failed + timedOut + throttled');
  });

  it('alarms on any message in the dead-letter queue', () => {
    expect(alarmAbout('dead-letter queue')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
      Statistic: 'Maximum',
      Threshold: ALARMS.deadLetterMessages,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
    });
  });

  it('alarms on the ingest 5xx rate: 5xx as a percentage of requests of the ingest API, in 2 of 3 periods', () => {
    const alarm = alarmAbout('answers 5xx');
    expect(alarm).toMatchObject({ Threshold: 1, EvaluationPeriods: 3, DatapointsToAlarm: 2 });
    const metrics = alarm.Metrics as { Id: string; Expression?: string; MetricStat?: { Metric: { MetricName: string; Dimensions: unknown } } }[];
    expect(metrics.find((m) => m.Expression)?.Expression).toBe('IF(requests > 0, 100 * errors / requests, 0)');
    expect(metrics.filter((m) => m.MetricStat).map((m) => [m.Id, m.MetricStat?.Metric.MetricName, m.MetricStat?.Metric.Dimensions]).sort()).toEqual([
      ['errors', '5xx', [{ Name: 'ApiId', Value: { Ref: apiId } }]],
      ['requests', 'Count', [{ Name: 'ApiId', Value: { Ref: apiId } }]],
    ]);
  });

  it.each([...stack.rapport.journeyStateMachines.keys()])('alarms on failed, timed-out and throttled executions of journey %s', (journeyId) => {
    const machineId = stack.getLogicalId(stack.rapport.journeyStateMachines.get(journeyId)?.node.defaultChild as never);
    const alarm = alarmAbout(`journey "${journeyId}"`);
    const metrics = alarm.Metrics as { Expression?: string; MetricStat?: { Metric: { MetricName: string; Dimensions: unknown } } }[];

    expect(alarm.Threshold).toBe(1);
    expect(metrics.find((m) => m.Expression)?.Expression).toBe('failed + timedOut + throttled');
    expect(metrics.filter((m) => m.MetricStat).map((m) => m.MetricStat?.Metric.MetricName).sort()).toEqual(['ExecutionThrottled', 'ExecutionsFailed', 'ExecutionsTimedOut']);
    for (const m of metrics.filter((metric) => metric.MetricStat)) {
      expect(m.MetricStat?.Metric.Dimensions).toEqual([{ Name: 'StateMachineArn', Value: { Ref: machineId } }]);
    }
  });

  it("alarms on throttles summed over all ten of Rapport's functions (broadcasts' two included)", () => {
    const alarm = alarmAbout('were throttled at least');
    const metrics = alarm.Metrics as { Expression?: string; MetricStat?: { Metric: { MetricName: string; Dimensions: { Value: { Ref: string } }[] } } }[];
    const functionIds = Object.keys(template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { POWERTOOLS_METRICS_NAMESPACE: 'Rapport' } } } }));

    expect(alarm.Threshold).toBe(ALARMS.lambdaThrottles);
    expect(functionIds).toHaveLength(10);
    expect(metrics.filter((m) => m.MetricStat).map((m) => m.MetricStat?.Metric.Dimensions[0]?.Value.Ref).sort()).toEqual(functionIds.sort());
    expect(metrics.filter((m) => m.MetricStat).every((m) => m.MetricStat?.Metric.MetricName === 'Throttles')).toBe(true);
  });

  it('has one dashboard for the stage, showing the alarms, the API, the dead letters, the journeys and every function', () => {
    const dashboardId = onlyLogicalId(template, 'AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(resources[dashboardId]?.Properties.DashboardBody);
    for (const text of ['Alarms', 'Ingest API', 'Dead-letter queue depth', 'EventsAccepted', 'ProfileUpdates', 'JourneyEnrolments', 'GoalConversions', 'Sends by channel and status', "SEARCH('{Rapport,channel,service,stage,status}", 'Lambda errors']) {
      expect(body, text).toContain(text);
    }
    for (const journeyId of stack.rapport.journeyStateMachines.keys()) expect(body).toContain(`${journeyId} started`);
    expect(body).toContain(functionIdByService(template, 'rapport-steps'));
  });

  it('has no e-mail subscription without alarmEmail', () => {
    const bare = synthRapport({ stageName: 'dev' }, { bundle: false }).template;
    bare.resourceCountIs('AWS::SNS::Subscription', 0);
    bare.resourceCountIs('AWS::SNS::Topic', 1);
  });

  it('rejects an alarm e-mail that is not an address', () => {
    const build = () =>
      new Rapport(new Stack(newApp({ bundle: false }), 'Rapport-test'), 'Rapport', { stageName: 'test', configDir: TEST_CONFIG_DIR, ...TEST_DELIVERY, alarmEmail: 'on call' });
    expect(build).toThrow(RapportPropsError);
    expect(build).toThrow('alarmEmail "on call" must be a plain email address');
  });
});

describe('encryption at rest', () => {
  it('without a key: the AWS-managed KMS key on the tables, SSE-SQS on the queue, service-managed encryption elsewhere', () => {
    const { template } = synthRapport({ stageName: 'dev' }, { bundle: false });
    const tables = Object.values(template.findResources('AWS::DynamoDB::GlobalTable'));
    expect(tables).toHaveLength(2);
    for (const table of tables) {
      expect(table.Properties.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
      expect(table.Properties.Replicas[0].SSESpecification).toBeUndefined(); // aws/dynamodb, not a key of ours
    }
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
  });

  describe('with a customer-managed key', () => {
    const stack = new Stack(newApp({ bundle: false }), 'Rapport-kms', { env: { region: 'eu-west-1' } });
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const rapport = new Rapport(stack, 'Rapport', { stageName: 'kms', configDir: TEST_CONFIG_DIR, ...TEST_DELIVERY, encryptionKey: key });
    const template = Template.fromStack(stack);
    const keyId = stack.getLogicalId(key.node.defaultChild as never);
    const keyArn = arnOf(keyId);
    const all = (type: string) => Object.values(template.findResources(type)).map((resource) => resource.Properties as Record<string, unknown>);

    it('encrypts both tables with it', () => {
      const tables = all('AWS::DynamoDB::GlobalTable');
      expect(tables).toHaveLength(2);
      for (const table of tables) {
        expect(table.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
        expect((table.Replicas as { SSESpecification: unknown }[])[0]?.SSESpecification).toEqual({ KMSMasterKeyId: keyArn });
      }
    });

    it('encrypts the dead-letter queue, the bus, its archive and the alarm topic with it (no second key)', () => {
      expect(all('AWS::SQS::Queue').map((q) => q.KmsMasterKeyId)).toEqual([keyArn]);
      expect(all('AWS::Events::EventBus').map((b) => b.KmsKeyIdentifier)).toEqual([keyArn]);
      expect(all('AWS::Events::Archive').map((a) => a.KmsKeyIdentifier)).toEqual([keyArn]);
      expect(all('AWS::SNS::Topic').map((t) => t.KmsMasterKeyId)).toEqual([keyArn]);
      template.resourceCountIs('AWS::KMS::Key', 1);
    });

    it('encrypts every log group, secret, state machine and function environment with it', () => {
      for (const logGroup of all('AWS::Logs::LogGroup')) expect(logGroup.KmsKeyId).toEqual(keyArn);
      for (const secret of all('AWS::SecretsManager::Secret')) expect(secret.KmsKeyId).toEqual(keyArn);
      for (const machine of all('AWS::StepFunctions::StateMachine')) {
        expect(machine.EncryptionConfiguration).toMatchObject({ Type: 'CUSTOMER_MANAGED_KMS_KEY', KmsKeyId: keyArn });
      }
      const functions = all('AWS::Lambda::Function').filter((fn) => (fn.Environment as { Variables: Record<string, unknown> }).Variables.POWERTOOLS_METRICS_NAMESPACE === 'Rapport');
      expect(functions).toHaveLength(10);
      for (const fn of functions) expect(fn.KmsKeyArn).toEqual(keyArn);
      expect(rapport.encryptionKey).toBe(key);
    });

    it("lets CloudWatch Logs, EventBridge (bus, dead letters) and CloudWatch alarms use it, each by its service principal", () => {
      const statements = (template.toJSON().Resources[keyId].Properties.KeyPolicy.Statement as { Principal?: { Service?: string } }[])
        .map((statement) => statement.Principal?.Service)
        .filter((service) => service !== undefined);
      expect(new Set(statements)).toEqual(new Set(['logs.eu-west-1.amazonaws.com', 'events.amazonaws.com', 'cloudwatch.amazonaws.com', 'delivery.logs.amazonaws.com']));
    });

    it('needs a stack with an explicit region, and says so', () => {
      const agnostic = new Stack(newApp({ bundle: false }), 'Rapport-agnostic');
      const build = () =>
        new Rapport(agnostic, 'Rapport', { stageName: 'test', configDir: TEST_CONFIG_DIR, ...TEST_DELIVERY, encryptionKey: new kms.Key(agnostic, 'Key') });
      expect(build).toThrow('encryptionKey needs a stack with an explicit region (env: { region })');
    });
  });
});
