import { describe, expect, it } from 'vitest';
import { SEND_DEFERRAL_MAX_SECONDS } from '../../../workflows/journeys';
import { compileTest, loadErrors, loadOk } from './helpers';

/**
 * `frequency_cap_max_delay`: how long a marketing send over the frequency cap may wait, per journey
 * (`send_policy`) and per send step, over the deployment's `sendPolicy.frequencyCapMaxDelayDays`:
 * validated where it is written, compiled into the send's config, and into the run's longest time.
 */
const DAY = 86_400;
const text = (head: string, send = 'send: { channel: email, template: hello }') => `id: test
name: Test
version: 1
trigger: { event: Signed Up }
${head}steps:
  - id: mail
    ${send}
`;
const sendConfig = (yaml: string) => {
  const state = compileTest(loadOk(yaml)).definition.States.mail as unknown as { Parameters: { Payload: { config: Record<string, unknown> } } };
  return state.Parameters.Payload.config;
};

describe('frequency_cap_max_delay', () => {
  it('refuses a delay over 30 days, a value that is no duration, and one on a transactional send, at the field (file:line:col)', () => {
    const long = loadErrors(text('send_policy: { frequency_cap_max_delay: 31d }\n'));
    expect(long.map((e) => [e.file, e.path, e.line, e.column, e.message])).toEqual([
      ['test.yaml', 'send_policy.frequency_cap_max_delay', 5, 41, 'a frequency cap delay of 31d is too long: expected at most 30d ("0s" skips at once)'],
    ]);
    const words = loadErrors(text('send_policy: { frequency_cap_max_delay: a week }\n'));
    expect(words.map((e) => [e.path, e.line, e.column, e.message])).toEqual([
      ['send_policy.frequency_cap_max_delay', 5, 41, 'expected a duration such as "30m", "2h", "1d", "7d", "1d12h" or "6mo" (units mo (30 days), w, d, h, m, s, largest first)'],
    ]);
    const unknown = loadErrors(text('send_policy: { max_delay: 1d }\n'));
    expect(unknown.map((e) => [e.path, e.line, e.column, e.message])).toEqual([['send_policy.max_delay', 5, 16, 'unknown key "max_delay": expected one of frequency_cap_max_delay']]);
    const step = loadErrors(text('', 'send: { channel: email, template: hello, frequency_cap_max_delay: 5w }'));
    expect(step.map((e) => [e.path, e.line, e.message])).toEqual([['steps[0].send.frequency_cap_max_delay', 7, 'a frequency cap delay of 35d is too long: expected at most 30d ("0s" skips at once)']]);
    const transactional = loadErrors(text('', 'send: { channel: email, template: hello, kind: transactional, frequency_cap_max_delay: 1d }'));
    expect(transactional.map((e) => [e.path, e.message])).toEqual([
      ['steps[0].send.frequency_cap_max_delay', 'a transactional send is never capped: expected frequency_cap_max_delay only on a marketing send'],
    ]);
  });

  it("compiles into the send's config: the step's own, else the journey's, else none (the deployment's applies)", () => {
    expect(sendConfig(text(''))).not.toHaveProperty('frequencyCapMaxDelaySeconds');
    expect(sendConfig(text('send_policy: { frequency_cap_max_delay: 0s }\n'))).toMatchObject({ frequencyCapMaxDelaySeconds: 0 });
    expect(sendConfig(text('send_policy: { frequency_cap_max_delay: 0s }\n', 'send: { channel: email, template: hello, frequency_cap_max_delay: 1d12h }'))).toMatchObject({
      frequencyCapMaxDelaySeconds: 36 * 3_600,
    });
  });

  it("bounds the run (its lock's TTL) by the send's own maximum delay plus a day of quiet hours", () => {
    const bound = (head: string) => compileTest(loadOk(text(head))).maxRunSeconds;
    // Without an override: the deployment's, at most 30 days, plus quiet hours.
    expect(bound('')).toBeGreaterThanOrEqual(SEND_DEFERRAL_MAX_SECONDS);
    expect(bound('send_policy: { frequency_cap_max_delay: 0s }\n')).toBeGreaterThanOrEqual(DAY);
    expect(bound('send_policy: { frequency_cap_max_delay: 0s }\n')).toBeLessThan(DAY + SEND_DEFERRAL_MAX_SECONDS / 2);
    expect(bound('send_policy: { frequency_cap_max_delay: 30d }\n')).toBeGreaterThanOrEqual(31 * DAY);
    expect(bound('send_policy: { frequency_cap_max_delay: 30d }\n') - bound('send_policy: { frequency_cap_max_delay: 10d }\n')).toBe(20 * DAY);
  });
});
