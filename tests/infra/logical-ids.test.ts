import { Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { synthRapport } from './synth';

/**
 * The logical ids of the resources that hold data or addresses, pinned.
 *
 * CloudFormation replaces a resource whose logical id changes: a table or queue
 * comes back empty, a secret with a new value, a log group without its history,
 * an API with a new URL every sender must learn, a state machine without its
 * executions. A refactor of the construct tree (moving a resource into a child
 * construct, renaming an id) changes these ids silently, and every other infra
 * test, which finds resources by their properties, still passes.
 *
 * This is the one test that names hashed logical ids on purpose. If it fails,
 * the change replaces data on the next deploy: keep the old ids (build in the
 * same scope, or `overrideLogicalId`), or make the replacement deliberate and
 * say so in the commit and the release notes.
 */
const STATEFUL_TYPES = [
  'AWS::DynamoDB::GlobalTable',
  'AWS::DynamoDB::Table',
  'AWS::SQS::Queue',
  'AWS::KMS::Key',
  'AWS::StepFunctions::StateMachine',
  // A journey's published version (its runs' rollback target) and the alias its runs start through: a new id
  // would publish anew and create a second alias named `live` beside the old, which Step Functions refuses.
  'AWS::StepFunctions::StateMachineVersion',
  'AWS::StepFunctions::StateMachineAlias',
  'AWS::Events::EventBus',
  'AWS::Events::Archive',
  'AWS::SecretsManager::Secret',
  'AWS::Logs::LogGroup',
  'AWS::ApiGatewayV2::Api',
  'AWS::ApiGatewayV2::Stage',
  'AWS::SNS::Topic',
] as const;

/** Rapport-dev with the repository's journeys and the tests' delivery settings (tests/infra/synth.ts). */
const PINNED: Record<(typeof STATEFUL_TYPES)[number], readonly string[]> = {
  'AWS::DynamoDB::GlobalTable': ['RapportIdempotencyTable39A50122', 'RapportProfileTable2B6469A9'],
  'AWS::DynamoDB::Table': [],
  'AWS::SQS::Queue': ['RapportDeadLetterQueue202E6D75'],
  'AWS::KMS::Key': ['RapportObservabilityAlarmTopicKey536FE414'],
  'AWS::StepFunctions::StateMachine': [
    'RapportBroadcastStateMachine88A312D7',
    'RapportJourneycomplaintfollowupStateMachine5FF06567',
    'RapportJourneywelcomeStateMachineB94BE041',
    'RapportJourneywinbackStateMachineAE38BFFA',
  ],
  'AWS::StepFunctions::StateMachineVersion': ['RapportJourneycomplaintfollowupVersionD04194B4', 'RapportJourneywelcomeVersion58326BBF', 'RapportJourneywinbackVersionD985E787'],
  'AWS::StepFunctions::StateMachineAlias': ['RapportJourneycomplaintfollowupAlias60E9529C', 'RapportJourneywelcomeAlias098C89FF', 'RapportJourneywinbackAliasD441E00E'],
  'AWS::Events::EventBus': ['RapportEventBus531C3F42'],
  'AWS::Events::Archive': ['RapportEventBusArchiveB50EA1DC'],
  'AWS::SecretsManager::Secret': [
    'RapportOutboundWebhookSecretsupervisor695F06AB',
    'RapportOutboundWebhookSecretsupportA75DF739',
    'RapportSourceSecretdefaultE3CAA9FF',
    'RapportUnsubscribeSecret896441E6',
  ],
  'AWS::Logs::LogGroup': [
    'RapportApiAccessLogs5FCE0A53',
    'RapportBroadcastApiLogsFB50A1E6',
    'RapportBroadcastPageLogs731A6679',
    'RapportBroadcastStateMachineLogs447BB7D2',
    'RapportCustomerApiAccessLogsA303E17C',
    'RapportCustomerApiLogs90E1E7B0',
    'RapportIngestLogs55C9CC6E',
    'RapportJourneyLogs0EDB4361',
    'RapportJourneyRunEndedLogs5D0EAF49',
    'RapportJourneyStarterLogs945CF6EA',
    'RapportJourneyStepLogs855A9F48',
    'RapportProfileConsumerLogs158134C8',
    'RapportSesFeedbackLogsFF058D0E',
    'RapportSweepLogsED9841E8',
  ],
  'AWS::ApiGatewayV2::Api': ['RapportCustomerApi2BEF8E52', 'RapportHttpApi061FF2F8'],
  'AWS::ApiGatewayV2::Stage': ['RapportCustomerApiDefaultStageDA7A5C97', 'RapportDefaultStage938BD7BF'],
  'AWS::SNS::Topic': ['RapportObservabilityAlarmTopic1764EEA5'],
};

describe('logical ids of stateful resources', () => {
  // Prepare
  const { template } = synthRapport({ stageName: 'dev' }, { bundle: false });

  it.each(STATEFUL_TYPES)('are unchanged for %s', (type) => {
    // Act
    const ids = Object.keys(template.findResources(type)).sort();
    // Assess
    expect(ids).toEqual([...PINNED[type]].sort());
  });
});

/**
 * What else a journey has in the stack, pinned for the default `journeyStacks` (1): a new id would replace it. Not
 * data, but the layout every deployment has, which nested stacks of journeys must leave as it was.
 */
const JOURNEY_PINNED = {
  rules: ['RapportJourneyRunEndedRuleF52ABE87', 'RapportJourneywinbackTriggerRule0F091AAF7'],
  alarms: ['RapportJourneycomplaintfollowupFailedExecutionsAlarm84EAD54D', 'RapportJourneywelcomeFailedExecutionsAlarm17076C0F', 'RapportJourneywinbackFailedExecutionsAlarm6825EF48'],
  role: 'RapportJourneyStateMachineRole87CCC605',
} as const;

describe('logical ids of the journeys with one stack (journeyStacks 1, the default)', () => {
  const journeyRules = (t: Template) =>
    Object.keys(t.findResources('AWS::Events::Rule', { Properties: { Description: Match.stringLikeRegexp('journey') } })).sort();
  const { template } = synthRapport({ stageName: 'dev' }, { bundle: false });

  it('keeps the trigger rules, the run-ended rule, the alarms and the shared role', () => {
    expect(journeyRules(template)).toEqual([...JOURNEY_PINNED.rules].sort());
    expect(Object.keys(template.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmDescription: Match.stringLikeRegexp('executions of journey') } })).sort()).toEqual(
      [...JOURNEY_PINNED.alarms].sort(),
    );
    expect(template.toJSON().Resources[JOURNEY_PINNED.role]?.Type).toBe('AWS::IAM::Role');
  });

  it('keeps the trigger rules and the run-ended rule with nested stacks too: they stay in the stack itself', () => {
    const nested = synthRapport({ stageName: 'dev', journeyStacks: 3 }, { bundle: false });
    expect(journeyRules(nested.template)).toEqual([...JOURNEY_PINNED.rules].sort());
  });
});
