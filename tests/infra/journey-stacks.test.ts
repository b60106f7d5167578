import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { afterAll, describe, expect, it } from 'vitest';
import { journeyStackId, journeyStackIndex } from '../../infra/cdk/journeys';
import { Rapport } from '../../infra/cdk/rapport';
import { JOURNEYS_DIR, newApp, synthRapport, TEST_CONFIG_DIR, TEST_DELIVERY } from './synth';

/**
 * `journeyStacks`: where each journey's own resources live. One stack (the default) is the layout every
 * deployment has had, to the logical id; more put them in nested stacks, each journey by its id alone, so
 * that no other journey's arrival or departure moves it (a move replaces its state machine).
 */

const scratch = mkdtempSync(path.join(tmpdir(), 'rapport-journey-stacks-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A folder of one-step journeys with these ids. */
function journeysFolder(ids: readonly string[]): string {
  const dir = mkdtempSync(path.join(scratch, 'journeys-'));
  for (const id of ids) {
    const text = [`id: ${id}`, `name: Generated ${id}`, 'version: 1', 'trigger:', '  event: Signed Up', 'steps:', '  - id: hello', '    send: { channel: email, template: we-value-you }', ''];
    writeFileSync(path.join(dir, `${id}.yaml`), text.join('\n'));
  }
  return dir;
}

/** The nested stack (construct id) holding each journey's state machine, by journey id. */
function placement(journeysDir: string, journeyStacks: number): Map<string, string> {
  const { stack } = synthRapport({ stageName: 'dev', journeysDir, journeyStacks }, { bundle: false });
  const placed = new Map<string, string>();
  for (const [id, nested] of stack.rapport.journeyNestedStacks) {
    for (const machine of Object.values(Template.fromStack(nested).findResources('AWS::StepFunctions::StateMachine'))) {
      placed.set(String(machine.Properties.StateMachineName).slice('Rapport-dev_'.length), id);
    }
  }
  return placed;
}

describe('placement of journeys in nested stacks', () => {
  const others = ['welcome', 'win-back', 'complaint-follow-up', 'birthday', 'cart-reminder', 'review-request'];

  it('a journey stays in its nested stack when another journey is added or removed', () => {
    // Prepare
    const before = journeysFolder(['vip-upgrade', ...others]);
    const added = journeysFolder(['vip-upgrade', ...others, 'new-arrival']);
    const removed = journeysFolder(['vip-upgrade', ...others.slice(1)]);
    // Act
    const [b, a, r] = [placement(before, 3), placement(added, 3), placement(removed, 3)];
    // Assess
    expect(b.size).toBe(others.length + 1);
    expect(new Set(b.values()).size).toBeGreaterThan(1); // spread, not all in one
    for (const [journeyId, stackId] of b) {
      if (a.has(journeyId)) expect(a.get(journeyId), journeyId).toBe(stackId);
      if (r.has(journeyId)) expect(r.get(journeyId), journeyId).toBe(stackId);
    }
    expect(a.get('new-arrival')).toBe(journeyStackId(journeyStackIndex('new-arrival', 3)));
  });

  it('one more stack moves only the journeys it wins, all into it; about 1 in n + 1', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `journey-${i}`);
    for (const stacks of [2, 3, 4, 7]) {
      const moved = ids.filter((id) => journeyStackIndex(id, stacks + 1) !== journeyStackIndex(id, stacks));

      for (const id of moved) expect(journeyStackIndex(id, stacks + 1)).toBe(stacks);
      expect(moved.length / ids.length).toBeGreaterThan(0.7 / (stacks + 1));
      expect(moved.length / ids.length).toBeLessThan(1.3 / (stacks + 1));
    }
  });

  it('spreads journeys evenly enough over the stacks', () => {
    const ids = Array.from({ length: 4000 }, (_, i) => `journey-${i}`);
    const counts = [0, 0, 0, 0];
    for (const id of ids) counts[journeyStackIndex(id, 4)]! += 1;

    for (const count of counts) expect(count).toBeGreaterThan(900);
  });
});

