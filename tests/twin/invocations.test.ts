/**
 * The twin authorises the services' invocations of the functions at run time (issue 13), as AWS does before a
 * function runs: EventBridge's rules and API Gateway's routes by the function's resource-based policy
 * (`AWS::Lambda::Permission`, the rule's or route's ARN as `aws:SourceArn`), the state machines' Task states and
 * the sweep's schedule by the role the service assumes (its trust policy, then its policies). A permission or
 * grant missing from the template fails the scenario the way AWS fails it: the event goes to the rule's
 * dead-letter queue and the function never runs; the route answers 500; the Task fails with
 * `Lambda.AWSLambdaException` (retried, then caught); the schedule's sweep does not run.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Engine, EngineOptions } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { laterOn, startTestEngine, TEST_SECRET, TEST_WRITE_KEY } from '../helpers/engine';
import { post, signedRequest } from '../helpers/webhook';
import { outboxFor, runsOf, runToEnd } from '../helpers/journeys';
import { templateIam, type TwinIam } from './iam';
import { Deployed, type CfnTemplate } from './template';

const template = (): CfnTemplate => inject('twinTemplate');
const START = '2026-03-02T10:00:00Z';
const identify = (userId: string) => ({ type: 'identify', userId, traits: { email: `${userId}@example.com`, name: userId } });
const track = (userId: string, event: string, properties: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({ type: 'track', userId, event, properties, ...extra });
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const engines: Engine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.stop()));
});

async function engineWith(iam: TwinIam, options: Partial<EngineOptions> = {}) {
  const clock = new VirtualClock(START);
  const engine = await startTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT', ...options, authorize: iam.authorize });
  engines.push(engine);
  return { engine, clock, api: client(engine) };
}

/** A copy of the template without the resources whose logical ids `drop` picks. */
function without(drop: (id: string, type: string) => boolean): CfnTemplate {
  const copy = structuredClone(template());
  const dropped = Object.entries(copy.Resources).filter(([id, r]) => drop(id, r.Type));
  expect(dropped.length, 'the resources to drop').toBeGreaterThan(0);
  for (const [id] of dropped) delete copy.Resources[id];
  return copy;
}

/** A copy of the template where the policies of the role `roleFragment` names lose the statements allowing `action`. */
function roleWithout(roleFragment: string, action: string): CfnTemplate {
  const copy = structuredClone(template());
  let removed = 0;
  for (const [id, r] of Object.entries(copy.Resources)) {
    if (r.Type !== 'AWS::IAM::Policy' || !id.includes(roleFragment)) continue;
    const document = r.Properties?.PolicyDocument as { Statement: Array<{ Action: string | string[] }> };
    const kept = document.Statement.filter((s) => ![s.Action].flat().includes(action));
    removed += document.Statement.length - kept.length;
    document.Statement = kept;
  }
  expect(removed, `${action} in ${roleFragment}'s policies`).toBeGreaterThan(0);
  return copy;
}

