/**
 * SES feedback in the stack: journey emails go out with a configuration set whose EventBridge destination
 * (the default bus: the only one SES publishes to) carries the feedback Rapport reads, a rule on the default bus
 * sends it to the SES feedback function, and that function may call exactly what its code path calls.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { SES_FEEDBACK_TABLE_ACCESS, sesFeedbackRule } from '../../infra/topology';
import { FEEDBACK, JOURNEYS } from '../../infra/cdk/defaults';
import { PROFILE_TABLE_LAYOUT } from '../../shared';
import { JOURNEY_ENV } from '../../shared/config/journey-env';
import { functionIdByService, functionPolicyStatements, synthRapport, TEST_DELIVERY } from './synth';

const { stack, template } = synthRapport({ stageName: 'prod' }, { bundle: false });
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
const feedbackId = functionIdByService(template, FEEDBACK.serviceName);
const defaultBusArn = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':event-bus/default']] };

describe('the configuration set', () => {
  it('is created per stage, with an EventBridge destination on the default bus for every feedback type', () => {
    template.hasResourceProperties('AWS::SES::ConfigurationSet', { Name: 'rapport-prod' });
    template.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
      ConfigurationSetName: Match.anyValue(),
      EventDestination: {
        Enabled: true,
        MatchingEventTypes: ['bounce', 'complaint', 'delivery', 'open', 'click', 'reject', 'deliveryDelay'],
        EventBridgeDestination: { EventBusArn: defaultBusArn },
      },
    });
  });

  it('is what the step function sends with, and may send with', () => {
    const stepId = functionIdByService(template, JOURNEYS.step.serviceName);
    expect((resources[stepId]!.Properties.Environment as { Variables: Record<string, unknown> }).Variables[JOURNEY_ENV.EMAIL_CONFIGURATION_SET]).toBe('rapport-prod');
    const send = functionPolicyStatements(template, stepId).find((s) => [s.Action].flat().includes('ses:SendEmail'));
    expect(JSON.stringify(send?.Resource)).toContain(':configuration-set/rapport-prod');
  });

  it('an existing one (email.configurationSet) gets the destination and is not created', () => {
    const own = synthRapport({ stageName: 'dev', email: { ...TEST_DELIVERY.email, configurationSet: 'shop-dedicated-ips' } }, { bundle: false });
    own.template.resourceCountIs('AWS::SES::ConfigurationSet', 0);
    own.template.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', { ConfigurationSetName: 'shop-dedicated-ips' });
    expect(own.stack.rapport.emailConfigurationSetName).toBe('shop-dedicated-ips');
  });
});

describe('the SES feedback rule and function', () => {
  it("is a rule on the default bus for this stage's configuration set, with retries and the dead-letter queue", () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: Match.absent(),
      EventPattern: sesFeedbackRule('rapport-prod').pattern,
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [feedbackId, 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: FEEDBACK.ruleDelivery.retryAttempts, MaximumEventAgeInSeconds: FEEDBACK.ruleDelivery.maxEventAge.toSeconds() },
          DeadLetterConfig: Match.objectLike({ Arn: Match.anyValue() }),
        }),
      ],
    });
  });

  it('may call exactly what it calls: its profile table actions, Query on the email index, and PutEvents on the Rapport bus only', () => {
    const statements = functionPolicyStatements(template, feedbackId).filter((s) => !/^(xray|logs|kms|sqs):/.test([s.Action].flat()[0]!));
    const busArn = { 'Fn::GetAtt': [stack.getLogicalId(stack.rapport.bus.node.defaultChild as never), 'Arn'] };
    const tableArn = { 'Fn::GetAtt': [stack.getLogicalId(stack.rapport.profileTable.node.defaultChild as never), 'Arn'] };
    expect(statements.map((s) => ({ actions: [s.Action].flat().sort(), resource: s.Resource }))).toEqual([
      { actions: [...SES_FEEDBACK_TABLE_ACCESS.table].sort(), resource: tableArn },
      // A complaint of mail to a customer erased since suppresses the address while another record has it (ProfileStore#keepForLiveHolder).
      { actions: ['dynamodb:Query'], resource: { 'Fn::Join': ['', [tableArn, `/index/${PROFILE_TABLE_LAYOUT.emailIndex.name}`]] } },
      { actions: ['events:PutEvents'], resource: busArn },
    ]);
  });
});
