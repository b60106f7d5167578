/**
 * Step Functions calls failing on the embedded engine (StartExecution throttled,
 * StopExecution refused): the Lambda that made the call fails, its event is
 * redelivered, and the retry finishes the job — a customer enters once, a goal
 * stops the run, and no message goes out after the goal even while the
 * execution cannot be stopped.
 */
import { ExecutionDoesNotExist } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../../infra/embedded/engine';
import type { StepFunctionsCall } from '../../../infra/embedded/faults';
import { VirtualClock } from '../../../infra/embedded/virtual-time';
import { client } from '../../helpers/client';
import { startTestEngine } from '../../helpers/engine';
import { messagesOf, outboxFor, runsOf } from '../../helpers/journeys';

/** Which customer's calls fail: a plan per customer, given the call and how many of its kind that customer has had. */
const plans = new Map<string, (call: StepFunctionsCall, nth: number) => Error | undefined>();
const calls = new Map<string, number>();
const throttled = () => Object.assign(new Error('Rate exceeded (injected)'), { name: 'ThrottlingException' });

let engine: Engine;
let api: ReturnType<typeof client>;
// Virtual time: the Lambda retries (50 ms, 100 ms) are timers on it; a minute covers them all, well inside the welcome's one-day wait.
const clock = new VirtualClock('2026-03-02T10:00:00Z');
const aMinute = () => clock.run(clock.now().getTime() + 60_000);
beforeAll(async () => {
  engine = await startTestEngine({
    clock,
    sendPolicy: { quietHours: undefined },
    sweepEveryMs: 0,
    logLevel: 'SILENT',
    faults: {
      stepFunctions: (call) => {
        if (call.operation === 'SendTaskSuccess') return undefined;
        // StartExecution names the customer; a stop is looked up through the execution it stops.
        const customer = call.customerId ?? engine.journeys.sfn.executions.get(call.target)?.input.customerId;
        if (customer === undefined) return undefined;
        const key = `${customer}/${call.operation}`;
        const nth = (calls.get(key) ?? 0) + 1;
        calls.set(key, nth);
        return plans.get(customer)?.(call, nth);
      },
    },
  });
  api = client(engine);
});
afterAll(() => engine.stop());

const signUp = (id: string) => [
  { type: 'identify', userId: id, traits: { email: `${id}@example.com`, name: id } },
  { type: 'track', userId: id, event: 'Signed Up', messageId: `${id}-signed-up` },
];
const order = (id: string) => ({ type: 'track', userId: id, event: 'Order Completed', messageId: `${id}-order`, properties: { orderId: `${id}-o1`, revenue: 20, currency: 'EUR' } });
const stats = async () => ((await api.get('/v1/journeys/welcome/stats')).json as unknown as { counters: Record<string, number> }).counters;

describe('StartExecution throttled', () => {
  it('the redelivered trigger starts the recorded run: the customer enters once and gets one welcome', async () => {
    plans.set('sf-start', (call, nth) => (call.operation === 'StartExecution' && nth === 1 ? throttled() : undefined));
    const before = (await stats()).entered ?? 0;
    await api.send(signUp('sf-start'));
    await aMinute();

    expect(calls.get('sf-start/StartExecution')).toBe(2);
    const runs = await runsOf(engine, 'sf-start');
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ journeyId: 'welcome', status: 'running' });
    expect(engine.journeys.sfn.executions.get(runs[0]!.executionName)?.status).toBe('RUNNING');
    expect(outboxFor(engine, 'sf-start').filter((m) => m.step === 'send-welcome')).toHaveLength(1);
    expect((await stats()).entered).toBe(before + 1);
    expect(engine.deadLetters).toEqual([]);
  });
});

