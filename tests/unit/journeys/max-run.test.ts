import { describe, expect, it } from 'vitest';
import { EXECUTION_MAX_SECONDS, SEND_DEFERRAL_MAX_SECONDS } from '../../../workflows/journeys';
import { builtIn, compileTest, loadOk } from './helpers';

/**
 * `maxRunSeconds`: the longest a run of a journey can last, which sizes its lock's TTL. It must never be
 * shorter than a run can really last (the lock would free while the run goes on): every wait, every
 * wait_for timeout, every deferral a marketing send may take, and a year for a journey that loops.
 */
const DAY = 86_400;
const journey = (steps: string[]) => compileTest(loadOk(['id: test', 'name: Test', 'version: 1', 'trigger: { event: Signed Up }', 'steps:', ...steps, ''].join('\n')));

describe('the longest run of a journey (maxRunSeconds)', () => {
  it('welcome: its waits (3 days) and the deferrals its three marketing sends may take, under a year', () => {
    const { maxRunSeconds } = builtIn().welcome!;
    expect(maxRunSeconds).toBeGreaterThanOrEqual(3 * DAY + 3 * SEND_DEFERRAL_MAX_SECONDS);
    expect(maxRunSeconds).toBeLessThan(3 * DAY + 3 * SEND_DEFERRAL_MAX_SECONDS + DAY);
  });

  it('counts a wait_for by its timeout and takes the longer branch', () => {
    const { maxRunSeconds } = journey([
      '  - id: await-order',
      '    wait_for: { event: Order Completed, timeout: 30d }',
      '    on_event: quick',
      '  - id: slow',
      '    wait: 10d',
      '    next: end',
      '  - id: quick',
      '    wait: 1d',
    ]);
    expect(maxRunSeconds).toBeGreaterThanOrEqual(40 * DAY);
    expect(maxRunSeconds).toBeLessThan(41 * DAY);
  });

  it("a journey that loops (through a wait) may run as long as Step Functions allows: a year", () => {
    const { maxRunSeconds } = journey(['  - id: nap', '    wait: 1d', '  - id: again', '    send: { channel: email, template: hello, kind: transactional }', '    next: nap']);
    expect(maxRunSeconds).toBe(EXECUTION_MAX_SECONDS);
  });
});
