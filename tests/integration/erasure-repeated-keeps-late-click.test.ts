/**
 * A repeated erasure keeps an unsubscribe the profile consumer had not applied yet (consent is law, whatever the
 * timing: "a denial received after the erasure completed applies to the new life whatever its date").
 *
 * X gets the welcome email and is erased (E1). X then clicks the one-click link of that old email: ingest answers
 * "You are unsubscribed". EventBridge is late to the profile consumer with the click's `Unsubscribed` (held with
 * `holdConsumer`: async Lambda queueing, a throttled consumer, or a dead letter redriven later). Meanwhile the same
 * erasure request comes again (a DSAR tool's retry): E2, which deletes the click's `XH#` hold. Then the click reaches
 * the consumer; a day later X comes back and signs up: unsubscribed, no welcome email. E2's tombstone keeps when E1
 * completed (`erasedSince`: no new life in between), so the click counts as received after the erasure and is parked
 * (before, it was judged against E2 alone, dropped as the erased life's, and the comeback got the welcome email).
 * Control: the same late consumer without the second DELETE.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { holdConsumer, useTestEngine, laterOn } from '../helpers/engine';
import { outboxFor } from '../helpers/journeys';

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
const later = laterOn(clock, t);

async function scenario(id: string, deleteAgain: boolean) {
  await t.api.send([{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Signed Up' }]);
  await later(60_000);
  const welcome = outboxFor(t.engine, id).find((m) => m.channel === 'email' && 'headers' in m && m.headers['List-Unsubscribe']) as { headers: Record<string, string> } | undefined;
  const link = /^<(.+)>$/.exec(welcome!.headers['List-Unsubscribe']!)![1]!;
  expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
  await later(60_000);

  // After the erasure the person clicks the old email's one-click link; the consumer is late with it.
  const late = holdConsumer(t.engine, (d) => d.userId === id && d.event === 'Unsubscribed');
  const res = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
  const clicked = res.status === 200 && (await res.text()).includes('You are unsubscribed');
  await later(60_000);

  // The same erasure request again (a DSAR tool's retry), while the click is still on its way to the consumer.
  const again = deleteAgain ? (await t.api.del(`/v1/customers/${id}`)).status : undefined;
  await later(60_000);
  const held = late.held.length;
  await late.release();
  await later(86_400_000);

  // They come back and sign up.
  const before = outboxFor(t.engine, id).length;
  await t.api.send([{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Signed Up' }]);
  await later(60_000);
  return {
    clicked,
    held,
    again,
    consent: (await t.api.customer(id)).consent.email?.status,
    emailsToNewLife: outboxFor(t.engine, id).slice(before).filter((m) => m.channel === 'email').length,
  };
}

describe('a repeated erasure while the click after the first is still in flight', () => {
  it('control: one DELETE, the late click is parked and folded into the comeback', async () => {
    expect(await scenario('late-click-once', false)).toEqual({ clicked: true, held: 1, again: undefined, consent: 'denied', emailsToNewLife: 0 });
  }, 60_000);

  it('a second DELETE while the click is in flight keeps it for the comeback', async () => {
    expect(await scenario('late-click-twice', true)).toEqual({ clicked: true, held: 1, again: 200, consent: 'denied', emailsToNewLife: 0 });
  }, 60_000);
});