describe('journeyStacks 1, the default: the layout of one stack', () => {
  const dir = path.join(scratch, 'repository-journeys');
  cpSync(JOURNEYS_DIR, dir, { recursive: true });
  const omitted = synthRapport({ stageName: 'dev', journeysDir: dir }, { bundle: false });
  const one = synthRapport({ stageName: 'dev', journeysDir: dir, journeyStacks: 1 }, { bundle: false });

  /** The template without the code assets' keys, which name a temporary folder of each synth. */
  const withoutCodeKeys = (template: Template) =>
    JSON.parse(JSON.stringify(template.toJSON()), (key, value: unknown) => (key === 'S3Key' ? '<asset>' : value)) as unknown;

  it('is the template without the prop: the same logical ids, resources and properties', () => {
    expect(one.stack.rapport.journeyNestedStacks.size).toBe(0);
    expect(withoutCodeKeys(one.template)).toEqual(withoutCodeKeys(omitted.template));
  });

  it("keeps every journey's state machine, version, alias, trigger rule and alarm in the stack itself, no nested stack", () => {
    const journeys = omitted.stack.rapport.journeys.length;
    omitted.template.resourceCountIs('AWS::CloudFormation::Stack', 0);
    expect(Object.keys(omitted.template.findResources('AWS::StepFunctions::StateMachine', { Properties: { StateMachineName: Match.stringLikeRegexp('^Rapport-dev_') } }))).toHaveLength(journeys);
    omitted.template.resourceCountIs('AWS::StepFunctions::StateMachineVersion', journeys);
    omitted.template.resourceCountIs('AWS::StepFunctions::StateMachineAlias', journeys);
    expect(Object.keys(omitted.template.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmDescription: Match.stringLikeRegexp('executions of journey') } }))).toHaveLength(journeys);
  });
});

describe('journeyStacks 3 with the repository journeys', () => {
  const { stack, template } = synthRapport({ stageName: 'dev', journeyStacks: 3 }, { bundle: false });
  const nested = [...stack.rapport.journeyNestedStacks.values()].map((n) => Template.fromStack(n));

  it("passes the shared role, log group, step function and alarm topic in, and names the journeys' ARNs out for the dashboard", () => {
    for (const t of nested) {
      t.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        RoleArn: { Ref: Match.stringLikeRegexp('JourneyStateMachineRole') },
        LoggingConfiguration: { Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { Ref: Match.stringLikeRegexp('JourneyLogs') } } }] },
      });
      t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmActions: [{ Ref: Match.stringLikeRegexp('AlarmTopic') }] });
    }
    // The nested stacks are created after the role and its policy (Step Functions checks log delivery permissions).
    const stacks = Object.values(template.findResources('AWS::CloudFormation::Stack')) as { DependsOn?: string[] }[];
    expect(stacks.length).toBe(nested.length);
    for (const s of stacks) expect(s.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/JourneyStateMachineRole/)]));
  });

  it('the starter and the consumer wait for the nested stacks (their code names every journey alias)', () => {
    const functions = template.findResources('AWS::Lambda::Function', {
      Properties: { Description: Match.stringLikeRegexp('enrols customers|folds customer events') },
    }) as Record<string, { DependsOn?: string[] }>;
    expect(Object.keys(functions)).toHaveLength(2);
    for (const fn of Object.values(functions)) {
      expect(fn.DependsOn?.filter((id) => id.includes('JourneyStack'))).toHaveLength(nested.length);
    }
  });
});

describe('journeyStacks 2 with a customer-managed key', () => {
  it("encrypts the nested stacks' state machines with the parent's key, passed in", () => {
    const stack = new Stack(newApp({ bundle: false }), 'Rapport-kms', { env: { region: 'eu-west-1' } });
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const rapport = new Rapport(stack, 'Rapport', { stageName: 'kms', configDir: TEST_CONFIG_DIR, ...TEST_DELIVERY, encryptionKey: key, journeyStacks: 2 });
    Template.fromStack(stack); // synthesizes: no cyclic reference between the stacks

    expect(rapport.journeyNestedStacks.size).toBeGreaterThan(0);
    for (const nested of rapport.journeyNestedStacks.values()) {
      Template.fromStack(nested).allResourcesProperties('AWS::StepFunctions::StateMachine', {
        EncryptionConfiguration: { Type: 'CUSTOMER_MANAGED_KMS_KEY', KmsKeyId: { Ref: Match.stringLikeRegexp('Key') } },
      });
    }
  });
});
