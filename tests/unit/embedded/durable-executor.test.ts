/**
 * Durable executions of the embedded Step Functions: an execution suspended (the engine stopped or
 * died) is resumed by a new executor on the same folder, running the same definition from the state
 * it was in, with its Wait and callback deadline at their original due times, and a callback task's
 * step not invoked twice. On virtual time, so every instant is exact. And Waits of up to a year at
 * real time (Node timers hold 24.8 days).
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { ExecutionJournal } from '../../../infra/embedded/execution-journal';
import { LocalStepFunctions, type AslDefinition } from '../../../infra/embedded/step-functions';
import { VirtualClock } from '../../../infra/embedded/virtual-time';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const DAY = 86_400;
const FN = 'arn:aws:lambda:local:000000000000:function:steps';
const task = (action: string, next: string) => ({
  Type: 'Task',
  Resource: 'arn:aws:states:::lambda:invoke',
  Parameters: { FunctionName: FN, Payload: { action } },
  ResultSelector: { 'result.$': '$.Payload' },
  ResultPath: '$.last',
  Next: next,
});
const DEFINITION: AslDefinition = {
  StartAt: 'Hello',
  States: {
    Hello: task('hello', 'Pause'),
    Pause: { Type: 'Wait', Seconds: 30 * DAY, Next: 'Listen' },
    Listen: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: { FunctionName: FN, Payload: { action: 'listen', 'taskToken.$': '$$.Task.Token' } },
      ResultPath: '$.heard',
      TimeoutSeconds: 2 * DAY,
      Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.timeout', Next: 'Bye' }],
      Next: 'Bye',
    },
    Bye: task('bye', 'Done'),
    Done: { Type: 'Succeed' },
  },
};

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** An executor on `dataDir` and a virtual clock at `start`; records each step call with its instant (days after T0). */
function executor(dataDir: string, startDays: number, calls: string[], tokens: string[] = []) {
  const clock = new VirtualClock(T0 + startDays * DAY * 1000);
  const sfn = new LocalStepFunctions({
    timeScale: 1,
    now: () => clock.now(),
    virtual: clock,
    dataDir,
    invokeStep: async (payload) => {
      calls.push(`${String(payload.action)} +${(clock.now().getTime() - T0) / (DAY * 1000)}d`);
      if (typeof payload.taskToken === 'string') tokens.push(payload.taskToken);
      return { ok: true };
    },
  });
  sfn.register('j', DEFINITION);
  return { clock, sfn, at: (days: number) => T0 + days * DAY * 1000 };
}

describe('LocalStepFunctions with a data folder', () => {
  it('resumes a Wait and a callback timeout at their original due times, without invoking the callback step again', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rapport-sfn-'));
    dirs.push(dataDir);
    const calls: string[] = [];

    // Day 0: started; day 10: the engine stops in the middle of the 30-day Wait.
    const first = executor(dataDir, 0, calls);
    await first.sfn.start('j', 'run-1', { journeyId: 'j', customerId: 'c-1' } as never);
    await first.clock.run(first.at(10));
    await first.sfn.close();
    expect(calls).toEqual(['hello +0d']);

    // Day 12: a new engine. The Wait ends on day 30 (not day 42); the callback task begins and waits.
    const second = executor(dataDir, 12, calls);
    expect(second.sfn.resume()).toBe(1);
    await second.clock.run(second.at(31));
    await second.sfn.close();
    expect(calls).toEqual(['hello +0d', 'listen +30d']);

    // Day 31.5: another engine. The callback's 2-day timeout comes on day 32 (not 33.5), and its step is not invoked again.
    const third = executor(dataDir, 31.5, calls);
    expect(third.sfn.resume()).toBe(1);
    await third.clock.run();
    await third.sfn.idle();
    expect(calls).toEqual(['hello +0d', 'listen +30d', 'bye +32d']);
    const execution = third.sfn.executions.get('run-1')!;
    expect(execution.status).toBe('SUCCEEDED');
    // Each state counted once across the three engines (a resume enters its state again, not counted twice).
    expect(execution.states).toEqual(['Hello', 'Pause', 'Listen', 'Bye', 'Done']);

    // Ended executions are kept (status, for the API) with no input naming the customer.
    const fourth = executor(dataDir, 40, calls);
    expect(fourth.sfn.resume()).toBe(0);
    expect(fourth.sfn.executions.get('run-1')).toMatchObject({ status: 'SUCCEEDED', states: ['Hello', 'Pause', 'Listen', 'Bye', 'Done'] });
    await fourth.sfn.close();
    expect(readFileSync(join(dataDir, 'executions', 'journal.ndjson'), 'utf8')).not.toContain('c-1');
    expect(await fourth.sfn.start('j', 'run-1', { journeyId: 'j', customerId: 'c-1' } as never)).toBe('exists');
  });

  it('resumes a callback task on its saved token: sendTaskSuccess after the restart goes on with the output', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rapport-sfn-'));
    dirs.push(dataDir);
    const calls: string[] = [];
    const tokens: string[] = [];
    const first = executor(dataDir, 0, calls, tokens);
    await first.sfn.start('j', 'run-2', { journeyId: 'j', customerId: 'c-2' } as never);
    await first.clock.run(first.at(30.5));
    await first.sfn.close();
    expect(tokens).toHaveLength(1);

    const second = executor(dataDir, 31, calls);
    second.sfn.resume();
    // The token is known before the task has run again (an event routed at start).
    expect(await second.sfn.sendTaskSuccess(tokens[0]!, { event: 'Heard' })).toBe(true);
    await second.clock.run();
    await second.sfn.idle();
    expect(calls).toEqual(['hello +0d', 'listen +30d', 'bye +31d']);
    expect(second.sfn.executions.get('run-2')).toMatchObject({ status: 'SUCCEEDED', output: { heard: { event: 'Heard' } } });
    expect(await second.sfn.sendTaskSuccess(tokens[0]!, { event: 'Again' })).toBe(false);
  });
});

