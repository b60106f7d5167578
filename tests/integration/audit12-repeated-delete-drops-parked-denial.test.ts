/**
 * Audit 12: a second DELETE of an already erased customer throws away the unsubscribe they gave in between. X is erased;
 * then X clicks the one-click link of an old email ("You are unsubscribed"): with no new life yet the denial is parked
 * beside the tombstone for the comeback to fold in, and ingest keeps its hold (`XH#`). A day later the same erasure
 * request comes again (a DSAR tool's retry, the person asking twice): DELETE finds no profile and runs a fresh erasure,
 * which writes a new tombstone (a new `erasedAt`) and deletes the kept hold. The parked denial is kept for the old
 * `erasedAt` only (`parkedDenials` reads those of the current tombstone's erasure), so nothing is folded: X comes back
 * and is not unsubscribed, and the welcome email goes out at once. Control: without the second DELETE, the comeback
 * is unsubscribed and gets no marketing email.
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

describe('a repeated erasure request after an unsubscribe of the erased customer (audit 12)', () => {
  it('control: one DELETE, the click is folded into the comeback', async () => {
    expect(await scenario('a12-del-once', false)).toEqual({ clicked: true, again: undefined, consent: 'denied', emailsToNewLife: 0 });
  }, 60_000);

  // BREAK (audit 12): a second DELETE of an erased, not-come-back id runs a fresh erasure: its new erasedAt orphans the parked click and the kept hold is deleted; the comeback is not unsubscribed and gets the welcome email. Resuming the completed erasure from its old erasedAt fixes this but breaks erasure-second-racing-comeback (the new erasedAt is the signal a racing new-life write checks; the resumed erasure left that profile); fix idea: a fresh erasure that re-parks the previous erasure's parked denials under its own erasedAt and keeps the XH# holds.
  it.fails('a second DELETE a day later keeps the click for the comeback', async () => {
    expect(await scenario('a12-del-twice', true)).toEqual({ clicked: true, again: 200, consent: 'denied', emailsToNewLife: 0 });
  }, 60_000);
});
