import { appendFileSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import aslValidator from 'asl-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOURNEYS, PROFILE } from '../../infra/cdk/defaults';
import { RapportPropsError } from '../../infra/cdk/errors';
import { Rapport, type RapportProps } from '../../infra/cdk/rapport';
import { DEFAULT_SEND_POLICY, isStarterPattern } from '../../functions/journeys';
import { sendPolicyFrom, stateMachineArnsFrom } from '../../functions/journeys/aws';
import { journeySpec } from '../../infra/cdk/journeys';
import { ENV } from '../../shared/config/env';
import { JOURNEY_ALIAS, JOURNEY_ENV } from '../../shared/config/journey-env';
import { loadTopicsOrThrow, TOPICS_FILE } from '../../shared/topics';
import { compileJourney, loadJourneysFromDir, releaseOfFolder, type CompiledJourney } from '../../workflows/journeys';
import type { PolicyStatement, Synthesised } from './synth';
import {
  asList,
  functionIdByService,
  functionPolicyStatements,
  JOURNEYS_DIR,
  newApp,
  onlyLogicalId,
  renderText,
  rolePolicyStatements,
  synthRapport,
  TEMPLATES_DIR,
  TEST_CONFIG_DIR,
  TEST_DELIVERY,
} from './synth';

/** X-Ray has no resource-level permissions: the one statement of a function that must name `*`. */
const XRAY = { Effect: 'Allow', Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Resource: '*' };
/** A state machine's tracing (CDK adds it with `tracingEnabled`). */
const STATE_MACHINE_XRAY = {
  Effect: 'Allow',
  Action: ['xray:GetSamplingRules', 'xray:GetSamplingTargets', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
  Resource: '*',
};
/** A state machine's log delivery to CloudWatch Logs (CDK adds it with `logs`): these APIs have no resource-level permissions. */
const LOG_DELIVERY = {
  Effect: 'Allow',
  Action: [
    'logs:CreateLogDelivery',
    'logs:DeleteLogDelivery',
    'logs:DescribeLogGroups',
    'logs:DescribeResourcePolicies',
    'logs:GetLogDelivery',
    'logs:ListLogDeliveries',
    'logs:PutResourcePolicy',
    'logs:UpdateLogDelivery',
  ],
  Resource: '*',
};
/** What the step ARN token looks like in a definition rendered by `renderText`, and a real ARN for asl-validator. */
const REALISTIC_STEP_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:Rapport-dev-RapportJourneyStepFunction-AbCdEf123456';

/** Statements with their actions sorted, so a comparison does not depend on the order CDK renders them in. */
const normalised = (statements: readonly PolicyStatement[]) =>
  statements.map((s) => ({ ...s, Action: Array.isArray(s.Action) ? [...s.Action].sort() : s.Action }));
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const byJson = (a: unknown, b: unknown) => JSON.stringify(a).localeCompare(JSON.stringify(b));

/** The journey files of a folder, as ids (file names without .yaml). */
const journeyIdsIn = (dir: string) =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.yaml'))
    .map((name) => name.replace(/\.yaml$/, ''))
    .sort();

/** The compiler's output for every journey of `journeysDir`, each Task invoking `stepFunctionArn`: what the stack must deploy. */
function compiledJourneys(stepFunctionArn: string, journeysDir = JOURNEYS_DIR, templatesDir = TEMPLATES_DIR): Map<string, CompiledJourney> {
  const webhookTargets = Object.keys(TEST_DELIVERY.outboundWebhooks);
  // The topics of the config the stack is synthesised with: each send's topic is compiled with its default.
  const topics = loadTopicsOrThrow(readFileSync(path.join(TEST_CONFIG_DIR, TOPICS_FILE), 'utf8'), TOPICS_FILE);
  const { journeys, catalog } = loadJourneysFromDir(journeysDir, templatesDir, { webhookTargets, topics });
  return new Map(journeys.map(({ journey }) => [journey.id, compileJourney(journey, { stepFunctionArn, ...catalog, webhookTargets, topics })]));
}

/** Logical ids of what the journeys leg created, found by what they are, never hard-coded. */
function journeyIds(template: Template) {
  // The journeys' machines, by their tag (the broadcasts' fan-out machine is not a journey: tests/infra/broadcasts-stack).
  const stateMachines = new Map(
    Object.entries(template.findResources('AWS::StepFunctions::StateMachine')).flatMap(([id, resource]) => {
      const tag = ((resource.Properties.Tags ?? []) as { Key: string; Value: string }[]).find((t) => t.Key === 'rapport:journey');
      return tag ? [[tag.Value, id] as const] : [];
    }),
  );
  return {
    bus: onlyLogicalId(template, 'AWS::Events::EventBus'),
    queue: onlyLogicalId(template, 'AWS::SQS::Queue'),
    table: onlyLogicalId(template, 'AWS::DynamoDB::GlobalTable', { Properties: { KeySchema: Match.arrayWith([{ AttributeName: 'PK', KeyType: 'HASH' }]) } }),
    step: functionIdByService(template, JOURNEYS.step.serviceName),
    starter: functionIdByService(template, JOURNEYS.starter.serviceName),
    runEnded: functionIdByService(template, JOURNEYS.runEnded.serviceName),
    consumer: functionIdByService(template, PROFILE.consumer.serviceName),
    httpApi: onlyLogicalId(template, 'AWS::ApiGatewayV2::Api', { Properties: { Name: Match.stringLikeRegexp('-ingest$') } }),
    unsubscribeSecret: onlyLogicalId(template, 'AWS::SecretsManager::Secret', { Properties: { Description: Match.stringLikeRegexp('unsubscribe links') } }),
    stateMachines,
  };
}

/** Rules whose only target is the Lambda function `functionId`. */
function rulesTargeting(template: Template, functionId: string) {
  return Object.entries(template.findResources('AWS::Events::Rule', { Properties: { Targets: [Match.objectLike({ Arn: arnOf(functionId) })] } }));
}

/** A state machine's definition as deployed: the `Fn::Join` rendered and parsed, the step ARN token as `<GetAtt:Id.Arn>`. */
function deployedDefinition(template: Template, stateMachineId: string): unknown {
  return JSON.parse(renderText(template.toJSON().Resources[stateMachineId].Properties.DefinitionString));
}

/** A function's environment with its CloudFormation values rendered as text (`<Ref:Id>`, `<GetAtt:Id.Attr>`). */
function renderedEnvironment(template: Template, functionId: string): Record<string, string> {
  const variables = template.toJSON().Resources[functionId].Properties.Environment.Variables as Record<string, unknown>;
  return Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, renderText(value)]));
}

