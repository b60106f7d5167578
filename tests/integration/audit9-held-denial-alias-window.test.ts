/**
 * An unsubscribe of an erased id, accepted (202) but not yet applied, does not stop a send to the customer an alias
 * then joins that id into (audit 9). Ingest records a denial as a hold before it answers, so a send after the 202
 * honours it even while the profile consumer lags (the send step reads the holds under every id of the customer,
 * `mergedIds` included). X is erased. X's app sends a back-dated `Unsubscribed` (202); its delivery to the profile
 * consumer is late. X's new life then begins as an alias joining X into known customer Y (granted), and Y signs up:
 * the welcome email is sent although X's unsubscribe, accepted before, was received after Y's grant. Ingest's hold
 * for X was undone at once (`#undoHoldIfErased`: X erased, no new life, not joined yet), and nothing is parked yet
 * (the consumer has not seen the denial), so neither the hold nor the join's fold (`claimKnown`) carries it.
 * (Y ends `denied` once the consumer applies it.) The same when X is an erased visitor and its new life begins as an
 * identify of Y naming it (`claimVisitor`). Control: X not erased, the same order: X's hold stops the welcome
 * email to Y.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { holdConsumer, useTestEngine } from '../helpers/engine';
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

  // BREAK (audit 9): ingest's hold of a denial of an erased id without a new life is undone at once, so an alias joining that id before the consumer applies the denial leaves the survivor emailable after an accepted unsubscribe; fix idea: keep such a hold (received after the erasure completed) beside the tombstone under its hashed key, with no id, and have the send step (and claimKnown/claimVisitor) read the holds parked for the erased ids in mergedIds/anonymousIds, or have the join copy them to the survivor
  it.fails('after erasure: the hold of the unsubscribe stops the welcome email', async () => {
    expect(await scenario('a9-held-x', 'a9-held-y', true)).toEqual({ sent: [], consent: 'denied' });
  }, 30_000);

  it('control: visitor not erased, its hold stops the welcome email once an identify links it', async () => {
    expect(await scenario('a9-held-vctl-v', 'a9-held-vctl-y', false, 'visitor')).toEqual({ sent: [], consent: 'denied' });
  }, 30_000);

  // BREAK (audit 9): the same window when the erased id is a visitor linked by an identify (claimVisitor): its hold was undone at ingest; fix idea: as above
  it.fails('after erasure of the visitor: the hold of the unsubscribe stops the welcome email', async () => {
    expect(await scenario('a9-held-v', 'a9-held-vy', true, 'visitor')).toEqual({ sent: [], consent: 'denied' });
  }, 30_000);
});
