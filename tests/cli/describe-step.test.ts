import { describe, expect, it } from 'vitest';
import { describeStep } from '../../infra/cli/commands/simulate';

/** How `rapport simulate` names steps in the funnel. */

describe('the steps in the funnel', () => {
  it('say what each step sends or waits for', () => {
    expect(
      [
        { id: 'a', send: { channel: 'email', template: 'welcome' } },
        { id: 'b', send: { channel: 'sms', template: 'code', kind: 'transactional' } },
        { id: 'c', webhook: { target: 'support', template: 'ticket' } },
        { id: 'd', wait: '2d' },
        { id: 'e', wait_until: { time: '09:00', days: ['mon', 'tue'] } },
        { id: 'f', wait_for: { event: 'Order Completed', timeout: '7d' } },
        { id: 'g', split: [{ percent: 90, next: 'a' }, { percent: 10, holdout: true }] },
        { id: 'h', tag: { add: 'vip' } },
        { id: 'i', update: { trait: 'plan', value: 'pro' } },
        { id: 'j', exit: 'escalated' },
      ].map((s) => describeStep(s as never)),
    ).toEqual(['email welcome', 'sms code (transactional)', 'support ticket', '2d', '09:00 mon,tue', 'Order Completed (7d)', '90% / 10% holdout', '+vip', 'plan = "pro"', 'escalated']);
  });
});