describe('Rapport-dev stack: the journeys leg, default props', () => {
  let synthesised: Synthesised;
  let ids: ReturnType<typeof journeyIds>;
  let expected: Map<string, CompiledJourney>;
  const journeyIdList = journeyIdsIn(JOURNEYS_DIR);

  beforeAll(() => {
    synthesised = synthRapport({ stageName: 'dev' }, { bundle: false }); // bundles.test.ts checks the bundles
    ids = journeyIds(synthesised.template);
    expected = compiledJourneys(`<GetAtt:${ids.step}.Arn>`);
  });

  const resources = () => synthesised.template.toJSON().Resources;
  const props = (id: string) => resources()[id]?.Properties;
  const machineOf = (journeyId: string) => ids.stateMachines.get(journeyId) as string;

  describe('state machines', () => {
    it('deploys one state machine per journey file, tagged with its journey id', () => {
      expect(journeyIdList).toEqual(['complaint-follow-up', 'welcome', 'win-back']);
      expect([...ids.stateMachines.keys()].sort()).toEqual(journeyIdList);
    });

    it.each(journeyIdList)('%s: Standard, logging every event without execution data to the journeys log group, X-Ray on', (journeyId) => {
      const machine = props(machineOf(journeyId));
      expect(machine).toMatchObject({
        StateMachineType: 'STANDARD',
        LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false, Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: expect.anything() } }] },
        TracingConfiguration: { Enabled: true },
      });
      // Named by stage and journey: grants, the run-ended rule and the functions find every journey by the prefix.
      expect(machine.StateMachineName).toBe(`Rapport-dev_${journeyId}`);
      const logGroupId = machine.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0];
      expect(resources()[logGroupId]).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 }, DeletionPolicy: 'Retain' });
      expect(resources()[logGroupId].Properties.LogGroupName).toBeUndefined();
    });

    it('logs every journey to one log group (one entry in the account\'s log resource policy, not one per journey)', () => {
      const destinations = [...ids.stateMachines.values()].map(
        (id) => props(id).LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0],
      );
      expect(new Set(destinations).size).toBe(1);
    });

    it.each(journeyIdList)("%s: the definition is the compiler's ASL, every Task invoking the step function's ARN", (journeyId) => {
      const definition = deployedDefinition(synthesised.template, machineOf(journeyId)) as { States: Record<string, { Type: string; Parameters?: { FunctionName: string } }> };

      expect(definition).toEqual(expected.get(journeyId)?.definition);
      const tasks = Object.values(definition.States).filter((state) => state.Type === 'Task');
      expect(tasks.length).toBeGreaterThan(0);
      for (const task of tasks) expect(task.Parameters?.FunctionName).toBe(`<GetAtt:${ids.step}.Arn>`);
    });

    it.each(journeyIdList)('%s: the deployed definition passes asl-validator (ARNs and paths checked)', (journeyId) => {
      const rendered = renderText(props(machineOf(journeyId)).DefinitionString).replaceAll(`<GetAtt:${ids.step}.Arn>`, REALISTIC_STEP_ARN);
      // asl-validator adds QueryLanguage to every state: it gets its own copy.
      const result = aslValidator(JSON.parse(rendered), { checkArn: true, checkPaths: true });

      expect(result.errorsText('\n')).toBe('');
      expect(result.isValid).toBe(true);
    });

    it('every journey shares one role, and each machine is created after its policy (Step Functions checks log delivery)', () => {
      const roles = new Set([...ids.stateMachines.values()].map((id) => props(id).RoleArn['Fn::GetAtt'][0]));
      expect(roles.size).toBe(1);
      const [roleId] = [...roles] as [string];
      const policyId = onlyLogicalId(synthesised.template, 'AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } });
      for (const id of ids.stateMachines.values()) expect(resources()[id].DependsOn).toEqual(expect.arrayContaining([roleId, policyId]));
    });

    it.each(journeyIdList)('%s: its role may invoke the step function (unqualified) and deliver logs and traces, nothing else', (journeyId) => {
      const roleId = props(machineOf(journeyId)).RoleArn['Fn::GetAtt'][0];
      const trust = props(roleId).AssumeRolePolicyDocument.Statement;
      expect(trust).toEqual([
        {
          Effect: 'Allow',
          Action: 'sts:AssumeRole',
          Principal: { Service: 'states.amazonaws.com' },
          Condition: { ArnLike: { 'aws:SourceArn': expect.anything() }, StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        },
      ]);
      // Confused-deputy guard: only this stage's journey state machines, of this account and region, may assume it.
      expect(renderText(trust[0].Condition.ArnLike['aws:SourceArn'])).toBe('arn:<Ref:AWS::Partition>:states:<Ref:AWS::Region>:<Ref:AWS::AccountId>:stateMachine:Rapport-dev_*');
      expect(normalised(rolePolicyStatements(synthesised.template, roleId))).toEqual([
        LOG_DELIVERY,
        STATE_MACHINE_XRAY,
        { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: arnOf(ids.step) },
      ]);
    });
  });

  describe('releases: a version per change, an alias new runs start through', () => {
    const versionOf = (journeyId: string) =>
      onlyLogicalId(synthesised.template, 'AWS::StepFunctions::StateMachineVersion', { Properties: { StateMachineArn: { Ref: machineOf(journeyId) } } });
    const aliasOf = (journeyId: string) =>
      onlyLogicalId(synthesised.template, 'AWS::StepFunctions::StateMachineAlias', { Properties: { RoutingConfiguration: [{ StateMachineVersionArn: arnOf(versionOf(journeyId)) }] } });

    it.each(journeyIdList)('%s: publishes the revision this deploy made, described by the journey version and a hash of its definition, and keeps it (RETAIN)', (journeyId) => {
      const version = resources()[versionOf(journeyId)];

      expect(version.Properties).toEqual({
        StateMachineArn: { Ref: machineOf(journeyId) },
        StateMachineRevisionId: { 'Fn::GetAtt': [machineOf(journeyId), 'StateMachineRevisionId'] },
        Description: expect.stringMatching(new RegExp(`^journey ${journeyId} v${String(expected.get(journeyId)?.version)} definition sha256:[0-9a-f]{16}$`)),
      });
      // Replaced (a new version) or removed, CloudFormation would delete the old version: retained, it stays for rollback.
      expect(version).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    });

    it.each(journeyIdList)(`%s: one alias, "${JOURNEY_ALIAS}", routing 100% of new runs to that version`, (journeyId) => {
      expect(props(aliasOf(journeyId))).toEqual({
        Name: JOURNEY_ALIAS,
        Description: expect.any(String),
        RoutingConfiguration: [{ StateMachineVersionArn: arnOf(versionOf(journeyId)), Weight: 100 }],
      });
    });

    it('the starter and the consumer are deployed after every alias: their code starts runs through them', () => {
      const aliases = journeyIdList.map(aliasOf);
      for (const id of [ids.starter, ids.consumer]) expect(resources()[id].DependsOn).toEqual(expect.arrayContaining(aliases));
    });

    it('one version and one alias per journey, none for the broadcasts machine', () => {
      expect(Object.keys(synthesised.template.findResources('AWS::StepFunctions::StateMachineVersion'))).toHaveLength(journeyIdList.length);
      expect(Object.keys(synthesised.template.findResources('AWS::StepFunctions::StateMachineAlias'))).toHaveLength(journeyIdList.length);
    });

    it("the starter and the consumer start through each journey's alias, which their start grant covers", () => {
      // The ARN the runtime starts (executions.ts): the prefix, the journey id and the alias name.
      for (const id of [ids.starter, ids.consumer]) {
        const prefix = renderedEnvironment(synthesised.template, id)[JOURNEY_ENV.STATE_MACHINE_ARN_PREFIX] ?? '';
        const [start] = rolePolicyStatements(synthesised.template, props(id).Role['Fn::GetAtt'][0]).filter((statement) => statement.Action === 'states:StartExecution');
        const granted = new RegExp(`^${renderText(start?.Resource).replaceAll(/[.*+?^${}()|[\]\\]/g, (c) => (c === '*' ? '.*' : `\\${c}`))}$`);
        for (const journeyId of journeyIdList) {
          const started = `${prefix}${journeyId}:${JOURNEY_ALIAS}`;
          // The alias the stack deploys: the journey's machine (`Rapport-dev_<id>`, under the prefix) and the alias's name.
          expect(started).toBe(`${prefix.slice(0, prefix.lastIndexOf(':') + 1)}${String(props(machineOf(journeyId)).StateMachineName)}:${String(props(aliasOf(journeyId)).Name)}`);
          // IAM authorises a start through an alias on the machine's own ARN; the grant matches both.
          expect(`${prefix}${journeyId}`).toMatch(granted);
          expect(started).toMatch(granted);
        }
      }
    });
  });

  describe('trigger rules -> starter', () => {
    it('deploys one rule per trigger pattern of a derived event, on the Rapport bus, with exactly those patterns; customer events have none (the consumer enrols them)', () => {
      const rules = rulesTargeting(synthesised.template, ids.starter).map(([, rule]) => rule.Properties);
      const patterns = [...expected.values()].flatMap((journey) => journey.triggerPatterns).filter(isStarterPattern);
      // The sample journeys: win-back (Customer Became Inactive) only; welcome and complaint follow-up start from customer events.
      expect(patterns.map((p) => p['detail-type'])).toEqual([['Customer Became Inactive']]);

      expect(rules).toHaveLength(patterns.length);
      expect(rules.map((rule) => rule.EventPattern).sort(byJson)).toEqual([...patterns].sort(byJson));
      for (const rule of rules) expect(rule).toMatchObject({ EventBusName: { Ref: ids.bus }, State: 'ENABLED' });
    });

    it.each(journeyIdList)('%s: its derived-event trigger patterns start it', (journeyId) => {
      const deployed = rulesTargeting(synthesised.template, ids.starter)
        .map(([, rule]) => rule.Properties)
        .filter((rule) => rule.Description === `Rapport dev: starts journey "${journeyId}"`)
        .map((rule) => rule.EventPattern);
      expect(deployed).toEqual(expected.get(journeyId)?.triggerPatterns.filter(isStarterPattern));
    });

    it('delivers to the starter with 8 retries within 6 hours, then the dead-letter queue', () => {
      for (const [, rule] of rulesTargeting(synthesised.template, ids.starter)) {
        expect(rule.Properties.Targets).toEqual([
          {
            Id: expect.any(String),
            Arn: arnOf(ids.starter),
            RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 6 * 60 * 60 },
            DeadLetterConfig: { Arn: arnOf(ids.queue) },
          },
        ]);
      }
    });

    it("lets EventBridge invoke the starter for the Rapport bus's rules, in one permission whatever the number of journeys", () => {
      const permissions = Object.values(synthesised.template.findResources('AWS::Lambda::Permission', { Properties: { FunctionName: arnOf(ids.starter) } }));

      expect(permissions.map((permission) => permission.Properties)).toEqual([
        { Action: 'lambda:InvokeFunction', FunctionName: arnOf(ids.starter), Principal: 'events.amazonaws.com', SourceAccount: { Ref: 'AWS::AccountId' }, SourceArn: expect.anything() },
      ]);
      // A custom bus's rule is rule/<bus>/<rule>: the wildcard covers this bus's rules, no other bus's.
      expect(renderText(permissions[0]?.Properties.SourceArn)).toBe(`arn:<Ref:AWS::Partition>:events:<Ref:AWS::Region>:<Ref:AWS::AccountId>:rule/<Ref:${ids.bus}>/*`);
    });

    it("lets EventBridge write the trigger rules' dead letters, in one queue policy statement on the bus's rules", () => {
      const [policy] = Object.values(synthesised.template.findResources('AWS::SQS::QueuePolicy')).map((p) => p.Properties.PolicyDocument.Statement as Record<string, unknown>[]);
      const triggers = (policy ?? []).filter((statement) => statement.Sid === 'AllowTriggerRulesOfRapportBus');

      expect(triggers).toEqual([
        {
          Sid: 'AllowTriggerRulesOfRapportBus',
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: arnOf(ids.queue),
          Condition: { ArnLike: { 'aws:SourceArn': expect.anything() } },
        },
      ]);
      expect(renderText((triggers[0]?.Condition as { ArnLike: Record<string, unknown> }).ArnLike['aws:SourceArn'])).toBe(
        `arn:<Ref:AWS::Partition>:events:<Ref:AWS::Region>:<Ref:AWS::AccountId>:rule/<Ref:${ids.bus}>/*`,
      );
      // No statement per trigger rule: EventBridge's others are the consumer's, run-ended's and SES feedback's rules.
      const fromEventBridge = (policy ?? []).filter((statement) => JSON.stringify(statement.Principal) === JSON.stringify({ Service: 'events.amazonaws.com' }));
      expect(fromEventBridge).toHaveLength(4);
    });
  });

  describe('execution ends -> run-ended', () => {
    it("listens on the account's default bus to the journeys' ends (succeeded, failed, timed out, aborted)", () => {
      const [rule, ...others] = rulesTargeting(synthesised.template, ids.runEnded).map(([, r]) => r.Properties);

      expect(others).toEqual([]);
      expect(rule.EventBusName).toBeUndefined();
      expect(rule.EventPattern).toEqual({
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: { status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArn: [{ prefix: expect.anything() }] },
      });
      // By the stage's name prefix: a fixed size for any number of journeys, and no other stage's machines.
      expect(renderText(rule.EventPattern.detail.stateMachineArn[0].prefix)).toBe(
        'arn:<Ref:AWS::Partition>:states:<Ref:AWS::Region>:<Ref:AWS::AccountId>:stateMachine:Rapport-dev_',
      );
    });

    it('delivers to run-ended with 8 retries within 24 hours, then the dead-letter queue', () => {
      const [[, rule]] = rulesTargeting(synthesised.template, ids.runEnded) as [[string, { Properties: { Targets: unknown } }]];
      expect(rule.Properties.Targets).toEqual([
        {
          Id: expect.any(String),
          Arn: arnOf(ids.runEnded),
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 24 * 60 * 60 },
          DeadLetterConfig: { Arn: arnOf(ids.queue) },
        },
      ]);
    });
  });

  describe('functions', () => {
    it.each([
      ['step', JOURNEYS.step, 512, 30],
      ['starter', JOURNEYS.starter, 512, 30],
      ['runEnded', JOURNEYS.runEnded, 256, 30],
    ] as const)('runs the %s function on nodejs24.x, arm64, with X-Ray and its own log group', (which, settings, memory, timeout) => {
      const fn = props(ids[which]);
      expect(fn).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        MemorySize: memory,
        Timeout: timeout,
        Environment: { Variables: { POWERTOOLS_SERVICE_NAME: settings.serviceName } },
      });
      expect(resources()[fn.LoggingConfig.LogGroup.Ref]).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } });
    });

    it.each(['starter', 'runEnded'] as const)('retries failed asynchronous invocations of the %s twice within 6 hours, then the dead-letter queue', (which) => {
      synthesised.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: ids[which] },
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 6 * 60 * 60,
        DestinationConfig: { OnFailure: { Destination: arnOf(ids.queue) } },
      });
    });

    it('gives the step function the profile settings, templates, sender, webhooks, send policy and unsubscribe key', () => {
      const webhookSecret = (name: string) =>
        onlyLogicalId(synthesised.template, 'AWS::SecretsManager::Secret', { Properties: { Description: Match.stringLikeRegexp(`outbound webhook "${name}"`) } });

      expect(renderedEnvironment(synthesised.template, ids.step)).toEqual({
        [ENV.PROFILE_TABLE_NAME]: `<Ref:${ids.table}>`,
        [ENV.EVENT_BUS_NAME]: `<Ref:${ids.bus}>`,
        [ENV.CONFIG_DIR]: '/var/task/config',
        [ENV.CONSENT_MODE]: 'opt-out',
        [ENV.TIMELINE_RETENTION_DAYS]: '365',
        [ENV.STAGE]: 'dev',
        [JOURNEY_ENV.TEMPLATES_DIR]: '/var/task/templates',
        [JOURNEY_ENV.EMAIL_FROM_ADDRESS]: 'journeys@shop.example',
        // The configuration set Rapport creates for the stage: every email's feedback reaches the SES feedback function.
        [JOURNEY_ENV.EMAIL_CONFIGURATION_SET]: 'rapport-dev',
        [JOURNEY_ENV.OUTBOUND_WEBHOOK_TARGETS]: JSON.stringify({
          support: { url: 'https://help.shop.example/hooks/rapport', secretArn: `<Ref:${webhookSecret('support')}>` },
          supervisor: { url: 'https://help.shop.example/hooks/supervisor', secretArn: `<Ref:${webhookSecret('supervisor')}>` },
        }),
        [JOURNEY_ENV.SEND_POLICY]: JSON.stringify({ frequencyCap: 3, frequencyWindowDays: 7, frequencyCapMaxDelayDays: 3, quietHours: { start: '21:00', end: '08:00' }, defaultTimeZone: 'UTC' }),
        [ENV.UNSUBSCRIBE_SECRET]: `<Ref:${ids.unsubscribeSecret}>`,
        [ENV.PUBLIC_URL]: `https://<Ref:${ids.httpApi}>.execute-api.<Ref:AWS::Region>.<Ref:AWS::URLSuffix>/`,
        POWERTOOLS_SERVICE_NAME: 'rapport-steps',
        POWERTOOLS_METRICS_NAMESPACE: 'Rapport',
        NODE_OPTIONS: '--enable-source-maps',
      });
    });

    it("writes a send policy the step function's loader reads back as the runtime's defaults", () => {
      const env = renderedEnvironment(synthesised.template, ids.step);
      expect(sendPolicyFrom(env)).toEqual(DEFAULT_SEND_POLICY);
    });

    it("gives the starter the table, consent mode, journeys file and the ARN prefix of the journeys' state machines", () => {
      const env = renderedEnvironment(synthesised.template, ids.starter);

      expect(env).toEqual({
        [ENV.PROFILE_TABLE_NAME]: `<Ref:${ids.table}>`,
        [ENV.CONSENT_MODE]: 'opt-out',
        [JOURNEY_ENV.JOURNEYS_FILE]: '/var/task/journeys/journeys.json',
        [JOURNEY_ENV.STATE_MACHINE_ARN_PREFIX]: 'arn:<Ref:AWS::Partition>:states:<Ref:AWS::Region>:<Ref:AWS::AccountId>:stateMachine:Rapport-dev_',
        [ENV.STAGE]: 'dev',
        POWERTOOLS_SERVICE_NAME: 'rapport-starter',
        POWERTOOLS_METRICS_NAMESPACE: 'Rapport',
        NODE_OPTIONS: '--enable-source-maps',
      });
    });

    it('gives the profile consumer (journey router) the same journeys file and state machine ARN prefix as the starter', () => {
      const consumer = renderedEnvironment(synthesised.template, ids.consumer);
      const starter = renderedEnvironment(synthesised.template, ids.starter);

      expect(consumer[JOURNEY_ENV.JOURNEYS_FILE]).toBe(starter[JOURNEY_ENV.JOURNEYS_FILE]);
      expect(consumer[JOURNEY_ENV.STATE_MACHINE_ARN_PREFIX]).toBe(starter[JOURNEY_ENV.STATE_MACHINE_ARN_PREFIX]);
    });

    it("writes an ARN prefix from which the runtime's loader derives each deployed state machine's ARN", () => {
      const env = renderedEnvironment(synthesised.template, ids.starter);
      // Deployed, the pseudo parameters are values: substitute what CloudFormation would give.
      const deploy = (text: string) =>
        text.replace('<Ref:AWS::Partition>', 'aws').replace('<Ref:AWS::Region>', 'eu-west-1').replace('<Ref:AWS::AccountId>', '123456789012');
      const deployed = { [JOURNEY_ENV.STATE_MACHINE_ARN_PREFIX]: deploy(env[JOURNEY_ENV.STATE_MACHINE_ARN_PREFIX] ?? '') };

      // Each derived ARN is the ARN of the machine the stack names for that journey.
      expect(stateMachineArnsFrom(deployed, [...expected.values()])).toEqual(
        Object.fromEntries(journeyIdList.map((id) => [id, `arn:aws:states:eu-west-1:123456789012:stateMachine:${String(props(machineOf(id)).StateMachineName)}`])),
      );
    });

    it.each([
      ['unset', {}, /environment variable RAPPORT_STATE_MACHINE_ARN_PREFIX is not set/],
      ['the old JSON map', { RAPPORT_STATE_MACHINE_ARN_PREFIX: '{"welcome":"arn:aws:states:eu-west-1:123456789012:stateMachine:x"}' }, /must be a state machine ARN without the journey id/],
      ['an execution ARN', { RAPPORT_STATE_MACHINE_ARN_PREFIX: 'arn:aws:states:eu-west-1:123456789012:execution:Rapport-dev_' }, /must be a state machine ARN without the journey id/],
      ['no name', { RAPPORT_STATE_MACHINE_ARN_PREFIX: 'arn:aws:states:eu-west-1:123456789012:stateMachine:' }, /must be a state machine ARN without the journey id/],
    ])("the runtime's loader refuses a prefix that is %s, naming the variable", (_case, env, message) => {
      expect(() => stateMachineArnsFrom(env, [...expected.values()])).toThrow(message);
    });

    it('gives run-ended the table, consent mode and stage only', () => {
      expect(renderedEnvironment(synthesised.template, ids.runEnded)).toEqual({
        [ENV.PROFILE_TABLE_NAME]: `<Ref:${ids.table}>`,
        [ENV.CONSENT_MODE]: 'opt-out',
        [ENV.STAGE]: 'dev',
        POWERTOOLS_SERVICE_NAME: 'rapport-run-ended',
        POWERTOOLS_METRICS_NAMESPACE: 'Rapport',
        NODE_OPTIONS: '--enable-source-maps',
      });
    });
  });

  describe('IAM: each journey function may do exactly what its code paths call', () => {
    const tableArn = () => arnOf(ids.table);
    const sesIdentity = (name: string) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ses:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:identity/${name}`]],
    });
    const sesConfigurationSet = (name: string) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ses:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:configuration-set/${name}`]],
    });

    it('step: items of the table (batch get: the holds of every id at once; delete: undoing a write for an erased customer), PutEvents (tag steps), the unsubscribe and webhook secrets, SES from the sender only', () => {
      const secrets = Object.keys(synthesised.template.findResources('AWS::SecretsManager::Secret', { Properties: { Description: Match.stringLikeRegexp('outbound webhook') } }));
      const statements = normalised(functionPolicyStatements(synthesised.template, ids.step));

      expect(secrets).toHaveLength(2);
      expect(statements).toEqual([
        XRAY,
        { Effect: 'Allow', Action: ['dynamodb:BatchGetItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'], Resource: tableArn() },
        { Effect: 'Allow', Action: 'events:PutEvents', Resource: arnOf(ids.bus) },
        {
          Effect: 'Allow',
          Action: 'secretsmanager:GetSecretValue',
          Resource: [{ Ref: ids.unsubscribeSecret }, ...secrets.map((id) => ({ Ref: id }))],
        },
        {
          Effect: 'Allow',
          Action: 'ses:SendEmail',
          Resource: [sesIdentity('journeys@shop.example'), sesIdentity('shop.example'), sesConfigurationSet('rapport-dev')],
          Condition: { StringEquals: { 'ses:FromAddress': 'journeys@shop.example' } },
        },
        // A wait_for reached at the trigger's time resumes itself on an event handled before it (its own task token).
        { Effect: 'Allow', Action: 'states:SendTaskSuccess', Resource: expect.anything() },
      ]);
      const resume = statements.find((st) => st.Action === 'states:SendTaskSuccess')!;
      expect(renderText(resume.Resource)).toBe('arn:<Ref:AWS::Partition>:states:<Ref:AWS::Region>:<Ref:AWS::AccountId>:stateMachine:Rapport-dev_*');
    });

    it('step: no SMS without an origination identity, no other Step Functions action, no dead-letter queue (Step Functions invokes it synchronously)', () => {
      const actions = functionPolicyStatements(synthesised.template, ids.step).flatMap((s) => asList(s.Action));
      expect(actions.filter((action) => /^(sms-voice|states|sqs):/.test(action))).toEqual(['states:SendTaskSuccess']);
    });

    it('starter: read the profile, list/lock/record runs, count; start executions of the journey state machines; stop and delete a run of a customer erased meanwhile', () => {
      const statements = normalised(functionPolicyStatements(synthesised.template, ids.starter));
      const stop = statements.find((s) => s.Action === 'states:StopExecution');

      expect(statements.filter((s) => s !== stop).map((s) => (s.Action === 'states:StartExecution' ? { ...s, Resource: [...asList(s.Resource)].sort(byJson) } : s))).toEqual([
        XRAY,
        { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: arnOf(ids.queue) },
        { Effect: 'Allow', Action: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'], Resource: tableArn() },
        { Effect: 'Allow', Action: 'states:StartExecution', Resource: [expect.anything()] },
      ]);
      // The journeys' state machines and their executions only, by the stage's name prefix (as the router's).
      const start = statements.find((s) => s.Action === 'states:StartExecution');
      expect(renderText(start?.Resource)).toBe('arn:<Ref:AWS::Partition>:states:<Ref:AWS::Region>:<Ref:AWS::AccountId>:stateMachine:Rapport-dev_*');
      expect(renderText(stop?.Resource)).toBe('arn:<Ref:AWS::Partition>:states:<Ref:AWS::Region>:<Ref:AWS::AccountId>:execution:Rapport-dev_*:*');
    });

    it('run-ended: find, end and count the run, free its lock; nothing else', () => {
      expect(normalised(functionPolicyStatements(synthesised.template, ids.runEnded))).toEqual([
        XRAY,
        { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: arnOf(ids.queue) },
        { Effect: 'Allow', Action: ['dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:UpdateItem'], Resource: tableArn() },
      ]);
    });
  });

  describe('secrets', () => {
    it('generates the unsubscribe key: 48 letters and digits, retained', () => {
      expect(resources()[ids.unsubscribeSecret]).toMatchObject({
        Properties: { GenerateSecretString: { ExcludePunctuation: true, PasswordLength: 48 } },
        DeletionPolicy: 'Retain',
      });
    });

    it('generates a Standard Webhooks secret per outbound webhook without a secretArn (letters and digits: valid base64)', () => {
      for (const name of ['support', 'supervisor']) {
        synthesised.template.hasResource('AWS::SecretsManager::Secret', {
          Properties: { Description: Match.stringLikeRegexp(`outbound webhook "${name}"`), GenerateSecretString: { ExcludePunctuation: true, PasswordLength: 48 } },
          DeletionPolicy: 'Retain',
        });
      }
    });
  });

  it('outputs the state machine ARNs by journey and the webhook secret ARNs by name', () => {
    const outputs = synthesised.template.toJSON().Outputs;

    expect(JSON.parse(renderText(outputs.JourneyStateMachineArns.Value))).toEqual(Object.fromEntries(journeyIdList.map((id) => [id, `<Ref:${machineOf(id)}>`])));
    expect(Object.keys(JSON.parse(renderText(outputs.OutboundWebhookSecretArns.Value)))).toEqual(['support', 'supervisor']);
  });
});

