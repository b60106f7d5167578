/**
 * A second DELETE of an erased customer keeps the unsubscribe they gave in between (found by the twelfth audit). X is
 * erased; then X clicks the one-click link of an old email: with no new life yet the denial is parked beside the
 * tombstone for the comeback to fold in. A day later the same erasure request comes again (a DSAR tool's retry, the
 * person asking twice): a fresh erasure, with a new `erasedAt` (the signal a racing new-life write checks, see
 * erasure-second-racing-comeback). Parked denials were read for the current erasure only, so the click was orphaned
 * and X came back not unsubscribed, getting the welcome email at once. Now a comeback folds the parked denials of
 * every erasure of the id no comeback folded in, while they live. Control: one DELETE.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { laterOn, useTestEngine } from '../helpers/engine';
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

  // After the erasure, the person clicks the old email's one-click link.
  const res = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
  const clicked = res.status === 200 && (await res.text()).includes('You are unsubscribed');
  await later(86_400_000);

  // The same erasure request again (or not).
  const again = deleteAgain ? (await t.api.del(`/v1/customers/${id}`)).status : undefined;
  await later(86_400_000);

  // They come back and sign up.
  const before = outboxFor(t.engine, id).length;
  await t.api.send([{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Signed Up' }]);
  await later(60_000);
  return {
    clicked,
    again,
    consent: (await t.api.customer(id)).consent.email?.status,
    emailsToNewLife: outboxFor(t.engine, id).slice(before).filter((m) => m.channel === 'email').length,
  };
}

describe('a repeated erasure request after an unsubscribe of the erased customer', () => {
  it('control: one DELETE, the click is folded into the comeback', async () => {
    expect(await scenario('a12-del-once', false)).toEqual({ clicked: true, again: undefined, consent: 'denied', emailsToNewLife: 0 });
  }, 60_000);

  it('a second DELETE a day later keeps the click for the comeback', async () => {
    expect(await scenario('a12-del-twice', true)).toEqual({ clicked: true, again: 200, consent: 'denied', emailsToNewLife: 0 });
  }, 60_000);
});
