import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { afterAll, describe, expect, it } from 'vitest';
import { JOURNEYS } from '../../infra/cdk/defaults';
import { journeyStackId, journeyStackIndex } from '../../infra/cdk/journeys';
import { RapportPropsError } from '../../infra/cdk/errors';
import { Rapport } from '../../infra/cdk/rapport';
import { functionIdByService, JOURNEYS_DIR, newApp, onlyLogicalId, renderText, synthRapport, TEST_CONFIG_DIR, TEST_DELIVERY } from './synth';

/**
 * The largest deployment synth allows (`JOURNEYS.maxJourneys` journeys with long
 * ids) measured against AWS's documented limits, as numbers: what CloudFormation,
 * EventBridge, Lambda, IAM and SQS would refuse at deploy time, refused here first.
 */

const scratch = mkdtempSync(path.join(tmpdir(), 'rapport-scale-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A folder of `count` one-step journeys whose ids have `idLength` characters. */
function generatedJourneys(count: number, idLength = 40, trigger: readonly string[] = ['  event: Signed Up']): { dir: string; ids: string[] } {
  const dir = mkdtempSync(path.join(scratch, 'journeys-'));
  const ids = Array.from({ length: count }, (_, i) => `journey-${String(i).padStart(3, '0')}-`.padEnd(idLength, 'x'));
  for (const id of ids) {
    const text = [`id: ${id}`, `name: Generated ${id}`, 'version: 1', 'trigger:', ...trigger, 'steps:', '  - id: hello', '    send: { channel: email, template: we-value-you }', ''];
    writeFileSync(path.join(dir, `${id}.yaml`), text.join('\n'));
  }
  return { dir, ids };
}

/**
 * A CloudFormation value as it would be deployed: pseudo parameters as the longest
 * usual values, any other reference or attribute as 100 characters (a long ARN or URL).
 */
function deployed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(deployed);
  if (value === null || typeof value !== 'object') return value;
  const v = value as Record<string, unknown>;
  if ('Ref' in v) {
    const pseudo: Record<string, string> = { 'AWS::Partition': 'aws-us-gov', 'AWS::Region': 'ap-southeast-5', 'AWS::AccountId': '123456789012', 'AWS::URLSuffix': 'amazonaws.com' };
    return pseudo[String(v.Ref)] ?? 'r'.repeat(100);
  }
  if ('Fn::GetAtt' in v) return 'a'.repeat(100);
  if ('Fn::Join' in v) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => String(deployed(part))).join(separator);
  }
  return Object.fromEntries(Object.entries(v).map(([key, inner]) => [key, deployed(inner)]));
}

/** IAM counts a policy's characters without white space. */
const policyChars = (document: unknown) => JSON.stringify(deployed(document)).replace(/\s/g, '').length;

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;
const ofType = (resources: Resources, type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);

