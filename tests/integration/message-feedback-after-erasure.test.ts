/**
 * A report on a message sent before the erasure, from any sender, never re-creates the erased customer (erasure
 * removes everything; "the message outlives the customer"). X gets the welcome email and is erased. A day later X's
 * email tool (an ordinary source: Segment's email-events spec, or the tool's own webhook) reports on that old email:
 * `Email Opened` (Apple Mail's privacy prefetch opens every email) with the address it went to; a provider's
 * `Message Delivered` (Rapport's contract name) for a message queued before the erasure; or the person clicks the
 * tool's own unsubscribe link in that old email (`Unsubscribed`, no channel). None starts a new life
 * (`MESSAGE_FEEDBACK_EVENTS` and denials, functions/profile/store.ts `startsNewLife`): the customer stays 404, the
 * address is on no timeline, and the tool's unsubscribe is parked: when the person signs up again they are
 * unsubscribed and get no welcome email. Control: the tool's `Email Marked as Spam`.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { useTestEngine, laterOn } from '../helpers/engine';
import { outboxFor } from '../helpers/journeys';

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
const later = laterOn(clock, t);

/** X gets the welcome email and is erased; a day later a report on that old message arrives from an ordinary source. */
async function scenario(id: string, event: 'Email Marked as Spam' | 'Email Opened' | 'Message Delivered' | 'Unsubscribed') {
  await t.api.send([{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Signed Up' }]);
  await later(60_000);
  expect(outboxFor(t.engine, id).some((m) => m.channel === 'email')).toBe(true);
  expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
  await later(86_400_000);
  const properties = event === 'Message Delivered' ? { channel: 'email', to: `${id}@example.com` } : { email_subject: 'Welcome', email_address: `${id}@example.com` };
  await t.api.send({ type: 'track', userId: id, event, properties });
  await later(60_000);
  const events = (await t.api.get(`/v1/customers/${id}/events`)).json as unknown as { events?: unknown[] };
  return { profile: (await t.api.get(`/v1/customers/${id}`)).status, timelineNamesAddress: JSON.stringify(events.events ?? []).includes(`${id}@example.com`) };
}

describe('a report on an old message after the erasure', () => {
  it("control: the email tool's spam report re-creates nothing", async () => {
    expect(await scenario('old-mail-spam', 'Email Marked as Spam')).toEqual({ profile: 404, timelineNamesAddress: false });
  }, 60_000);

  it("the email tool's open of the old email re-creates nothing either", async () => {
    expect(await scenario('old-mail-open', 'Email Opened')).toEqual({ profile: 404, timelineNamesAddress: false });
  }, 60_000);

  it("a provider's delivery report of the old message re-creates nothing either", async () => {
    expect(await scenario('old-mail-delivered', 'Message Delivered')).toEqual({ profile: 404, timelineNamesAddress: false });
  }, 60_000);

  it("the email tool's unsubscribe link in the old email re-creates nothing either, and the comeback is unsubscribed", async () => {
    expect(await scenario('old-mail-unsub', 'Unsubscribed')).toEqual({ profile: 404, timelineNamesAddress: false });
    // A month later the person signs up again: the denial was parked for this life, so no welcome email goes out.
    await later(30 * 86_400_000);
    const before = outboxFor(t.engine, 'old-mail-unsub').length;
    await t.api.send([{ type: 'identify', userId: 'old-mail-unsub', traits: { email: 'old-mail-unsub@example.com' } }, { type: 'track', userId: 'old-mail-unsub', event: 'Signed Up' }]);
    await later(60_000);
    const profile = (await t.api.customer('old-mail-unsub')) as unknown as { consent?: { email?: { status?: string } } };
    expect({ consent: profile.consent?.email?.status, emails: outboxFor(t.engine, 'old-mail-unsub').length - before }).toEqual({ consent: 'denied', emails: 0 });
  }, 60_000);
});