describe('Rapport with custom journey props', () => {
  const supportSecretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rapport/support-webhook-AbC123';
  const smsIdentity = 'arn:aws:sms-voice:eu-west-1:123456789012:phone-number/phone-0123456789abcdef';
  const { template } = synthRapport(
    {
      stageName: 'prod',
      email: { fromAddress: 'news@mail.shop.example', configurationSet: 'rapport-tracking' },
      sms: { originationIdentity: smsIdentity },
      outboundWebhooks: { support: { url: 'https://desk.example/hooks', secretArn: supportSecretArn }, supervisor: { url: 'https://desk.example/escalate' } },
      sendPolicy: { frequencyCap: 5, frequencyCapMaxDelayDays: 2, quietHours: false, defaultTimeZone: 'Europe/Berlin' },
    },
    { bundle: false },
  );
  const stepId = functionIdByService(template, JOURNEYS.step.serviceName);
  const statementsOf = (action: string) => functionPolicyStatements(template, stepId).filter((s) => asList(s.Action).includes(action));

  it('passes the configuration set, the SMS identity, the given webhook secret and the send policy to the step function', () => {
    const env = renderedEnvironment(template, stepId);
    const supervisorSecret = onlyLogicalId(template, 'AWS::SecretsManager::Secret', { Properties: { Description: Match.stringLikeRegexp('outbound webhook "supervisor"') } });

    expect(env).toMatchObject({
      [JOURNEY_ENV.EMAIL_FROM_ADDRESS]: 'news@mail.shop.example',
      [JOURNEY_ENV.EMAIL_CONFIGURATION_SET]: 'rapport-tracking',
      [JOURNEY_ENV.SMS_ORIGINATION_IDENTITY]: smsIdentity,
      [JOURNEY_ENV.SEND_POLICY]: JSON.stringify({ frequencyCap: 5, frequencyWindowDays: 7, frequencyCapMaxDelayDays: 2, quietHours: null, defaultTimeZone: 'Europe/Berlin' }),
    });
    expect(JSON.parse(env[JOURNEY_ENV.OUTBOUND_WEBHOOK_TARGETS] ?? 'null')).toEqual({
      support: { url: 'https://desk.example/hooks', secretArn: supportSecretArn },
      supervisor: { url: 'https://desk.example/escalate', secretArn: `<Ref:${supervisorSecret}>` },
    });
    expect(sendPolicyFrom(env)).toEqual({ consentMode: 'opt-out', frequencyCap: 5, frequencyWindowDays: 7, frequencyCapMaxDelayDays: 2, defaultTimeZone: 'Europe/Berlin' });
  });

  it('generates no secret for a webhook that names its own, and may read that one', () => {
    expect(Object.keys(template.findResources('AWS::SecretsManager::Secret', { Properties: { Description: Match.stringLikeRegexp('outbound webhook "support"') } }))).toEqual([]);
    expect(asList(statementsOf('secretsmanager:GetSecretValue')[0]?.Resource)).toContainEqual(supportSecretArn);
  });

  it('may send email from the sender with the configuration set, and SMS from the origination identity only', () => {
    const configurationSet = {
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ses:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':configuration-set/rapport-tracking']],
    };
    const [ses] = statementsOf('ses:SendEmail');

    expect(asList(ses?.Resource).map(renderText)).toEqual([
      'arn:<Ref:AWS::Partition>:ses:<Ref:AWS::Region>:<Ref:AWS::AccountId>:identity/news@mail.shop.example',
      'arn:<Ref:AWS::Partition>:ses:<Ref:AWS::Region>:<Ref:AWS::AccountId>:identity/mail.shop.example',
      renderText(configurationSet),
    ]);
    expect(statementsOf('sms-voice:SendTextMessage')).toEqual([{ Effect: 'Allow', Action: 'sms-voice:SendTextMessage', Resource: smsIdentity }]);
  });
});