/** Every figure the deploy limits apply to, measured on a template. */
function measure(template: Template) {
  const json = template.toJSON() as { Resources: Resources };
  const resources = json.Resources;
  const environments = ofType(resources, 'AWS::Lambda::Function').map(([id, fn]) => {
    const variables = deployed((fn.Properties.Environment as { Variables?: unknown } | undefined)?.Variables ?? {}) as Record<string, string>;
    // Lambda: the keys and values of all variables together.
    return [id, Object.entries(variables).reduce((sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(String(value)), 0)] as const;
  });
  const patterns = ofType(resources, 'AWS::Events::Rule').map(([id, rule]) => [id, JSON.stringify(deployed(rule.Properties.EventPattern)).length] as const);
  const inlinePolicies = ofType(resources, 'AWS::IAM::Role').map(([roleId, role]) => {
    const own = ((role.Properties.Policies as { PolicyDocument: unknown }[] | undefined) ?? []).map((policy) => policyChars(policy.PolicyDocument));
    const attached = ofType(resources, 'AWS::IAM::Policy')
      .filter(([, policy]) => (policy.Properties.Roles as { Ref: string }[]).some((role) => role.Ref === roleId))
      .map(([, policy]) => policyChars(policy.Properties.PolicyDocument));
    return [roleId, [...own, ...attached].reduce((a, b) => a + b, 0)] as const;
  });
  const queuePolicies = ofType(resources, 'AWS::SQS::QueuePolicy').map(([id, policy]) => {
    const document = policy.Properties.PolicyDocument as { Statement: unknown[] };
    return { id, bytes: Buffer.byteLength(JSON.stringify(deployed(document))), statements: document.Statement.length };
  });
  const permissionsByFunction = new Map<string, number>();
  for (const [, permission] of ofType(resources, 'AWS::Lambda::Permission')) {
    const fn = JSON.stringify(permission.Properties.FunctionName);
    permissionsByFunction.set(fn, (permissionsByFunction.get(fn) ?? 0) + JSON.stringify(deployed(permission.Properties)).length);
  }
  return {
    resources: Object.keys(resources).length,
    // As synth writes the file cdk deploy uploads: indented by one space.
    templateBytes: Buffer.byteLength(JSON.stringify(json, undefined, 1)),
    outputs: Object.keys((json as { Outputs?: object }).Outputs ?? {}).length,
    parameters: Object.keys((json as { Parameters?: object }).Parameters ?? {}).length,
    managedPolicies: ofType(resources, 'AWS::IAM::ManagedPolicy').length,
    environments,
    patterns,
    inlinePolicies,
    queuePolicies,
    functionPolicyChars: [...permissionsByFunction.values()],
    stateMachineNames: ofType(resources, 'AWS::StepFunctions::StateMachine').map(([, machine]) => String(machine.Properties.StateMachineName)),
  };
}

/** AWS's documented limits the measures are held to. */
const LIMITS = {
  /** CloudFormation: resources per stack. */
  resources: 500,
  /** CloudFormation: a template uploaded to S3 (cdk deploy uploads it), 1 MB. */
  templateBytes: 1_000_000,
  /** CloudFormation: outputs and parameters per stack (a nested stack's are how it shares with its parent). */
  outputs: 200,
  parameters: 200,
  /** Lambda: all environment variables of a function, 4 KB. */
  environmentBytes: 4096,
  /** EventBridge: an event pattern's characters. */
  patternChars: 2048,
  /** IAM: a role's inline policies together, characters without white space. */
  roleInlinePolicyChars: 10_240,
  /** SQS: a queue policy's bytes and statements. */
  queuePolicyBytes: 8192,
  queuePolicyStatements: 20,
  /** Lambda: a function's resource-based policy, 20 KB. */
  functionPolicyBytes: 20_480,
  /** Step Functions: a state machine's name. */
  stateMachineName: 80,
} as const;

function expectWithinLimits(figures: ReturnType<typeof measure>) {
  expect(figures.resources).toBeLessThanOrEqual(LIMITS.resources);
  expect(figures.templateBytes).toBeLessThanOrEqual(LIMITS.templateBytes);
  expect(figures.outputs).toBeLessThanOrEqual(LIMITS.outputs);
  expect(figures.parameters).toBeLessThanOrEqual(LIMITS.parameters);
  // CDK moves what does not fit into a role's policy to managed policies: none may be needed.
  expect(figures.managedPolicies).toBe(0);
  for (const [id, bytes] of figures.environments) expect(bytes, `environment of ${id}`).toBeLessThanOrEqual(LIMITS.environmentBytes);
  for (const [id, chars] of figures.patterns) expect(chars, `event pattern of ${id}`).toBeLessThanOrEqual(LIMITS.patternChars);
  for (const [id, chars] of figures.inlinePolicies) expect(chars, `inline policies of ${id}`).toBeLessThanOrEqual(LIMITS.roleInlinePolicyChars);
  for (const policy of figures.queuePolicies) {
    expect(policy.bytes, `queue policy ${policy.id}`).toBeLessThanOrEqual(LIMITS.queuePolicyBytes);
    expect(policy.statements, `queue policy ${policy.id}`).toBeLessThanOrEqual(LIMITS.queuePolicyStatements);
  }
  for (const chars of figures.functionPolicyChars) expect(chars).toBeLessThanOrEqual(LIMITS.functionPolicyBytes);
  for (const name of figures.stateMachineNames) expect(name.length).toBeLessThanOrEqual(LIMITS.stateMachineName);
}

describe(`${JOURNEYS.maxJourneys} journeys with 40-character ids: within every deploy limit`, () => {
  const { dir, ids } = generatedJourneys(JOURNEYS.maxJourneys);

  it('default props: resources, template size, variables, patterns, role policies, the dead-letter queue policy', () => {
    const { template } = synthRapport({ stageName: 'dev', journeysDir: dir }, { bundle: false });
    const figures = measure(template);

    expect(figures.stateMachineNames.sort()).toEqual([...ids.map((id) => `Rapport-dev_${id}`), 'Rapport-dev-broadcasts'].sort());
    expectWithinLimits(figures);
    // What grows with a journey a customer event triggers is a state machine, its version, its alias and an alarm.
    expect(figures.resources).toBeLessThan(150 + 4 * JOURNEYS.maxJourneys);
    console.info(
      `scale: ${JOURNEYS.maxJourneys} journeys: ${figures.resources} resources, template ${figures.templateBytes} bytes, ` +
        `largest environment ${Math.max(...figures.environments.map(([, b]) => b))} bytes, largest pattern ${Math.max(...figures.patterns.map(([, c]) => c))} chars, ` +
        `largest role policies ${Math.max(...figures.inlinePolicies.map(([, c]) => c))} chars, queue policy ${JSON.stringify(figures.queuePolicies.map(({ bytes, statements }) => ({ bytes, statements })))}`,
    );
  });

  it("derived-event triggers (a rule each, the most a journey adds): resources, the starter's variables, the run-ended pattern", () => {
    const derived = generatedJourneys(JOURNEYS.maxJourneys, 40, ['  event: Tag Added', '  where: { tag: [vip] }']);
    const { template } = synthRapport({ stageName: 'dev', journeysDir: derived.dir }, { bundle: false });
    const figures = measure(template);
    const resources = (template.toJSON() as { Resources: Resources }).Resources;
    const starter = Object.entries(resources).find(([, r]) => r.Type === 'AWS::Lambda::Function' && String(r.Properties.Description).includes('enrols customers'))?.[0];
    const runEnded = Object.entries(resources).find(([, r]) => r.Type === 'AWS::Events::Rule' && String(r.Properties.Description).includes('ends of journey executions'))?.[0];
    const starterBytes = figures.environments.find(([id]) => id === starter)?.[1] ?? Infinity;
    const runEndedChars = figures.patterns.find(([id]) => id === runEnded)?.[1] ?? Infinity;

    expectWithinLimits(figures);
    expect(ofType(resources, 'AWS::StepFunctions::StateMachineVersion')).toHaveLength(JOURNEYS.maxJourneys);
    expect(ofType(resources, 'AWS::StepFunctions::StateMachineAlias')).toHaveLength(JOURNEYS.maxJourneys);
    // Starting through aliases adds nothing that grows with the journeys: one ARN prefix, one name-prefix pattern.
    expect(starterBytes).toBeLessThan(512);
    expect(runEndedChars).toBeLessThan(512);
    console.info(`scale: ${JOURNEYS.maxJourneys} journeys with derived-event triggers: ${figures.resources} resources, starter environment ${starterBytes} bytes, run-ended pattern ${runEndedChars} chars`);
  });

  it('with a customer-managed key, an SMS identity and the longest stage name 40-character ids allow (31: 80-character names)', () => {
    const stack = new Stack(newApp({ bundle: false }), 'Rapport-kms', { env: { region: 'eu-west-1' } });
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const stageName = `s${'x'.repeat(30)}`;
    new Rapport(stack, 'Rapport', {
      stageName,
      configDir: TEST_CONFIG_DIR,
      ...TEST_DELIVERY,
      journeysDir: dir,
      sms: { originationIdentity: 'arn:aws:sms-voice:eu-west-1:123456789012:pool/pool-0123' },
      encryptionKey: key,
    });
    const template = Template.fromStack(stack);
    const figures = measure(template);

    expectWithinLimits(figures);
    // The key policy: KMS allows 32 KB.
    const keyPolicy = (template.toJSON() as { Resources: Resources }).Resources[stack.getLogicalId(key.node.defaultChild as never)]?.Properties.KeyPolicy;
    expect(policyChars(keyPolicy)).toBeLessThanOrEqual(32_768);
  });
});

describe(`${JOURNEYS.maxJourneysInNestedStacks} journeys with 40-character ids in nested stacks (journeyStacks 4): within every deploy limit`, () => {
  // Derived-event triggers: a rule each, the most a journey adds.
  const { dir, ids } = generatedJourneys(JOURNEYS.maxJourneysInNestedStacks, 40, ['  event: Tag Added', '  where: { tag: [vip] }']);
  const { stack, template } = synthRapport({ stageName: 'dev', journeysDir: dir, journeyStacks: 4 }, { bundle: false });
  const nested = [...stack.rapport.journeyNestedStacks].map(([id, nestedStack]) => ({ id, nestedStack, template: Template.fromStack(nestedStack) }));
  const machinesOf = (t: Template) => Object.values(t.findResources('AWS::StepFunctions::StateMachine')).map((machine) => String(machine.Properties.StateMachineName));

  it('the parent and each nested stack: resources, template size, outputs, parameters, variables, patterns, role policies', () => {
    const parent = measure(template);
    expectWithinLimits(parent);
    const figures = nested.map(({ id, template: nestedTemplate }) => ({ id, figures: measure(nestedTemplate) }));
    for (const { figures: f } of figures) expectWithinLimits(f);

    // The parent keeps no journey's state machine, version, alias or alarm; it keeps every trigger rule, the starter
    // with its one ARN prefix and the run-ended rule with its one name prefix.
    expect(machinesOf(template)).toEqual(['Rapport-dev-broadcasts']);
    template.resourceCountIs('AWS::StepFunctions::StateMachineAlias', 0);
    template.resourceCountIs('AWS::CloudFormation::Stack', nested.length);
    expect(Object.keys(template.findResources('AWS::Events::Rule', { Properties: { Description: Match.stringLikeRegexp('starts journey') } }))).toHaveLength(ids.length);
    const starter = functionIdByService(template, JOURNEYS.starter.serviceName);
    const runEnded = onlyLogicalId(template, 'AWS::Events::Rule', { Properties: { Description: Match.stringLikeRegexp('ends of journey executions') } });
    expect(parent.environments.find(([id]) => id === starter)?.[1]).toBeLessThan(512);
    expect(parent.patterns.find(([id]) => id === runEnded)?.[1]).toBeLessThan(512);
    // Each nested stack: a state machine, its version, its alias and its alarm per journey, nothing else.
    for (const { template: nestedTemplate } of nested) {
      const count = machinesOf(nestedTemplate).length;
      expect(count).toBeGreaterThan(0);
      expect(count).toBeLessThanOrEqual(JOURNEYS.maxJourneysPerNestedStack);
      expect(Object.keys(nestedTemplate.toJSON().Resources as object)).toHaveLength(4 * count);
    }
    console.info(
      `scale: ${ids.length} journeys in ${nested.length} nested stacks: parent ${parent.resources} resources, ${parent.templateBytes} bytes, ${parent.outputs} outputs; ` +
        figures.map(({ id, figures: f }) => `${id} ${f.resources} resources, ${f.templateBytes} bytes, ${f.outputs} outputs, ${f.parameters} parameters`).join('; '),
    );
  });

  it("every journey's state machine, in the nested stack its id falls in, named Rapport-dev_<id> (80 characters at most)", () => {
    const placed = nested.flatMap(({ id, template: nestedTemplate }) => machinesOf(nestedTemplate).map((name) => [name.slice('Rapport-dev_'.length), id] as const));

    expect(placed.map(([journeyId]) => journeyId).sort()).toEqual([...ids].sort());
    for (const [journeyId, stackId] of placed) expect(stackId).toBe(journeyStackId(journeyStackIndex(journeyId, 4)));
  });

  it("the dashboard's alarm widgets show every alarm, at most 100 each", () => {
    const body = JSON.parse(renderText(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]?.Properties.DashboardBody)) as {
      widgets: { type: string; properties: { alarms?: string[] } }[];
    };
    const widgets = body.widgets.filter((widget) => widget.type === 'alarm').map((widget) => widget.properties.alarms?.length ?? 0);

    expect(widgets.reduce((a, b) => a + b, 0)).toBe(ids.length + 3);
    for (const alarms of widgets) expect(alarms).toBeLessThanOrEqual(100);
  });
});