describe('StopExecution refused when the goal lands', () => {
  it('once: the redelivered goal event stops the run it converted; nothing is sent after the order', async () => {
    plans.set('sf-stop', (call, nth) => (call.operation === 'StopExecution' && nth === 1 ? throttled() : undefined));
    await api.send(signUp('sf-stop'));
    await aMinute();
    expect(outboxFor(engine, 'sf-stop').map((m) => m.step)).toEqual(['send-welcome']);
    const [run] = await runsOf(engine, 'sf-stop');
    await api.send(order('sf-stop'));
    await aMinute();

    expect(engine.journeys.sfn.executions.get(run!.executionName)?.status).toBe('ABORTED');
    expect(calls.get('sf-stop/StopExecution')).toBe(2);
    expect((await runsOf(engine, 'sf-stop'))[0]).toMatchObject({ status: 'converted' });
    expect(outboxFor(engine, 'sf-stop').map((m) => m.step)).toEqual(['send-welcome']);
    expect(engine.deadLetters).toEqual([]);
  });

  it('for good (Step Functions down past every retry): the execution runs on, but each later send is skipped as run-ended', async () => {
    plans.set('sf-down', (call) => (call.operation === 'StopExecution' ? throttled() : undefined));
    await api.send(signUp('sf-down'));
    await aMinute();
    expect(outboxFor(engine, 'sf-down').map((m) => m.step)).toEqual(['send-welcome']);
    const [run] = await runsOf(engine, 'sf-down');
    await api.send(order('sf-down'));
    await aMinute();

    // The goal event dead-letters after its retries (the alarm on the DLQ tells an operator) ...
    expect(engine.deadLetters.map((d) => (d.event.detail as { messageId?: string }).messageId)).toContain('sf-down-order');
    expect(calls.get('sf-down/StopExecution')).toBe(3);
    // ... the run reads converted, and the execution that could not be stopped sends nothing more.
    expect((await runsOf(engine, 'sf-down'))[0]).toMatchObject({ status: 'converted' });
    const execution = engine.journeys.sfn.executions.get(run!.executionName)!;
    await clock.run(undefined, () => execution.status !== 'RUNNING');
    expect(execution.status).not.toBe('RUNNING');
    expect(outboxFor(engine, 'sf-down').map((m) => m.step)).toEqual(['send-welcome']);
    expect((await messagesOf(engine, 'sf-down')).map((m) => [m.stepId, m.status, m.reason])).toEqual(
      expect.arrayContaining([
        ['send-welcome', 'sent', undefined],
        ['send-getting-started', 'skipped', 'run-ended'],
      ]),
    );
    engine.deadLetters.length = 0;
  });
});

describe('StartExecution never went through (throttled past every retry): the run is recorded, its execution does not exist', () => {
  it('StopExecution answers ExecutionDoesNotExist as AWS does; a goal ends the run and DELETE erases, neither dead-letters', async () => {
    plans.set('sf-never', (call) => (call.operation === 'StartExecution' ? throttled() : undefined));
    await api.send(signUp('sf-never'));
    await aMinute();
    expect(engine.deadLetters.map((d) => (d.event.detail as { messageId?: string }).messageId)).toContain('sf-never-signed-up');
    engine.deadLetters.length = 0;
    const [run] = await runsOf(engine, 'sf-never');
    expect(run).toMatchObject({ journeyId: 'welcome', status: 'running' });
    expect(engine.journeys.sfn.executions.has(run!.executionName)).toBe(false);

    // The stand-in is honest: the SDK's own error, as the SFN client throws it.
    const stop = engine.journeys.sfn.stop('welcome', run!.executionName, 'probe');
    await expect(stop).rejects.toBeInstanceOf(ExecutionDoesNotExist);
    await expect(stop).rejects.toMatchObject({ name: 'ExecutionDoesNotExist', $fault: 'client', $metadata: { httpStatusCode: 400 } });

    // The goal's router tolerates it: the run reads converted, and the order is not dead-lettered.
    await api.send([order('sf-never')]);
    await aMinute();
    expect((await runsOf(engine, 'sf-never'))[0]).toMatchObject({ status: 'converted' });
    expect(engine.deadLetters).toEqual([]);

    // Another customer in the same state is erased: DELETE answers 200 and erases everything.
    plans.set('sf-never-2', (call) => (call.operation === 'StartExecution' ? throttled() : undefined));
    await api.send(signUp('sf-never-2'));
    await aMinute();
    expect(engine.deadLetters.map((d) => (d.event.detail as { messageId?: string }).messageId)).toContain('sf-never-2-signed-up');
    engine.deadLetters.length = 0;
    expect((await runsOf(engine, 'sf-never-2'))[0]).toMatchObject({ status: 'running' });
    expect((await api.del('/v1/customers/sf-never-2')).status).toBe(200);
    expect((await api.get('/v1/customers/sf-never-2')).status).toBe(404);
  });
});
