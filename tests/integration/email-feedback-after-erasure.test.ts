/**
 * Feedback on an old email, from any email tool, re-creates no erased customer (found by the twelfth audit). Rapport's
 * own feedback on its old emails (SES bounces and complaints, the one-click link) applied to a live profile only; an
 * email tool's `Email Marked as Spam` (Segment's email-events name) from an ordinary source, dated after the erasure,
 * started a new life: the erased id answered 200 again and its timeline held the address the tool reported. Now
 * feedback on a message (`Message Bounced`, `Message Complained`, `Email Marked as Spam`) starts no new life whoever
 * sends it: its suppression is parked for the comeback, who comes back suppressed. Control: the one-click link.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { laterOn, useTestEngine } from '../helpers/engine';
import { outboxFor } from '../helpers/journeys';

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
const later = laterOn(clock, t);

/** X gets the welcome email and is erased; a day later feedback on that old email arrives (`feedback`). */
async function scenario(id: string, feedback: 'one-click' | 'email-tool-spam') {
  await t.api.send([{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Signed Up' }]);
  await later(60_000);
  const welcome = outboxFor(t.engine, id).find((m) => m.channel === 'email' && 'headers' in m && m.headers['List-Unsubscribe']) as { headers: Record<string, string> } | undefined;
  const link = /^<(.+)>$/.exec(welcome!.headers['List-Unsubscribe']!)![1]!;
  expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
  await later(86_400_000);
  if (feedback === 'one-click') {
    expect((await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' })).status).toBe(200);
  } else {
    // The email tool's webhook, as Segment's email-events spec names it.
    await t.api.send({ type: 'track', userId: id, event: 'Email Marked as Spam', properties: { email_subject: 'Welcome', email_address: `${id}@example.com` } });
  }
  await later(60_000);
  const events = (await t.api.get(`/v1/customers/${id}/events`)).json as unknown as { events?: unknown[] };
  const profile = (await t.api.get(`/v1/customers/${id}`)).status;
  const timelineNamesAddress = JSON.stringify(events.events ?? []).includes(`${id}@example.com`);
  // The person comes back a day later with the same address: what the feedback said holds for them.
  await later(86_400_000);
  const before = outboxFor(t.engine, id).length;
  await t.api.send([{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Signed Up' }]);
  await later(60_000);
  const comeback = (await t.api.customer(id)) as unknown as { consent: { email?: { status: string } }; suppression: { email?: { reason: string } } };
  return { profile, timelineNamesAddress, comeback: { consent: comeback.consent.email?.status, suppression: comeback.suppression.email?.reason }, emailsAfterComeback: outboxFor(t.engine, id).length - before };
}

describe('feedback on an old email after the erasure', () => {
  it("control: Rapport's one-click link re-creates nothing", async () => {
    expect(await scenario('a12-old-mail-click', 'one-click')).toEqual({ profile: 404, timelineNamesAddress: false, comeback: { consent: 'denied', suppression: undefined }, emailsAfterComeback: 0 });
  }, 60_000);

  it("another email tool's spam report re-creates nothing either", async () => {
    expect(await scenario('a12-old-mail-spam', 'email-tool-spam')).toEqual({ profile: 404, timelineNamesAddress: false, comeback: { consent: 'unknown', suppression: 'complaint' }, emailsAfterComeback: 0 });
  }, 60_000);
});
