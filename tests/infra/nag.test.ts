import { Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { Rapport } from '../../infra/cdk/rapport';
import { asList, functionPolicyStatements, newApp, synthRapport, TEST_CONFIG_DIR, TEST_DELIVERY } from './synth';

/**
 * cdk-nag's AwsSolutions and Serverless packs over whole Rapport stacks. A finding
 * fails the test unless `infra/cdk/nag.ts` acknowledged it, on its construct, with a reason.
 */

/** Every unacknowledged finding of both packs, as `RuleId construct-path`. */
function nagFindings(scope: IConstruct): string[] {
  return [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
    pack
      .validateScope(scope)
      .violations.flatMap((violation) => violation.violatingResources.map((resource) => `${violation.ruleName} ${resource.constructPath ?? resource.resourceLogicalId}`)),
  );
}

/** Every acknowledgement recorded in the tree: rule id (without its plugin prefix), construct path, reason. */
function acknowledgements(scope: IConstruct): { id: string; path: string; reason: string }[] {
  return scope.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({ id: id.replace(/^[\w-]+::/, ''), path: construct.node.path, reason })),
      ),
  );
}

/** A Rapport with everything optional turned on: its own KMS key (in a stack with a region), alarm e-mail, SMS. */
function fullyLoaded() {
  const stack = new Stack(newApp({ bundle: false }), 'Rapport-kms', { env: { region: 'eu-west-1' } });
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true, description: 'Rapport kms: everything at rest' });
  const rapport = new Rapport(stack, 'Rapport', {
    stageName: 'kms',
    configDir: TEST_CONFIG_DIR,
    ...TEST_DELIVERY,
    sms: { originationIdentity: 'arn:aws:sms-voice:eu-west-1:123456789012:pool/pool-0123' },
    alarmEmail: 'oncall@shop.example',
    encryptionKey: key,
  });
  return { stack, rapport };
}

describe('cdk-nag (AwsSolutions and Serverless packs)', () => {
  it('finds nothing unacknowledged in the default Rapport-dev stack', () => {
    const { stack } = synthRapport({ stageName: 'dev' }, { bundle: false });
    expect(nagFindings(stack)).toEqual([]);
  });

  it('finds nothing unacknowledged with a customer-managed key, an alarm e-mail and SMS', () => {
    const { stack } = fullyLoaded();
    expect(nagFindings(stack)).toEqual([]);
  });

  it('finds nothing unacknowledged with the ingest firewall (WAF through CloudFront, stack in us-east-1)', () => {
    const { stack } = synthRapport({ stageName: 'dev', ingestFirewall: {}, env: { region: 'us-east-1' } }, { bundle: false });
    expect(nagFindings(stack)).toEqual([]);
  });

  it('reports a wildcard grant someone adds later: the acknowledgements are per finding, not per rule', () => {
    const { stack, rapport } = fullyLoaded();
    rapport.ingestFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:*'], resources: ['*'] }));

    const findings = nagFindings(stack);
    expect(findings).toContain('AwsSolutions-IAM5[Action::dynamodb:*] Rapport-kms/Rapport/IngestFunctionIdentity/ServiceRole/DefaultPolicy/Resource');
  });

  it('acknowledges only these rules, each with a reason a reviewer can judge (why, and what limits the risk)', () => {
    const { stack } = synthRapport({ stageName: 'dev' }, { bundle: false });
    const acks = acknowledgements(stack);

    expect([...new Set(acks.map((ack) => ack.id))].sort()).toEqual([
      'AwsSolutions-APIG4',
      'AwsSolutions-IAM5[Resource::*]',
      // The journeys' executions and state machines, by the stage's name prefix (Rapport-dev_<journey id>).
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:Rapport-dev_*:*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:Rapport-dev_*]',
      'AwsSolutions-SMG4',
      'AwsSolutions-SQS3',
      'Serverless-LambdaDLQ',
      'Serverless-SQSRedrivePolicy',
    ]);
    for (const ack of acks) {
      expect(ack.reason.length, `${ack.id} on ${ack.path}`).toBeGreaterThanOrEqual(80);
      // Never on the stack or the whole construct: on the resource (or its role) the finding concerns.
      expect(ack.path.split('/').length, `${ack.id} on ${ack.path}`).toBeGreaterThanOrEqual(3);
    }
  });
});

describe('least privilege: every function role', () => {
  const { stack, rapport } = fullyLoaded();
  const template = Template.fromStack(stack);
  const functions = {
    ingest: rapport.ingestFunction,
    profileConsumer: rapport.profileConsumerFunction,
    sweep: rapport.sweepFunction,
    customerApi: rapport.customerApiFunction,
    journeyStep: rapport.journeyStepFunction,
    journeyStarter: rapport.journeyStarterFunction,
    journeyRunEnded: rapport.journeyRunEndedFunction,
  };
  const logicalId = (fn: (typeof functions)[keyof typeof functions]) => stack.getLogicalId(fn.node.defaultChild as never);
  const roleOf = (fn: (typeof functions)[keyof typeof functions]) =>
    template.toJSON().Resources[(template.toJSON().Resources[logicalId(fn)].Properties.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0]];

  it.each(Object.keys(functions) as (keyof typeof functions)[])('%s: names a resource in every statement but X-Ray, and uses no wildcard action', (name) => {
    const statements = functionPolicyStatements(template, logicalId(functions[name]));
    for (const statement of statements) {
      const actions = asList(statement.Action);
      if (actions.every((action) => action.startsWith('xray:'))) continue;
      expect(JSON.stringify(statement.Resource), JSON.stringify(statement)).not.toBe('"*"');
      expect(actions.filter((action) => action.includes('*')), JSON.stringify(statement)).toEqual([]);
    }
  });

  it.each(Object.keys(functions) as (keyof typeof functions)[])('%s: no managed policy; may write to its own log group only', (name) => {
    const role = roleOf(functions[name]);
    const logGroupId = template.toJSON().Resources[logicalId(functions[name])].Properties.LoggingConfig.LogGroup.Ref as string;

    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.Policies).toEqual([
      {
        PolicyName: 'Logs',
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] } }],
        },
      },
    ]);
  });

  it.each(Object.keys(functions) as (keyof typeof functions)[])('%s: may use the customer-managed key without wildcards (decrypt, encrypt, data keys)', (name) => {
    const keyId = stack.getLogicalId(rapport.encryptionKey?.node.defaultChild as never);
    const kmsStatements = functionPolicyStatements(template, logicalId(functions[name])).filter((s) => asList(s.Action).some((a) => a.startsWith('kms:')));
    expect(kmsStatements.length).toBeGreaterThan(0);
    for (const statement of kmsStatements) expect(statement.Resource).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    expect(new Set(kmsStatements.flatMap((s) => asList(s.Action)))).toEqual(new Set(['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey']));
  });
});