describe('the twin authorises each invocation by the template', () => {
  it('every invoker the engine wires is in the template and allowed: rules, routes, state machines, the schedule', async () => {
    const iam = templateIam(new Deployed(template()));
    const invoke = (functionName: string, invoker: Parameters<typeof iam.authorize>[0] extends infer C ? (C extends { service: 'lambda'; invoker: infer I } ? I : never) : never) =>
      iam.authorize({ functionName, service: 'lambda', operation: 'InvokeFunction', invoker });
    expect(await invoke('rapport-profile', { rule: 'profile-consumer' })).toBeUndefined();
    expect(await invoke('rapport-ses-feedback', { rule: 'ses-feedback' })).toBeUndefined();
    expect(await invoke('rapport-run-ended', { rule: 'JourneyRunEndedRule' })).toBeUndefined();
    expect(await invoke('rapport-starter', { rule: 'journey-win-back-0' })).toBeUndefined();
    expect(await invoke('rapport-ingest', { route: { api: 'ingest', method: 'POST', path: '/v1/batch' } })).toBeUndefined();
    expect(await invoke('rapport-customers', { route: { api: 'customers', method: 'DELETE', path: '/v1/customers/{id}' } })).toBeUndefined();
    expect(await invoke('rapport-broadcasts', { route: { api: 'customers', method: 'POST', path: '/v1/broadcasts' } })).toBeUndefined();
    expect(await invoke('rapport-steps', { stateMachine: 'welcome' })).toBeUndefined();
    expect(await invoke('rapport-broadcast-page', { stateMachine: 'broadcasts' })).toBeUndefined();
    expect(await invoke('rapport-sweep', { schedule: 'SweepSchedule' })).toBeUndefined();
    expect(iam.decisions.filter((d) => d.invoker !== undefined).every((d) => d.allowed)).toBe(true);
    // The wiring itself is checked: an invoker pointing at another function is the engine's mistake, not a denial.
    await expect(invoke('rapport-starter', { rule: 'profile-consumer' })).rejects.toThrow(/the engine's rule profile-consumer invokes rapport-starter, but the template's \w+ targets/);
    await expect(invoke('rapport-steps', { stateMachine: 'broadcasts' })).rejects.toThrow(/invokes no rapport-steps/);
    await expect(invoke('rapport-ingest', { route: { api: 'ingest', method: 'DELETE', path: '/v1/batch' } })).rejects.toThrow(/no route DELETE \/v1\/batch/);
  });

  it("a rule's permission missing: EventBridge cannot invoke the consumer, the event is dead-lettered and never applied", async () => {
    const iam = templateIam(new Deployed(without((id, type) => type === 'AWS::Lambda::Permission' && id.startsWith('RapportProfileConsumerRule'))));
    const t = await engineWith(iam);
    expect((await t.api.send([identify('perm-rule'), track('perm-rule', 'Signed Up')])).accepted).toHaveLength(2);
    await t.clock.run();
    expect((await t.api.get('/v1/customers/perm-rule')).status).toBe(404);
    const letters = t.engine.deadLetters.filter((l) => l.functionName === 'rapport-profile');
    expect(letters).toHaveLength(2);
    expect(letters[0]!.error).toMatch(/^EventBridge could not invoke rapport-profile: events\.amazonaws\.com is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:[\w-]+:\d+:function:\S+: no statement of its resource-based policy allows it for arn:aws:events:[\w-]+:\d+:rule\//);
    expect(letters.map((l) => l.rule)).toEqual(['profile-consumer', 'profile-consumer']);
    expect(iam.decisions).toContainEqual(expect.objectContaining({ functionName: 'rapport-profile', invoker: 'rule:profile-consumer', allowed: false }));
  });

  it("the starter's permission for the bus's rules missing: the sweep's Customer Became Inactive starts no win-back, it is dead-lettered", async () => {
    const lapsed = async (iam: TwinIam) => {
      const t = await engineWith(iam);
      // Ordered 89 days ago: dormant a day on, when the sweep publishes Customer Became Inactive (win-back's trigger, a derived event: through the starter).
      await t.api.send([identify('perm-starter'), track('perm-starter', 'Order Completed', { orderId: 'ps-1', revenue: 20, currency: 'EUR' }, { timestamp: new Date(Date.parse(START) - 89 * DAY).toISOString() })]);
      await laterOn(t.clock, t)(DAY + HOUR);
      await t.engine.sweep();
      await laterOn(t.clock, t)(HOUR);
      return { t, runs: (await runsOf(t.engine, 'perm-starter')).map((r) => r.journeyId) };
    };
    const control = await lapsed(templateIam(new Deployed(template())));
    expect(control.runs).toContain('win-back');
    const iam = templateIam(new Deployed(without((id, type) => type === 'AWS::Lambda::Permission' && id.startsWith('RapportJourneyStarterFunctionAllowTriggerRules'))));
    const { t, runs } = await lapsed(iam);
    expect(runs).not.toContain('win-back');
    // The customer's events still apply (the consumer's permission stands); only the starter's deliveries are refused.
    expect((await t.api.customer('perm-starter')).stats).toMatchObject({ orderCount: 1 });
    expect(t.engine.deadLetters.filter((l) => l.functionName === 'rapport-starter').map((l) => [l.rule, l.event['detail-type']])).toEqual([['journey-win-back-0', 'Customer Became Inactive']]);
  });

  it("a route's permission missing: that route answers 500 as HTTP API does, the function never runs; the other routes serve", async () => {
    const iam = templateIam(new Deployed(without((id, type) => type === 'AWS::Lambda::Permission' && id.startsWith('RapportHttpApiPOSTv1events'))));
    const t = await engineWith(iam);
    const refused = await post(`${t.engine.url}/v1/events`, signedRequest(TEST_SECRET, { batch: [identify('perm-route')] }));
    expect([refused.status, refused.json]).toEqual([500, { message: 'Internal Server Error' }]);
    await t.clock.run();
    expect(t.engine.bus.log).toHaveLength(0);
    expect((await t.api.get('/v1/customers/perm-route')).status).toBe(404);
    // /v1/identify has its own permission (a Segment source's write key).
    const segment = await fetch(`${t.engine.url}/v1/identify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${TEST_WRITE_KEY}:`).toString('base64')}` },
      body: JSON.stringify(identify('perm-route')),
    });
    expect(segment.status).toBe(202);
    await t.clock.run();
    expect((await t.api.get('/v1/customers/perm-route')).status).toBe(200);
    expect(iam.decisions).toContainEqual(expect.objectContaining({ functionName: 'rapport-ingest', invoker: 'route:ingest POST /v1/events', allowed: false }));
    expect(iam.decisions).toContainEqual(expect.objectContaining({ functionName: 'rapport-customers', invoker: 'route:customers GET /v1/customers/{id}', allowed: true }));
  });

  it("the journeys' role without lambda:InvokeFunction: each Task fails with Lambda.AWSLambdaException, retried, then caught; nothing is sent", async () => {
    const iam = templateIam(new Deployed(roleWithout('JourneyStateMachineRole', 'lambda:InvokeFunction')));
    // Count the state machine's attempts to invoke the step (the twin decides once; Step Functions asks each time).
    let attempts = 0;
    const counted: TwinIam = {
      ...iam,
      authorize: (call) => {
        if (call.service === 'lambda' && 'stateMachine' in call.invoker) attempts++;
        return iam.authorize(call);
      },
    };
    const t = await engineWith(counted);
    await t.api.send([identify('perm-sfn'), track('perm-sfn', 'Signed Up')]);
    const run = await runToEnd(t.clock, t.engine, 'perm-sfn', 'welcome');
    expect(run.status).toBe('failed');
    expect(outboxFor(t.engine, 'perm-sfn')).toEqual([]);
    const execution = t.engine.journeys.sfn.executions.get(run.executionName)!;
    expect(execution.states).toEqual(['send-welcome', 'send-welcome.failed', 'Failed']);
    // The journeys' Retry lists Lambda.AWSLambdaException: 1 attempt and 8 retries, then the Catch; the failure's
    // own Task (which records it) invokes the step too, and fails alike.
    expect(attempts).toBe(2 * 9);
    expect(iam.decisions).toContainEqual(expect.objectContaining({ functionName: 'rapport-steps', invoker: 'stateMachine:welcome', allowed: false }));
  });

  it("a role that does not trust the service: Step Functions cannot assume it", async () => {
    const copy = structuredClone(template());
    const roleId = Object.keys(copy.Resources).find((id) => copy.Resources[id]!.Type === 'AWS::IAM::Role' && id.startsWith('RapportJourneyStateMachineRole'))!;
    const trust = copy.Resources[roleId]!.Properties!.AssumeRolePolicyDocument as { Statement: Array<{ Principal: { Service: string } }> };
    for (const s of trust.Statement) s.Principal.Service = 'lambda.amazonaws.com';
    const iam = templateIam(new Deployed(copy));
    const denial = await iam.authorize({ functionName: 'rapport-steps', service: 'lambda', operation: 'InvokeFunction', invoker: { stateMachine: 'welcome' } });
    expect(denial?.message).toMatch(/^states\.amazonaws\.com is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::\d+:role\/\S+ \(the role does not trust it\)$/);
  });

  it("the schedule's role without lambda:InvokeFunction: the daily sweep does not run, so nobody turns at-risk with time", async () => {
    const stageAfterTwoDays = async (iam: TwinIam) => {
      const t = await engineWith(iam, { sweepEveryMs: DAY });
      // Last order 44 days ago: at-risk from day 45 (segmentation.config.yaml), which only the sweep applies.
      await t.api.send([identify('perm-sweep'), track('perm-sweep', 'Order Completed', { orderId: 'pw-1', revenue: 20, currency: 'EUR' }, { timestamp: new Date(Date.parse(START) - 44 * DAY).toISOString() })]);
      await laterOn(t.clock, t)(2 * DAY + HOUR);
      return (await t.api.customer('perm-sweep')).lifecycleStage;
    };
    expect(await stageAfterTwoDays(templateIam(new Deployed(template())))).toBe('at-risk');
    const iam = templateIam(new Deployed(roleWithout('SweepScheduleRole', 'lambda:InvokeFunction')));
    expect(await stageAfterTwoDays(iam)).not.toBe('at-risk');
    expect(iam.decisions).toContainEqual(expect.objectContaining({ functionName: 'rapport-sweep', invoker: 'schedule:SweepSchedule', allowed: false }));
  });
});