describe('ExecutionJournal', () => {
  it('reads back the last state of each execution, skipping a line cut short by a kill, and forgets old ended ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rapport-journal-'));
    dirs.push(dir);
    const journal = new ExecutionJournal(dir);
    journal.create({ name: 'a', journeyId: 'j', definition: 'h', status: 'RUNNING', startedAt: '2026-01-01T00:00:00.000Z', states: [], input: { customerId: 'c-a' } });
    journal.update('a', { enter: 'One', at: { state: 'One', input: { n: 1 } }, wait: { due: 5 } });
    journal.update('a', { enter: 'Two', at: { state: 'Two', input: { n: 2 } }, wait: undefined, token: { token: 't' } });
    journal.create({ name: 'b', journeyId: 'j', definition: 'h', status: 'RUNNING', startedAt: '2026-01-01T00:00:00.000Z', states: [], input: { customerId: 'c-b' } });
    journal.update('b', { status: 'SUCCEEDED', stoppedAt: '2026-01-02T00:00:00.000Z', reported: true });
    journal.close();
    appendFileSync(join(dir, 'journal.ndjson'), '{"name":"a","enter":"Thr');

    const again = new ExecutionJournal(dir);
    expect(again.records.get('a')).toEqual({
      name: 'a', journeyId: 'j', definition: 'h', status: 'RUNNING', startedAt: '2026-01-01T00:00:00.000Z', states: ['One', 'Two'], input: { customerId: 'c-a' }, at: { state: 'Two', input: { n: 2 } }, token: { token: 't' },
    });
    // Ended and reported: no input (it names the customer), status kept.
    expect(again.records.get('b')).toEqual({ name: 'b', journeyId: 'j', definition: 'h', status: 'SUCCEEDED', startedAt: '2026-01-01T00:00:00.000Z', stoppedAt: '2026-01-02T00:00:00.000Z', states: [], reported: true });
    again.prune('2026-04-01T00:00:00.000Z');
    again.compact();
    expect([...new ExecutionJournal(dir).records.keys()]).toEqual(['a']);
  });
});

describe('Waits at real time', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a Wait of a year ends after a year, not at once (Node timers hold 24.8 days)', async () => {
    vi.useFakeTimers({ now: T0 });
    const calls: string[] = [];
    const sfn = new LocalStepFunctions({
      timeScale: 1,
      now: () => new Date(),
      invokeStep: async (payload) => {
        calls.push(String(payload.action));
        return {};
      },
    });
    sfn.register('y', { StartAt: 'Pause', States: { Pause: { Type: 'Wait', Seconds: 365 * DAY, Next: 'Bye' }, Bye: task('bye', 'Done'), Done: { Type: 'Succeed' } } });
    await sfn.start('y', 'run-y', { journeyId: 'y', customerId: 'c-y' } as never);
    await vi.advanceTimersByTimeAsync(364 * DAY * 1000);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(2 * DAY * 1000);
    expect(calls).toEqual(['bye']);
  });
});