describe('synth refuses what would not deploy, naming the limit', () => {
  const build = (props: { journeysDir: string; stageName?: string; journeyStacks?: number }) => () =>
    new Rapport(new Stack(newApp({ bundle: false }), 'Rapport-test'), 'Rapport', { stageName: 'test', configDir: TEST_CONFIG_DIR, ...TEST_DELIVERY, ...props });
  const problems = (act: () => unknown): readonly string[] => {
    try {
      act();
    } catch (error) {
      if (error instanceof RapportPropsError) return error.problems;
      throw error;
    }
    throw new Error('expected synth to fail');
  };

  it(`${JOURNEYS.maxJourneys + 1} journeys: the count, the limit and why`, () => {
    const { dir } = generatedJourneys(JOURNEYS.maxJourneys + 1);
    expect(problems(build({ journeysDir: dir }))).toEqual([
      `journeysDir ${dir} has ${JOURNEYS.maxJourneys + 1} journeys, at most ${JOURNEYS.maxJourneys} deploy in one stack: each journey adds a state machine, its version and alias, a trigger rule and an alarm to the stack, and CloudFormation allows 500 resources per stack; ` +
        `set journeyStacks to 2 or more (the prop journeyStacks, or -c journeyStacks=<n> with the app; docs/operations.md, "More than 70 journeys") to deploy up to ${JOURNEYS.maxJourneysInNestedStacks} in nested stacks`,
    ]);
  });

  it(`${JOURNEYS.maxJourneysInNestedStacks + 1} journeys in nested stacks: the count, the limit and why, whatever the number of stacks`, () => {
    const { dir } = generatedJourneys(JOURNEYS.maxJourneysInNestedStacks + 1);
    for (const journeyStacks of [4, JOURNEYS.maxJourneyStacks]) {
      expect(problems(build({ journeysDir: dir, journeyStacks }))).toEqual([
        `journeysDir ${dir} has ${JOURNEYS.maxJourneysInNestedStacks + 1} journeys, at most ${JOURNEYS.maxJourneysInNestedStacks} deploy, in any number of nested stacks (journeyStacks ${journeyStacks}): ` +
          'the most measured against every deploy limit (the parent stack\'s dashboard and outputs grow with the journeys, and each derived-event trigger is a rule on the bus, 300 by default)',
      ]);
    }
  });

  it(`more than ${JOURNEYS.maxJourneysPerNestedStack} journeys falling in one nested stack: the stack, the count, the limit and the prop to raise`, () => {
    // Journeys whose ids fall in JourneyStack1 of 2 (placement follows from the id alone).
    const candidates = generatedJourneys(0);
    const inFirst: string[] = [];
    for (let i = 0; inFirst.length <= JOURNEYS.maxJourneysPerNestedStack; i++) {
      const id = `first-${String(i).padStart(4, '0')}`;
      if (journeyStackIndex(id, 2) === 0) inFirst.push(id);
    }
    for (const id of inFirst) {
      const text = [`id: ${id}`, `name: Generated ${id}`, 'version: 1', 'trigger:', '  event: Signed Up', 'steps:', '  - id: hello', '    send: { channel: email, template: we-value-you }', ''];
      writeFileSync(path.join(candidates.dir, `${id}.yaml`), text.join('\n'));
    }

    expect(problems(build({ journeysDir: candidates.dir, journeyStacks: 2 }))).toEqual([
      `journeysDir ${candidates.dir}: ${JOURNEYS.maxJourneysPerNestedStack + 1} journeys fall in nested stack JourneyStack1 of journeyStacks 2 (a journey's stack follows from its id), at most ${JOURNEYS.maxJourneysPerNestedStack} fit in one: ` +
        'each adds four resources and two outputs, and CloudFormation allows 500 resources and 200 outputs per stack; raise journeyStacks (the prop journeyStacks, or -c journeyStacks=<n> with the app; docs/operations.md, "More than 70 journeys")',
    ]);
    // Three stacks spread the same journeys.
    expect(build({ journeysDir: candidates.dir, journeyStacks: 3 })).not.toThrow();
  });

  it.each([0, 1.5, JOURNEYS.maxJourneyStacks + 1])('journeyStacks %s: what it must be', (journeyStacks) => {
    const { dir } = generatedJourneys(1);
    expect(problems(build({ journeysDir: dir, journeyStacks }))).toEqual([
      `journeyStacks ${journeyStacks} must be a whole number from 1 (every journey in the stack itself) to ${JOURNEYS.maxJourneyStacks} (nested stacks holding the journeys' own resources)`,
    ]);
  });

  it('a nested stack over 1 MB: journeys as large as complaint-follow-up in 2 stacks, the stack, its size, the limit and the prop to raise', () => {
    const dir = mkdtempSync(path.join(scratch, 'large-nested-'));
    const sample = readFileSync(path.join(JOURNEYS_DIR, 'complaint-follow-up.yaml'), 'utf8');
    for (let i = 0; i < 90; i++) {
      const id = `complaint-${String(i).padStart(2, '0')}`;
      writeFileSync(path.join(dir, `${id}.yaml`), sample.replace(/^id: complaint-follow-up$/m, `id: ${id}`));
    }
    expect(() => synthRapport({ stageName: 'dev', journeysDir: dir, journeyStacks: 2 }, { bundle: false })).toThrow(
      /the template of nested stack JourneyStack\d of Rapport-dev is \d+ bytes, CloudFormation accepts 1000000 \(1 MB\); each journey's state machine definition is in it: raise journeyStacks \(now 2; the prop, or -c journeyStacks=<n> with the app\)/,
    );
  });

  it('a template over 1 MB: 70 journeys as large as complaint-follow-up (16 KB of ASL, about 22 KB of template each), the size and the limit', () => {
    const dir = mkdtempSync(path.join(scratch, 'large-'));
    const sample = readFileSync(path.join(JOURNEYS_DIR, 'complaint-follow-up.yaml'), 'utf8');
    for (let i = 0; i < 70; i++) {
      const id = `complaint-${String(i).padStart(2, '0')}`;
      writeFileSync(path.join(dir, `${id}.yaml`), sample.replace(/^id: complaint-follow-up$/m, `id: ${id}`));
    }
    expect(() => synthRapport({ stageName: 'dev', journeysDir: dir }, { bundle: false })).toThrow(
      /the template of stack Rapport-dev is \d+ bytes, CloudFormation accepts 1000000 \(1 MB\); each journey's state machine definition is in it \(70 journeys fit only if they are small\): deploy fewer or shorter journeys, or set journeyStacks/,
    );
  });

  it("a state machine name over Step Functions' 80 characters: the journey, the name and how long an id may be", () => {
    // Rapport-<32-character stage>_ is 41 characters and leaves 39; the journey schema allows ids of 60.
    const stageName = `s${'x'.repeat(31)}`;
    const { dir, ids } = generatedJourneys(2, 40);
    const long = generatedJourneys(1, 39);

    const found = problems(build({ journeysDir: dir, stageName }));
    expect(found).toEqual(
      ids.map((id) =>
        expect.stringMatching(
          new RegExp(
            `^${path.join(dir, `${id}.yaml`).replaceAll('/', '\\/')}:1:5 id: names the state machine "Rapport-${stageName}_${id}" \\(81 characters\\), but Step Functions allows 80: with stage "${stageName}", a journey id may have at most 39 characters$`,
          ),
        ),
      ),
    );
    // One character shorter fits.
    expect(build({ journeysDir: long.dir, stageName })).not.toThrow();
  });
});
