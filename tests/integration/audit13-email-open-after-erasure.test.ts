/**
 * Audit 13: an open or a delivery report on an old message re-creates the erased customer.
 *
 * Promise: erasure removes everything; an event of the erased life never re-creates the customer. The product's own
 * rule (3e6edf9, README "Privacy: erasure"): feedback on a message sent before the erasure ("the message outlives the
 * customer too") starts no new life, whoever reports it; SES opens and clicks of an old email never re-create.
 *
 * What I did: X gets the welcome email and is erased. A day later X's email tool (an ordinary source: Segment's
 * email-events spec, or the tool's own webhook) reports on that old email: `Email Opened` (Apple Mail's privacy
 * prefetch opens every email, the person need not even look) with the address it went to; or an SMS/WhatsApp
 * provider's adapter reports `Message Delivered` (Rapport's own contract name) for a message queued before the erasure;
 * or the person clicks the email tool's own unsubscribe link in that old email (Segment's `Unsubscribed`, no channel).
 *
 * Observed: only `Message Bounced`, `Message Complained` and `Email Marked as Spam` are on the list of feedback that
 * starts no new life. `Email Opened`, `Message Delivered` and the tool's `Unsubscribed`, dated and received after the
 * erasure, start a new life: `GET /v1/customers/X` answers 200 again and the timeline holds the erased address the
 * tool reported. (Rapport's own one-click link in the same email re-creates nothing: its denial is parked.)
 * Control: the tool's `Email Marked as Spam` (fixed by 3e6edf9) re-creates nothing.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { useTestEngine } from '../helpers/engine';
import { outboxFor } from '../helpers/journeys';

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
const later = async (ms: number) => {
  const at = clock.now().getTime() + ms;
  while (clock.advance(at)) await clock.idle();
  await t.engine.settle();
};

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

describe('audit 13: a report on an old message after the erasure', () => {
  it("control: the email tool's spam report re-creates nothing", async () => {
    expect(await scenario('a13-old-mail-spam', 'Email Marked as Spam')).toEqual({ profile: 404, timelineNamesAddress: false });
  }, 60_000);

  // BREAK (audit 13): an email tool's `Email Opened` on an old email, dated after the erasure, re-creates the erased customer with the address it reports; fix idea: start no new life from any feedback on a message (Message Delivered/Opened/Clicked and Segment's Email Delivered/Opened/Link Clicked/Bounced as well), or better an allow-list of what may start a new life (identify, Signed Up, a sender-declared list) instead of a deny-list of feedback names.
  it.fails("the email tool's open of the old email re-creates nothing either", async () => {
    expect(await scenario('a13-old-mail-open', 'Email Opened')).toEqual({ profile: 404, timelineNamesAddress: false });
  }, 60_000);

  // BREAK (audit 13): a provider's `Message Delivered` (Rapport's own contract name) for a message queued before the erasure re-creates the erased customer; fix idea: as above.
  it.fails("a provider's delivery report of the old message re-creates nothing either", async () => {
    expect(await scenario('a13-old-mail-delivered', 'Message Delivered')).toEqual({ profile: 404, timelineNamesAddress: false });
  }, 60_000);

  // BREAK (audit 13): the email tool's own unsubscribe link in the old email (Segment's `Unsubscribed`, no channel) re-creates the erased customer with the address it reports, where Rapport's one-click link in the same email parks its denial and re-creates nothing; fix idea: as above (a denial of an ordinary source received after the erasure completed is parked, `denialsOnly`, and starts no new life).
  it.fails("the email tool's unsubscribe link in the old email re-creates nothing either", async () => {
    expect(await scenario('a13-old-mail-unsub', 'Unsubscribed')).toEqual({ profile: 404, timelineNamesAddress: false });
  }, 60_000);
});
