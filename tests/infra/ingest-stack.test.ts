import { Capture, Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { INGEST } from '../../infra/cdk/defaults';
import { routesOf } from '../../infra/topology';
import { ENV } from '../../shared/config/env';
import type { Synthesised } from './synth';
import {
  asList,
  functionIdByService,
  functionPolicyStatements,
  onlyLogicalId,
  renderText,
  synthRapport,
} from './synth';

describe('Rapport-dev stack, default props', () => {
  let synthesised: Synthesised;
  let busId: string;
  let tableId: string;
  let profileTableId: string;
  let secretId: string;
  let functionId: string;
  let apiId: string;
  let unsubscribeSecretId: string;

  beforeAll(() => {
    synthesised = synthRapport({ stageName: 'dev' }, { bundle: false }); // bundles.test.ts checks the bundle
    const { template } = synthesised;
    busId = onlyLogicalId(template, 'AWS::Events::EventBus');
    tableId = onlyLogicalId(template, 'AWS::DynamoDB::GlobalTable', {
      Properties: { KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] },
    });
    profileTableId = onlyLogicalId(template, 'AWS::DynamoDB::GlobalTable', {
      Properties: { KeySchema: [{ AttributeName: 'PK', KeyType: 'HASH' }, { AttributeName: 'SK', KeyType: 'RANGE' }] },
    });
    secretId = onlyLogicalId(template, 'AWS::SecretsManager::Secret', {
      Properties: { Description: 'Rapport dev: Standard Webhooks secrets and Segment write keys of source "default"' },
    });
    functionId = functionIdByService(template, INGEST.serviceName);
    apiId = onlyLogicalId(template, 'AWS::ApiGatewayV2::Api', { Properties: { Name: 'rapport-dev-ingest' } });
    unsubscribeSecretId = onlyLogicalId(template, 'AWS::SecretsManager::Secret', {
      Properties: { Description: Match.stringLikeRegexp('one-click unsubscribe links') },
    });
  });

  /** The ingest function's resource properties. */
  const ingestFunction = () => synthesised.template.toJSON().Resources[functionId].Properties;

  it('runs the ingest function on nodejs24.x, arm64, 512 MB, 29 s, with X-Ray', () => {
    expect(ingestFunction()).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 512,
      Timeout: 29,
      Handler: 'index.handler',
      TracingConfig: { Mode: 'Active' },
    });
  });

  it('logs the function to its own log group, kept one month', () => {
    const { template } = synthesised;
    const logGroup: string = ingestFunction().LoggingConfig.LogGroup.Ref;

    const resource = template.toJSON().Resources[logGroup];
    expect(resource).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } });
    expect(resource.Properties.LogGroupName).toBeUndefined();
  });

  it('sets the environment variables the runtime loader reads', () => {
    const { [ENV.SOURCES]: sources, ...variables } = ingestFunction().Environment.Variables;

    expect(variables).toEqual({
      [ENV.EVENT_BUS_NAME]: { Ref: busId },
      [ENV.IDEMPOTENCY_TABLE_NAME]: { Ref: tableId },
      // Consent denials are recorded in the profile table before ingest answers.
      [ENV.PROFILE_TABLE_NAME]: { Ref: profileTableId },
      // The same key the step function signs unsubscribe links with, by ARN (read from Secrets Manager at run time).
      [ENV.UNSUBSCRIBE_SECRET]: { Ref: unsubscribeSecretId },
      // tags.yaml (which tags senders may set) is bundled there, not passed in a variable.
      [ENV.CONFIG_DIR]: '/var/task/config',
      // The preference page shows each topic's default for the deployment's consent mode.
      [ENV.CONSENT_MODE]: 'opt-out',
      [ENV.STAGE]: 'dev',
      POWERTOOLS_SERVICE_NAME: 'rapport-ingest',
      POWERTOOLS_METRICS_NAMESPACE: 'Rapport',
      NODE_OPTIONS: '--enable-source-maps',
    });
    expect(JSON.parse(renderText(sources))).toEqual([{ id: 'default', secretArn: `<Ref:${secretId}>` }]);
  });

  it('archives every event on the bus for 30 days', () => {
    synthesised.template.hasResourceProperties('AWS::Events::Archive', {
      SourceArn: { 'Fn::GetAtt': [busId, 'Arn'] },
      RetentionDays: 30,
      EventPattern: Match.absent(),
    });
  });

  it('has an encrypted, TLS-only dead-letter queue that keeps messages 14 days', () => {
    const { template } = synthesised;
    const queueId = onlyLogicalId(template, 'AWS::SQS::Queue');
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 60 * 60,
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('keeps idempotency records in the Powertools layout: key id, TTL on expiration, on-demand, PITR', () => {
    synthesised.template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
      BillingMode: 'PAY_PER_REQUEST',
      Replicas: [Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } })],
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      TableName: Match.absent(),
    });
  });

  it('generates one secret per source with a webhookSecret key', () => {
    synthesised.template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: Match.absent(),
      GenerateSecretString: {
        SecretStringTemplate: JSON.stringify({ webhookSecrets: [], writeKeys: [] }),
        GenerateStringKey: 'webhookSecret',
        ExcludePunctuation: true,
        PasswordLength: 32,
      },
    });
  });

  it('retains every resource that holds data', () => {
    const { template } = synthesised;
    for (const type of [
      'AWS::Events::EventBus',
      'AWS::Events::Archive',
      'AWS::SQS::Queue',
      'AWS::DynamoDB::GlobalTable',
      'AWS::SecretsManager::Secret',
      'AWS::Logs::LogGroup',
    ]) {
      const resources = Object.values(template.findResources(type));
      expect(resources.length, type).toBeGreaterThan(0);
      for (const resource of resources) {
        expect(resource, type).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
      }
    }
  });

  describe('IAM: the ingest function gets least privilege', () => {
    const guardedServices = ['events', 'dynamodb', 'secretsmanager'];
    const actionsOf = (service: string) =>
      functionPolicyStatements(synthesised.template, functionId).filter((s) =>
        asList(s.Action).some((action) => action.startsWith(`${service}:`)),
      );

    it('may PutEvents on the Rapport bus only', () => {
      const statements = actionsOf('events');
      expect(statements).toEqual([
        { Effect: 'Allow', Action: 'events:PutEvents', Resource: { 'Fn::GetAtt': [busId, 'Arn'] } },
      ]);
    });

    it('may read and write the idempotency table with the calls Powertools makes; in the profile table only put and delete consent holds (C#, XH# kept for an erased id, AH# of an address) and open hold writes (XW#), read tombstones (X#), list the records under an address (AH#) and the open hold writes (XW#) and query the email index', () => {
      const statements = actionsOf('dynamodb');
      expect(statements).toHaveLength(6);
      const idempotency = statements.find((s) => JSON.stringify(s.Resource).includes(tableId))!;
      expect(idempotency.Resource).toEqual({ 'Fn::GetAtt': [tableId, 'Arn'] });
      expect([...asList(idempotency.Action)].sort()).toEqual([
        'dynamodb:BatchWriteItem',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
      ]);
      const profiles = statements.filter((s) => JSON.stringify(s.Resource).includes(profileTableId));
      expect(profiles).toEqual([
        {
          Effect: 'Allow',
          Action: 'dynamodb:PutItem',
          Resource: { 'Fn::GetAtt': [profileTableId, 'Arn'] },
          // Customer partitions (consent holds), holds kept for an erased id (XH#) or an address (AH#), open hold writes (XW#) and the tracking plan violations (TPV#<day>#<shard>), nothing else.
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['C#*', 'XH#*', 'AH#*', 'XW#*', 'TPV#*'] } },
        },
        {
          Effect: 'Allow',
          Action: ['dynamodb:GetItem', 'dynamodb:DeleteItem'],
          Resource: { 'Fn::GetAtt': [profileTableId, 'Arn'] },
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['C#*', 'XH#*', 'AH#*', 'XW#*'] } },
        },
        {
          Effect: 'Allow',
          Action: 'dynamodb:GetItem',
          Resource: { 'Fn::GetAtt': [profileTableId, 'Arn'] },
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['X#*'] } },
        },
        // The records listed under an address (AH#): a hold written for a customer erased meanwhile stays while one has it.
        {
          Effect: 'Allow',
          Action: 'dynamodb:Query',
          Resource: { 'Fn::GetAtt': [profileTableId, 'Arn'] },
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['AH#*', 'XW#*'] } },
        },
        // The email index, keys only: a one-click click on an erased record's mail denies the address for the records with it.
        { Effect: 'Allow', Action: 'dynamodb:Query', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [profileTableId, 'Arn'] }, '/index/GSI3']] } },
      ]);
    });

    it('may GetSecretValue on the source secrets and the unsubscribe key only', () => {
      expect(actionsOf('secretsmanager')).toEqual([
        { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: [{ Ref: secretId }, { Ref: unsubscribeSecretId }] },
      ]);
    });

    it('has no wildcard action or resource for events, dynamodb or secretsmanager', () => {
      const guarded = functionPolicyStatements(synthesised.template, functionId).filter((s) =>
        asList(s.Action).some((action) => guardedServices.some((service) => action.startsWith(`${service}:`))),
      );
      expect(guarded.length).toBeGreaterThan(0);
      for (const statement of guarded) {
        expect(asList(statement.Action).every((action) => !action.includes('*')), JSON.stringify(statement)).toBe(true);
        expect(JSON.stringify(statement.Resource), JSON.stringify(statement)).not.toContain('*');
      }
    });
  });

  describe('HTTP API', () => {
    it('routes POST on every ingest path to the function, payload format 2.0, without gateway authorization', () => {
      const { template } = synthesised;
      const integrationId = onlyLogicalId(template, 'AWS::ApiGatewayV2::Integration', {
        Properties: {
          IntegrationType: 'AWS_PROXY',
          IntegrationUri: { 'Fn::GetAtt': [functionId, 'Arn'] },
          PayloadFormatVersion: '2.0',
        },
      });

      for (const routePath of [
        '/v1/events',
        '/v1/track',
        '/v1/identify',
        '/v1/page',
        '/v1/screen',
        '/v1/group',
        '/v1/alias',
        '/v1/batch',
      ]) {
        template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
          ApiId: { Ref: apiId },
          RouteKey: `POST ${routePath}`,
          // Senders sign their requests; the function verifies the signature on the raw body.
          AuthorizationType: 'NONE',
          AuthorizerId: Match.absent(),
          Target: { 'Fn::Join': ['', ['integrations/', { Ref: integrationId }]] },
        });
        template.hasResourceProperties('AWS::Lambda::Permission', {
          Action: 'lambda:InvokeFunction',
          Principal: 'apigateway.amazonaws.com',
          FunctionName: { 'Fn::GetAtt': [functionId, 'Arn'] },
          SourceArn: { 'Fn::Join': ['', Match.arrayWith([`/*/*${routePath}`])] },
        });
      }
      // Exactly the topology's ingest routes (POST on each path above, GET and POST /v1/unsubscribe), by route key.
      const routeKeys = Object.values(template.findResources('AWS::ApiGatewayV2::Route', { Properties: { ApiId: { Ref: apiId } } })).map(
        (route) => (route.Properties as { RouteKey: string }).RouteKey,
      );
      expect(routeKeys.sort()).toEqual(routesOf('ingest').map((route) => `${route.method} ${route.path}`).sort());
    });

    it('serves GET and POST /v1/unsubscribe from the ingest function, without gateway authorization (the link is signed)', () => {
      const { template } = synthesised;
      for (const method of ['GET', 'POST']) {
        template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
          ApiId: { Ref: apiId },
          RouteKey: `${method} /v1/unsubscribe`,
          AuthorizationType: 'NONE',
          AuthorizerId: Match.absent(),
        });
      }
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
        FunctionName: { 'Fn::GetAtt': [functionId, 'Arn'] },
        SourceArn: { 'Fn::Join': ['', Match.arrayWith(['/*/*/v1/unsubscribe'])] },
      });
    });

    it('throttles the default stage and writes access logs', () => {
      const { template } = synthesised;
      const destination = new Capture();
      template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        ApiId: { Ref: apiId },
        StageName: '$default',
        AutoDeploy: true,
        DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
        AccessLogSettings: {
          DestinationArn: { 'Fn::GetAtt': [destination, 'Arn'] },
          Format: Match.stringLikeRegexp('\\$context\\.requestId'),
        },
      });
      expect(template.toJSON().Resources[destination.asString()]).toMatchObject({
        Type: 'AWS::Logs::LogGroup',
        Properties: { RetentionInDays: 30 },
      });
    });
  });

  it('outputs the API URL, the bus name and the secret ARNs by source', () => {
    const { template } = synthesised;
    const outputs = template.toJSON().Outputs;

    expect(renderText(outputs.ApiUrl.Value)).toMatch(new RegExp(`^https://<Ref:${apiId}>\\.execute-api\\.`));
    expect(outputs.EventBusName.Value).toEqual({ Ref: busId });
    expect(JSON.parse(renderText(outputs.SourceSecretArns.Value))).toEqual({ default: `<Ref:${secretId}>` });
    for (const output of Object.values(outputs)) expect(output).not.toHaveProperty('Export');
  });
});

describe('Rapport stack, sources with permissions', () => {
  it('passes each source\'s events and traits to the ingest function beside its secret', () => {
    // Prepare
    const { template } = synthRapport(
      { stageName: 'dev', sources: [{ id: 'shop', events: ['Order Completed', 'Identify'], traits: ['firstName', 'consent.email'] }, { id: 'web' }] },
      { bundle: false },
    );
    const secretOf = (id: string) =>
      onlyLogicalId(template, 'AWS::SecretsManager::Secret', { Properties: { Description: `Rapport dev: Standard Webhooks secrets and Segment write keys of source "${id}"` } });

    // Act
    const sources = template.toJSON().Resources[functionIdByService(template, INGEST.serviceName)].Properties.Environment.Variables[ENV.SOURCES];

    // Assess
    expect(JSON.parse(renderText(sources))).toEqual([
      { id: 'shop', secretArn: `<Ref:${secretOf('shop')}>`, events: ['Order Completed', 'Identify'], traits: ['firstName', 'consent.email'] },
      { id: 'web', secretArn: `<Ref:${secretOf('web')}>` },
    ]);
  });
});
