/**
 * The SES feedback function on a customer without a live profile (`handleSesFeedback` step 2), as AWS runs it: a hard
 * bounce or a complaint on the email of an erased life, received after the erasure completed, is published (its hold
 * written, write then check) for the profile consumer to park for the new life; anything else, an erasure still
 * running, or a customer never seen, is dropped and publishes nothing.
 */
import { describe, expect, it } from 'vitest';
import { encodeTagValue, handleSesFeedback, SES_DETAIL_TYPES, type FeedbackDeps } from '../../../functions/feedback';
import type { Tombstone } from '../../../functions/profile';
import type { BusEntry } from '../../../shared';

const NOW = new Date('2026-03-02T10:00:00.000Z');
const mail = {
  timestamp: '2026-03-01T09:00:00.000Z',
  source: 'shop@example.com',
  messageId: 'ses-msg-1',
  destination: ['x@example.com'],
  tags: { journey: ['welcome'], step: ['send-welcome'], execution: ['welcome-0123abcd'], customer: [encodeTagValue('cust-x')!] },
};
const events = {
  complaint: { 'detail-type': SES_DETAIL_TYPES.Complaint, detail: { eventType: 'Complaint', mail, complaint: { complainedRecipients: [{ emailAddress: 'x@example.com' }], timestamp: '2026-03-01T10:00:00.000Z', feedbackId: 'fb-1' } } },
  bounce: { 'detail-type': SES_DETAIL_TYPES.Bounce, detail: { eventType: 'Bounce', mail, bounce: { bounceType: 'Permanent', bounceSubType: 'General', bouncedRecipients: [{ emailAddress: 'x@example.com' }], timestamp: '2026-03-01T10:00:00.000Z', feedbackId: 'fb-2' } } },
  open: { 'detail-type': SES_DETAIL_TYPES.Open, detail: { eventType: 'Open', mail, open: { timestamp: '2026-03-01T10:00:00.000Z' } } },
};

function deps(tombstone: Tombstone | undefined) {
  const published: BusEntry[] = [];
  const holds: string[] = [];
  const forgotten: string[] = [];
  const d: FeedbackDeps = {
    profiles: {
      get: async () => undefined,
      putSuppressionHold: async (id, _channel, suppression) => void holds.push(`${id}:${suppression.reason}`),
      tombstone: async () => tombstone,
    },
    messages: { markFeedback: async () => false },
    putEvents: async (entries) => {
      published.push(...entries);
      return { FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: 'e' })) };
    },
    clock: { now: () => NOW, sleep: async () => undefined },
    onUnknownCustomer: async (id) => void forgotten.push(id),
  };
  return { d, published, holds, forgotten };
}

const completed: Tombstone = { erasedAt: '2026-03-02T09:00:00.000Z', completedAt: '2026-03-02T09:00:01.000Z' };

describe('SES feedback on a customer without a live profile', () => {
  it('a complaint after the erasure completed: hold written, Message Complained published for the new life', async () => {
    const { d, published, holds, forgotten } = deps(completed);
    expect(await handleSesFeedback(events.complaint, d)).toEqual({ status: 'erased-life', kind: 'complained', customerId: 'cust-x' });
    expect(holds).toEqual(['cust-x:complaint']);
    expect(published.map((e) => [e.DetailType, JSON.parse(e.Detail!).userId, JSON.parse(e.Detail!).receivedAt])).toEqual([['Message Complained', 'cust-x', NOW.toISOString()]]);
    expect(forgotten).toEqual(['cust-x']);
  });

  it('a hard bounce after the erasure completed: Message Bounced (hard) published', async () => {
    const { d, published } = deps(completed);
    expect((await handleSesFeedback(events.bounce, d)).status).toBe('erased-life');
    expect(published.map((e) => JSON.parse(e.Detail!).properties.bounceType)).toEqual(['hard']);
  });

  it('received in the millisecond the erasure completed: published too', async () => {
    const { d, published } = deps({ ...completed, completedAt: NOW.toISOString() });
    expect((await handleSesFeedback(events.complaint, d)).status).toBe('erased-life');
    expect(published).toHaveLength(1);
  });

  it('a customer never seen: dropped, nothing written or published', async () => {
    const { d, published, holds } = deps(undefined);
    expect(await handleSesFeedback(events.complaint, d)).toEqual({ status: 'dropped', reason: 'unknown-customer' });
    expect([published, holds]).toEqual([[], []]);
  });

  it("an erasure still running: dropped, nothing published; the suppression is written for the store's write-then-check (kept for a live record with the address)", async () => {
    const { d, published, holds } = deps({ erasedAt: completed.erasedAt });
    expect(await handleSesFeedback(events.complaint, d)).toEqual({ status: 'dropped', reason: 'unknown-customer' });
    expect(published).toEqual([]);
    expect(holds).toHaveLength(1);
  });

  it('an open on the erased life: dropped', async () => {
    const { d, published } = deps(completed);
    expect(await handleSesFeedback(events.open, d)).toEqual({ status: 'dropped', reason: 'unknown-customer' });
    expect(published).toEqual([]);
  });
});