describe('journeys from another folder', () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'rapport-journeys-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /** A folder with the repository's journeys (or none), plus `extra` files. */
  function journeysDirWith(extra: Record<string, string>, options: { samples?: boolean } = {}): string {
    const dir = mkdtempSync(path.join(scratch, 'journeys-'));
    if (options.samples !== false) for (const id of journeyIdsIn(JOURNEYS_DIR)) copyFileSync(path.join(JOURNEYS_DIR, `${id}.yaml`), path.join(dir, `${id}.yaml`));
    for (const [name, text] of Object.entries(extra)) writeFileSync(path.join(dir, name), text);
    return dir;
  }
  const build = (props: Partial<RapportProps>) => () =>
    new Rapport(new Stack(newApp({ bundle: false }), 'Rapport-test'), 'Rapport', { stageName: 'test', configDir: TEST_CONFIG_DIR, ...TEST_DELIVERY, ...props });
  const thrown = (act: () => unknown): RapportPropsError => {
    try {
      act();
    } catch (error) {
      if (error instanceof RapportPropsError) return error;
      throw error;
    }
    throw new Error('expected synth to fail');
  };

  it('a new journey file is all a new journey needs: one more state machine, trigger rule, start grant and run-ended source', () => {
    const vipThanks = ['id: vip-thanks', 'name: VIP thanks', 'version: 1', 'trigger:', '  event: Tag Added', '  where: { tag: [vip] }', 'steps:', '  - id: thank', '    send: { channel: email, template: we-value-you }', ''].join('\n');
    const journeysDir = journeysDirWith({ 'vip-thanks.yaml': vipThanks });
    const { template } = synthRapport({ stageName: 'dev', journeysDir }, { bundle: false });
    const found = journeyIds(template);
    const newMachine = found.stateMachines.get('vip-thanks') as string;
    const starterRules = rulesTargeting(template, found.starter).map(([, rule]) => rule.Properties);
    const [runEnded] = rulesTargeting(template, found.runEnded).map(([, rule]) => rule.Properties);

    expect([...found.stateMachines.keys()].sort()).toEqual([...journeyIdsIn(JOURNEYS_DIR), 'vip-thanks'].sort());
    const derivedTriggers = [...compiledJourneys('step', journeysDir).values()].flatMap((journey) => journey.triggerPatterns).filter(isStarterPattern);
    expect(starterRules).toHaveLength(derivedTriggers.length);
    expect(starterRules.filter((rule) => rule.Description.includes('"vip-thanks"')).map((rule) => rule.EventPattern)).toEqual([
      { source: ['rapport.profile'], 'detail-type': ['Tag Added'], detail: { properties: { tag: ['vip'] } } },
    ]);
    // Named under the stage's prefix, which the run-ended rule and the start grant already cover.
    expect(template.toJSON().Resources[newMachine].Properties.StateMachineName).toBe('Rapport-dev_vip-thanks');
    expect(renderText(runEnded.EventPattern.detail.stateMachineArn[0].prefix)).toMatch(/:stateMachine:Rapport-dev_$/);
    expect(deployedDefinition(template, newMachine)).toEqual(
      compiledJourneys(`<GetAtt:${found.step}.Arn>`, journeysDir).get('vip-thanks')?.definition,
    );
  });

  it('a changed journey publishes a new version (its version resource changes); an unchanged one keeps its version as it is', () => {
    const welcome = readFileSync(path.join(JOURNEYS_DIR, 'welcome.yaml'), 'utf8');
    const before = synthRapport({ stageName: 'dev', journeysDir: journeysDirWith({}) }, { bundle: false }).template;
    // A step added and the version bumped, as `rapport plan` asks.
    const changedText = welcome.replace(/^version: (\d+)$/m, (_, v: string) => `version: ${Number(v) + 1}`);
    const changed = journeysDirWith({ 'welcome.yaml': `${changedText.trimEnd()}\n  - id: released-extra\n    wait: 1d\n` });
    const after = synthRapport({ stageName: 'dev', journeysDir: changed }, { bundle: false }).template;
    const versions = (template: Template) =>
      Object.fromEntries(
        Object.entries(template.findResources('AWS::StepFunctions::StateMachineVersion')).map(([id, resource]) => [
          String(template.toJSON().Resources[resource.Properties.StateMachineArn.Ref].Properties.StateMachineName),
          { id, resource },
        ]),
      );
    const [was, now] = [versions(before), versions(after)];

    // Same logical id, another description: CloudFormation replaces it, publishing a new version (the old one retained).
    expect(now['Rapport-dev_welcome']?.id).toBe(was['Rapport-dev_welcome']?.id);
    expect(now['Rapport-dev_welcome']?.resource.Properties.Description).not.toBe(was['Rapport-dev_welcome']?.resource.Properties.Description);
    expect(now['Rapport-dev_welcome']?.resource.Properties.Description).toMatch(/^journey welcome v\d+ definition sha256:/);
    for (const id of ['complaint-follow-up', 'win-back']) expect(now[`Rapport-dev_${id}`]).toEqual(was[`Rapport-dev_${id}`]);
  });

  it("records each journey's current version as a release when asked (the CDK app), and bundles every kept version but the current one", () => {
    const releasesDir = path.join(mkdtempSync(path.join(scratch, 'releases-')), 'releases');
    // Prepare: version 1 of every journey recorded, as `cdk synth` of the repository's journeys does.
    const first = synthRapport({ stageName: 'dev', journeysDir: journeysDirWith({}), releasesDir, recordReleases: true }, { bundle: false });
    expect([...first.stack.rapport.recordedReleases].sort()).toEqual(['complaint-follow-up/v1', 'complaint-follow-up/v1/journey.json', 'welcome/v1', 'welcome/v1/journey.json', 'win-back/v1', 'win-back/v1/journey.json']);
    expect(readdirSync(path.join(releasesDir, 'welcome', 'v1')).sort()).toEqual(['first-order-offer.email.liquid', 'getting-started.email.liquid', 'journey.json', 'welcome.email.liquid', 'welcome.fr.email.liquid']);
    // Current versions only: nothing to bundle yet, no older version for the router.
    expect(first.stack.rapport.journeyReleaseBundles).toEqual([]);
    expect(first.stack.rapport.retiredJourneys).toEqual([]);

    // Act: welcome bumped to version 2; synth without recording (the tests', a construct user's default).
    const welcome = readFileSync(path.join(JOURNEYS_DIR, 'welcome.yaml'), 'utf8').replace(/^version: 1$/m, 'version: 2');
    const second = synthRapport({ stageName: 'dev', journeysDir: journeysDirWith({ 'welcome.yaml': welcome }), releasesDir }, { bundle: false });

    // Assess: welcome's version 1 goes into the step function's bundle, under releases/; nothing was recorded.
    expect(second.stack.rapport.recordedReleases).toEqual([]);
    expect(readdirSync(path.join(releasesDir, 'welcome'))).toEqual(['v1']);
    expect(second.stack.rapport.journeyReleaseBundles).toEqual([
      { folder: 'releases/welcome/v1', files: ['first-order-offer.email.liquid', 'getting-started.email.liquid', 'welcome.email.liquid', 'welcome.fr.email.liquid'].map((name) => path.join(releasesDir, 'welcome', 'v1', name)) },
    ]);
    // And its spec goes into journeys.json's `retired`: version 1's runs in flight end by version 1's goals and exits.
    expect(second.stack.rapport.retiredJourneys).toEqual([journeySpec(first.stack.rapport.journeys.find((j) => j.id === 'welcome')!)]);
  });

  it('a template changed without a version bump: a new Step Functions version whose steps carry the new release, recorded beside the first, whose files the bundle keeps for the runs in flight', () => {
    const releasesDir = path.join(mkdtempSync(path.join(scratch, 'releases-')), 'releases');
    const templatesDir = path.join(mkdtempSync(path.join(scratch, 'templates-')), 'templates');
    cpSync(TEMPLATES_DIR, templatesDir, { recursive: true });
    const journeysDir = journeysDirWith({});
    const first = synthRapport({ stageName: 'dev', journeysDir, templatesDir, releasesDir, recordReleases: true }, { bundle: false });
    const releaseOf = (s: typeof first) => s.stack.rapport.journeys.find((j) => j.id === 'welcome')!.release!;
    const versionDescription = (s: typeof first) =>
      Object.values(s.template.findResources('AWS::StepFunctions::StateMachineVersion')).map((r) => String(r.Properties.Description)).find((d) => d.startsWith('journey welcome '));
    expect(releaseOf(first)).toBe(releaseOfFolder(path.join(releasesDir, 'welcome', 'v1')));

    // Act: the second email's subject changed in place, version 1 still.
    const file = path.join(templatesDir, 'getting-started.email.liquid');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^Subject: .*$/m, 'Subject: Changed in place'));
    const second = synthRapport({ stageName: 'dev', journeysDir, templatesDir, releasesDir, recordReleases: true }, { bundle: false });

    // Assess: another release in every step payload of welcome (so another definition, so another published version)...
    const release = releaseOf(second);
    expect(release).not.toBe(releaseOf(first));
    const payloads = Object.values(second.stack.rapport.journeys.find((j) => j.id === 'welcome')!.definition.States).flatMap((state) => {
      const payload = (state as { Parameters?: { Payload?: { release?: string } } }).Parameters?.Payload;
      return payload ? [payload.release] : [];
    });
    expect(payloads.length).toBeGreaterThan(3);
    expect(new Set(payloads)).toEqual(new Set([release]));
    expect(versionDescription(second)).not.toBe(versionDescription(first));
    // ... recorded beside the first (to commit), the other journeys untouched ...
    expect(second.stack.rapport.recordedReleases).toEqual([`welcome/v1@${release}`]);
    expect(readFileSync(path.join(releasesDir, 'welcome', `v1@${release}`, 'getting-started.email.liquid'), 'utf8')).toMatch(/^Subject: Changed in place$/m);
    expect(releaseOfFolder(path.join(releasesDir, 'welcome', `v1@${release}`))).toBe(release);
    // ... and the bundle carries version 1's first files (runs in flight render them), not the current release's.
    expect(second.stack.rapport.journeyReleaseBundles.map((b) => b.folder)).toEqual(['releases/welcome/v1']);
    // Synth again: nothing new to record.
    expect(synthRapport({ stageName: 'dev', journeysDir, templatesDir, releasesDir, recordReleases: true }, { bundle: false }).stack.rapport.recordedReleases).toEqual([]);
  });

  it("takes releases from beside the journeys folder by default, never the repository's releases of like-named journeys", () => {
    const welcome = readFileSync(path.join(JOURNEYS_DIR, 'welcome.yaml'), 'utf8').replace(/^version: 1$/m, 'version: 2');
    const folder = mkdtempSync(path.join(scratch, 'project-'));
    mkdirSync(path.join(folder, 'journeys.d'));
    writeFileSync(path.join(folder, 'journeys.d', 'welcome.yaml'), welcome);
    // No releases beside it: the repository's workflows/releases/welcome/v1 is not this project's.
    const without = synthRapport({ stageName: 'dev', journeysDir: path.join(folder, 'journeys.d') }, { bundle: false });
    expect(without.stack.rapport.journeyReleaseBundles).toEqual([]);

    mkdirSync(path.join(folder, 'releases', 'welcome', 'v1'), { recursive: true });
    writeFileSync(path.join(folder, 'releases', 'welcome', 'v1', 'welcome.email.liquid'), 'Subject: v1\n\nHello');
    const beside = synthRapport({ stageName: 'dev', journeysDir: path.join(folder, 'journeys.d') }, { bundle: false });
    expect(beside.stack.rapport.journeyReleaseBundles).toEqual([{ folder: 'releases/welcome/v1', files: [path.join(folder, 'releases', 'welcome', 'v1', 'welcome.email.liquid')] }]);
  });

  it('the definition alone decides: the same journey synthesized twice gives the same version resource', () => {
    const dir = journeysDirWith({});
    const once = synthRapport({ stageName: 'dev', journeysDir: dir }, { bundle: false }).template.findResources('AWS::StepFunctions::StateMachineVersion');
    const twice = synthRapport({ stageName: 'dev', journeysDir: dir }, { bundle: false }).template.findResources('AWS::StepFunctions::StateMachineVersion');
    expect(twice).toEqual(once);
  });

  it('refuses a broken journey file at synth with file:line:column messages, so nothing deploys', () => {
    const broken = ['id: broken', 'name: Broken', 'version: 1', 'trigger: { event: Signed Up }', 'steps:', '  - id: hello', '    send: { channel: email, template: no-such-template }', ''].join('\n');
    const journeysDir = journeysDirWith({ 'broken.yaml': broken });
    const error = thrown(build({ journeysDir }));

    expect(error.message).toMatch(/^Invalid props for Rapport-test\/Rapport:\n/);
    expect(error.problems).toEqual([
      expect.stringMatching(new RegExp(`^${path.join(journeysDir, 'broken.yaml').replaceAll('/', '\\/')}:7:\\d+ steps\\[0\\]\\.send\\.template: no email template "no-such-template"`)),
    ]);
  });

  it('refuses a journey naming a topic topics.yaml does not declare, as rapport validate does, naming the field', () => {
    const promo = ['id: promo', 'name: Promo', 'version: 1', 'topic: promos', 'trigger: { event: Signed Up }', 'steps:', '  - id: hello', '    send: { channel: email, template: we-value-you }', ''].join('\n');
    const journeysDir = journeysDirWith({ 'promo.yaml': promo }, { samples: false });

    expect(thrown(build({ journeysDir })).problems).toEqual([
      expect.stringMatching(new RegExp(`^${path.join(journeysDir, 'promo.yaml').replaceAll('/', '\\/')}:4:8 topic: unknown topic "promos": expected one declared in topics\\.yaml \\("newsletter", "offers", "product-updates"\\)`)),
    ]);
  });

  it('refuses a journey reading a tag nothing produces, as rapport validate does; a manual tag declared in tags.yaml deploys', () => {
    const vipThanks = ['id: vip-thanks', 'name: VIP thanks', 'version: 1', 'trigger:', '  event: Tag Added', '  where: { tag: [vipp] }', 'steps:', '  - id: thank', '    send: { channel: email, template: we-value-you }', ''].join('\n');
    const journeysDir = journeysDirWith({ 'vip-thanks.yaml': vipThanks }, { samples: false });

    expect(thrown(build({ journeysDir })).problems).toEqual([
      expect.stringMatching(new RegExp(`^${path.join(journeysDir, 'vip-thanks.yaml').replaceAll('/', '\\/')}:6:18 trigger\\.where\\.tag\\[0\\]: unknown tag "vipp" \\(did you mean "vip"\\?\\)`)),
    ]);

    const configDir = mkdtempSync(path.join(scratch, 'config-'));
    for (const file of PROFILE.configFiles) copyFileSync(path.join(TEST_CONFIG_DIR, file), path.join(configDir, file));
    appendFileSync(path.join(configDir, 'tags.yaml'), '\nmanualTags:\n  - { name: vipp, description: VIPs marked in the CRM }\n');
    expect(build({ journeysDir, configDir })).not.toThrow();
  });

  it('refuses a journey sending SMS when no origination identity is configured, at the channel', () => {
    const templatesDir = mkdtempSync(path.join(scratch, 'templates-'));
    for (const name of readdirSync(TEMPLATES_DIR)) copyFileSync(path.join(TEMPLATES_DIR, name), path.join(templatesDir, name));
    writeFileSync(path.join(templatesDir, 'reminder.sms.liquid'), 'Your basket misses you.\n');
    const text = ['id: sms-reminder', 'name: SMS reminder', 'version: 1', 'trigger: { event: Cart Abandoned }', 'steps:', '  - id: remind', '    send:', '      channel: sms', '      template: reminder', ''].join('\n');
    const journeysDir = journeysDirWith({ 'sms-reminder.yaml': text }, { samples: false });

    expect(thrown(build({ journeysDir, templatesDir })).problems).toEqual([
      `${path.join(journeysDir, 'sms-reminder.yaml')}:8:16 steps[0].send.channel: sends SMS, but this Rapport has no SMS origination identity: set the sms prop (sms.originationIdentity; with the app: npx cdk deploy -c smsOriginationIdentity=arn:aws:sms-voice:<region>:<account>:phone-number/<id>), or send on another channel`,
    ]);
    expect(build({ journeysDir, templatesDir, sms: { originationIdentity: 'arn:aws:sms-voice:eu-west-1:123456789012:pool/pool-0123' } })).not.toThrow();
  });

  it('refuses a journey posting to an outbound webhook that is not configured', () => {
    const { problems } = thrown(build({ outboundWebhooks: { support: TEST_DELIVERY.outboundWebhooks.support } }));

    expect(problems).toEqual([
      expect.stringMatching(/complaint-follow-up\.yaml:\d+:\d+ steps\[3\]\.webhook\.target: unknown outbound webhook "supervisor": expected one of "support"$/),
    ]);
  });

  it('deploys no state machine and no run-ended rule from an empty journeys folder', () => {
    const journeysDir = journeysDirWith({}, { samples: false });
    const { template } = synthRapport({ stageName: 'dev', journeysDir }, { bundle: false });
    const found = journeyIds(template);

    expect(found.stateMachines.size).toBe(0);
    expect(rulesTargeting(template, found.starter)).toEqual([]);
    expect(rulesTargeting(template, found.runEnded)).toEqual([]);
    expect(functionPolicyStatements(template, found.starter).flatMap((s) => asList(s.Action)).filter((a) => a.startsWith('states:'))).toEqual([]);
  });

  it('names a journeysDir or templatesDir that is not a folder', () => {
    const missing = path.join(scratch, 'missing');
    mkdirSync(path.join(scratch, 'empty'), { recursive: true });

    expect(thrown(build({ journeysDir: missing, templatesDir: missing })).problems).toEqual([
      `journeysDir ${missing} is not a folder; it must hold the journey files (*.yaml)`,
      `templatesDir ${missing} is not a folder; it must hold the message templates (<template>.<channel>.liquid)`,
    ]);
  });
});

