/**
 * The embedded Step Functions stand-in on virtual time: Wait states, retry
 * backoffs and callback timeouts are timers on the clock, and the clock jumps
 * only when every execution waits. Months pass in milliseconds, the same way
 * on every run.
 */
import { describe, expect, it } from 'vitest';
import { LocalStepFunctions, type AslDefinition } from '../../../infra/embedded/step-functions';
import { VirtualClock } from '../../../infra/embedded/virtual-time';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const DAY = 86_400;
const FN = 'arn:aws:lambda:local:000000000000:function:steps';
const task = (action: string, next: string, extra: Record<string, unknown> = {}) => ({
  Type: 'Task',
  Resource: 'arn:aws:states:::lambda:invoke',
  Parameters: { FunctionName: FN, Payload: { action, 'input.$': '$' } },
  ResultSelector: { 'result.$': '$.Payload' },
  ResultPath: '$.last',
  Next: next,
  ...extra,
});

const DEFINITION: AslDefinition = {
  StartAt: 'Hello',
  States: {
    Hello: task('hello', 'Pause'),
    Pause: { Type: 'Wait', Seconds: 30 * DAY, Next: 'Flaky' },
    Flaky: task('flaky', 'Until', { Retry: [{ ErrorEquals: ['Transient'], IntervalSeconds: 60, BackoffRate: 2, MaxAttempts: 3, JitterStrategy: 'FULL' }] }),
    Until: task('until', 'Sleep'),
    Sleep: { Type: 'Wait', TimestampPath: '$.last.result.until', Next: 'Listen' },
    Listen: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: { FunctionName: FN, Payload: { action: 'listen', 'taskToken.$': '$$.Task.Token' } },
      TimeoutSeconds: 2 * DAY,
      Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.timeout', Next: 'Bye' }],
      Next: 'Bye',
    },
    Bye: task('bye', 'Done'),
    Done: { Type: 'Succeed' },
  },
};

async function runOnce(options: { stopAfterHello?: boolean } = {}) {
  const clock = new VirtualClock(T0);
  const calls: string[] = [];
  let flaky = 0;
  const at = () => `+${(clock.now().getTime() - T0) / 1000}s`;
  const sfn: LocalStepFunctions = new LocalStepFunctions({
    timeScale: 1,
    now: () => clock.now(),
    virtual: clock,
    invokeStep: async (payload): Promise<Record<string, string | boolean>> => {
      const action = String(payload.action);
      calls.push(`${action} ${at()}`);
      await new Promise((r) => setTimeout(r, Math.random() * 3)); // uneven real work
      if (action === 'hello' && options.stopAfterHello) void sfn.stop('j', 'run-1', 'goal reached');
      if (action === 'flaky' && flaky++ < 2) throw Object.assign(new Error('try again'), { name: 'Transient' });
      if (action === 'until') return { until: new Date(clock.now().getTime() + 3_600_000).toISOString() };
      return { ok: true };
    },
  });
  sfn.register('j', DEFINITION);
  const started = Date.now();
  await sfn.start('j', 'run-1', { journeyId: 'j', customerId: 'c-1' } as never);
  await clock.run();
  await sfn.idle();
  return { calls, execution: sfn.executions.get('run-1')!, clockAt: at(), realMs: Date.now() - started, pending: clock.pending };
}

describe('LocalStepFunctions on virtual time', () => {
  it('runs waits, retry backoffs and a callback timeout on the clock, exactly and the same every run', async () => {
    const first = await runOnce();
    expect(first.execution.status).toBe('SUCCEEDED');
    const day30 = 30 * DAY;
    // Two failures, then backoffs of (jittered, deterministic) <= 60 s and <= 120 s.
    const flakyAt = first.calls.filter((c) => c.startsWith('flaky')).map((c) => Number(/\+(\d+(\.\d+)?)s/.exec(c)![1]));
    expect(flakyAt).toHaveLength(3);
    expect(flakyAt[0]).toBe(day30);
    expect(flakyAt[1]! - flakyAt[0]!).toBeLessThanOrEqual(60);
    expect(flakyAt[2]! - flakyAt[1]!).toBeLessThanOrEqual(120);
    const untilAt = flakyAt[2]!;
    // TimestampPath read from the state input (one hour after `until` ran), then the 2-day callback timeout.
    expect(first.calls.at(-2)).toBe(`listen +${untilAt + 3600}s`);
    expect(first.calls.at(-1)).toBe(`bye +${untilAt + 3600 + 2 * DAY}s`);
    expect(first.realMs).toBeLessThan(5_000);
    expect(first.pending).toBe(0);
    const second = await runOnce();
    expect(second.calls).toEqual(first.calls);
  });

  it('cancels a stopped execution\'s wait: the clock does not jump 30 days for nobody', async () => {
    const run = await runOnce({ stopAfterHello: true });
    expect(run.execution.status).toBe('ABORTED');
    expect(run.calls).toEqual(['hello +0s']);
    expect(run.clockAt).toBe('+0s');
    expect(run.pending).toBe(0);
  });

  it('fails a TimestampPath Wait whose path holds no timestamp, as AWS does', async () => {
    const clock = new VirtualClock(T0);
    const sfn = new LocalStepFunctions({ timeScale: 1, now: () => clock.now(), virtual: clock, invokeStep: async () => ({}) });
    sfn.register('k', {
      StartAt: 'Until',
      States: { Until: task('until', 'Sleep'), Sleep: { Type: 'Wait', TimestampPath: '$.last.result.until', Next: 'Done' }, Done: { Type: 'Succeed' } },
    });
    await sfn.start('k', 'run-2', { journeyId: 'k', customerId: 'c-2' } as never);
    await clock.run();
    await sfn.idle();
    const execution = sfn.executions.get('run-2')!;
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toMatch(/Wait state Sleep: \$\.last\.result\.until does not hold a timestamp/);
  });
});
