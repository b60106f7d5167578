/**
 * An unsubscribe of an erased id, accepted (202) but not applied yet, stops a send to the customer an alias then joins
 * that id into. Ingest records a denial as a hold before it answers, so a send after the 202 honours it even while the
 * profile consumer lags (the send step reads the holds under every id of the customer, `mergedIds` and `anonymousIds`
 * included). X is erased. X's app sends a back-dated `Unsubscribed` (202); its delivery to the profile consumer is
 * late. X's new life then begins as an alias joining X into known customer Y (granted), and Y signs up: no welcome
 * email goes out, as X's unsubscribe was received after Y's grant. Ingest's hold for X cannot stay in X's partition (X
 * is erased and has no new life, not joined yet: `#undoHoldIfErased` undoes it), but, received after the erasure
 * completed, it is kept under a hash of X (`XH#<sha256(X)>`, no id in it, expiring as the hold would), which the send
 * step reads for every id of Y (`holdsOf`). (Y ends `denied` once the consumer applies it.) The same when X is an
 * erased visitor and its new life begins as an identify of Y naming it (`claimVisitor`). Erasing Y removes the hold
 * kept for X (it reaches X through `mergedIds`/`anonymousIds`). Control: X not erased, the same order: X's hold stops
 * the welcome email to Y.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { holdConsumer, profileItems, useTestEngine } from '../helpers/engine';
import { outboxFor } from '../helpers/journeys';

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
const later = async (ms: number) => {
  const at = clock.now().getTime() + ms;
  while (clock.advance(at)) await clock.idle();
};

/** The steps of the emails Y was sent, and Y's consent in the end. */
async function scenario(x: string, y: string, erase: boolean, link: 'alias' | 'visitor' = 'alias') {
  // (`visitor`: X is visitor `anon:<x>`, linked to Y by an identify naming its anonymousId.)
  const ofX = link === 'alias' ? { userId: x } : { anonymousId: x };
  await t.api.send(link === 'alias' ? { type: 'identify', userId: x, traits: { email: `${x}@example.com` } } : { type: 'page', anonymousId: x, name: 'Home' });
  await clock.idle();
  await later(60_000);
  const erasureBegan = clock.now().getTime();
  if (erase) expect((await t.api.del(`/v1/customers/${link === 'alias' ? x : `anon:${x}`}`)).status).toBe(200);
  await later(60_000);
  await t.api.send({ type: 'identify', userId: y, traits: { email: `${y}@example.com`, consent: { email: true } } });
  await clock.idle();
  await later(60_000);

  // X's unsubscribe is accepted; the profile consumer gets it late.
  const late = holdConsumer(t.engine, (d) => d.messageId === `${x}-unsub`);
  await t.api.send({ type: 'track', ...ofX, messageId: `${x}-unsub`, event: 'Unsubscribed', properties: { channel: 'email' }, timestamp: new Date(erasureBegan - 1_000).toISOString() });
  await clock.idle();
  await later(60_000);

  // X's new life begins as an alias joining X into Y; then Y signs up.
  await t.api.send(link === 'alias' ? { type: 'alias', userId: y, previousId: x } : { type: 'identify', userId: y, anonymousId: x, traits: {} });
  await clock.idle();
  await t.api.send({ type: 'track', userId: y, event: 'Signed Up' });
  await clock.idle();
  const sent = outboxFor(t.engine, y).filter((m) => m.channel === 'email').map((m) => m.step);

  await late.release();
  await clock.idle();
  return { sent, consent: (await t.api.customer(y)).consent.email.status };
}

describe('an accepted unsubscribe the consumer has not applied yet, then an alias joins its id', () => {
  it('control: not erased, its hold stops the welcome email', async () => {
    expect(await scenario('a9-held-ctl-x', 'a9-held-ctl-y', false)).toEqual({ sent: [], consent: 'denied' });
  }, 30_000);

  it('after erasure: the hold of the unsubscribe stops the welcome email', async () => {
    expect(await scenario('a9-held-x', 'a9-held-y', true)).toEqual({ sent: [], consent: 'denied' });
  }, 30_000);

  it('control: visitor not erased, its hold stops the welcome email once an identify links it', async () => {
    expect(await scenario('a9-held-vctl-v', 'a9-held-vctl-y', false, 'visitor')).toEqual({ sent: [], consent: 'denied' });
  }, 30_000);

  it('after erasure of the visitor: the hold of the unsubscribe stops the welcome email', async () => {
    expect(await scenario('a9-held-v', 'a9-held-vy', true, 'visitor')).toEqual({ sent: [], consent: 'denied' });
  }, 30_000);

  it('erasing the customer the id was joined into removes the holds kept for it', async () => {
    const kept = (id: string) => profileItems(t.engine, (text) => text.includes(`"XH#${createHash('sha256').update(id).digest('hex')}"`));
    expect(await scenario('a9-held-del-x', 'a9-held-del-y', true)).toEqual({ sent: [], consent: 'denied' });
    expect(await kept('a9-held-del-x')).toHaveLength(1);
    expect((await t.api.del('/v1/customers/a9-held-del-y')).status).toBe(200);
    expect(await kept('a9-held-del-x')).toEqual([]);
    expect(await scenario('a9-held-vdel-v', 'a9-held-vdel-y', true, 'visitor')).toEqual({ sent: [], consent: 'denied' });
    expect(await kept('anon:a9-held-vdel-v')).toHaveLength(1);
    expect((await t.api.del('/v1/customers/a9-held-vdel-y')).status).toBe(200);
    expect(await kept('anon:a9-held-vdel-v')).toEqual([]);
  }, 30_000);
});