describe('Rapport rejects impossible delivery props at synth', () => {
  const build = (props: Partial<RapportProps>) => () =>
    new Rapport(new Stack(newApp({ bundle: false }), 'Rapport-test'), 'Rapport', { stageName: 'test', configDir: TEST_CONFIG_DIR, ...TEST_DELIVERY, ...props });

  it.each<[string, Partial<RapportProps>, RegExp]>([
    ['no email', { email: undefined as never }, /email is required/],
    ['a sender with a display name', { email: { fromAddress: 'Shop <news@shop.example>' } }, /email\.fromAddress "Shop <news@shop\.example>" must be a plain email address/],
    ['a sender without a domain', { email: { fromAddress: 'news' } }, /email\.fromAddress "news" must be a plain email address/],
    ['a configuration set with a space', { email: { fromAddress: 'a@shop.example', configurationSet: 'my set' } }, /email\.configurationSet "my set" must be an SES configuration set name/],
    ['an SMS identity that is a phone number', { sms: { originationIdentity: '+4915112345678' } }, /sms\.originationIdentity "\+4915112345678" must be the ARN of an End User Messaging phone number, pool or sender id/],
    ['a webhook name in camel case', { outboundWebhooks: { ...TEST_DELIVERY.outboundWebhooks, helpDesk: { url: 'https://desk.example' } } }, /outboundWebhooks "helpDesk": names are kebab-case/],
    ['a plain-http webhook', { outboundWebhooks: { ...TEST_DELIVERY.outboundWebhooks, support: { url: 'http://desk.example' } } }, /outboundWebhooks "support"\.url "http:\/\/desk\.example" must be an https:\/\/ URL/],
    [
      'a partial secret ARN',
      { outboundWebhooks: { ...TEST_DELIVERY.outboundWebhooks, support: { url: 'https://desk.example', secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:support' } } },
      /outboundWebhooks "support"\.secretArn .* must be the complete ARN of a Secrets Manager secret/,
    ],
    ['a negative frequency cap', { sendPolicy: { frequencyCap: -1 } }, /sendPolicy\.frequencyCap -1 must be a whole number of marketing messages, 0 or more/],
    ['a frequency window of 0 days', { sendPolicy: { frequencyWindowDays: 0 } }, /sendPolicy\.frequencyWindowDays 0 must be a whole number of days from 1 to 365/],
    ['a frequency-cap delay of 31 days', { sendPolicy: { frequencyCapMaxDelayDays: 31 } }, /sendPolicy\.frequencyCapMaxDelayDays 31 must be a whole number of days from 0 to 30/],
    ['quiet hours at 25:00', { sendPolicy: { quietHours: { start: '25:00', end: '08:00' } } }, /sendPolicy\.quietHours .* must be \{ start, end \} with times of day/],
    ['quiet hours of no length', { sendPolicy: { quietHours: { start: '08:00', end: '08:00' } } }, /sendPolicy\.quietHours starts and ends at 08:00; use false/],
    ['an unknown time zone', { sendPolicy: { defaultTimeZone: 'Mars/Olympus' } }, /sendPolicy\.defaultTimeZone "Mars\/Olympus" must be an IANA time zone/],
  ])('rejects %s', (_case, props, message) => {
    expect(build(props)).toThrow(RapportPropsError);
    expect(build(props)).toThrow(message);
  });
});
