/**
 * Erasure deletes the holds of an address the customer had before they changed it (erasure removes everything: an
 * `AH#<sha256(address)>` item names nobody, but the hash of an address is the address to anyone who has it). A
 * customer with address A (their only record) clicks the one-click unsubscribe: A is denied. A day later they change
 * to B; the timeline events naming A pass retention (emulated: the expired `E#` items are deleted, as AWS's TTL
 * would). Then they are erased. Writing A's hold also wrote a pointer in their partition (`AP#<sha256(A)>`, no
 * address, no ttl), so erasure finds A, deletes its holds (nobody else has it), and a newcomer signing up with A is
 * mailed. Before, erasure looked only at the current address and the timeline still there, and A's denial stayed for
 * ever. Control: the address never changed.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';

const { t, later, offer, latestOffer, addressItems, expireTimelines, unsubscribeLink, clickOneClick } = offerScenario({
  name: 'old-address',
  engine: { env: { ...process.env, RAPPORT_TIMELINE_RETENTION_DAYS: '30' } },
});
const DAY = 86_400_000;

async function scenario(person: string, changesAddress: boolean) {
  const old = `${person}@example.com`;
  const id = `u-${person}`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: old } });
  await later(60_000);
  await offer(id, 1);
  const link = unsubscribeLink(id);
  expect((await clickOneClick(link)).status).toBe(200);
  await later(DAY);
  const deniedBefore = (await addressItems(old)).length;
  if (changesAddress) await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: `${person}-new@example.org` } });
  // Past the timeline's retention, AWS's TTL has deleted the old events.
  await later(31 * DAY);
  await expireTimelines();
  expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
  await t.engine.settle();
  const left = (await addressItems(old)).length;
  // Someone signs up with the old address: nobody with it ever unsubscribed.
  const newcomer = `new-${person}`;
  await t.api.sendAndSettle({ type: 'identify', userId: newcomer, traits: { email: old } });
  await later(60_000);
  await offer(newcomer, 1);
  return { deniedBefore, addressItemsAfterErasure: left, newcomerOffer: await latestOffer(newcomer) };
}

describe("erasure and an address the customer no longer has", () => {
  it('control: the address unchanged, erasure deletes its denial and a newcomer with it is mailed', async () => {
    expect(await scenario('addr-ctl', false)).toEqual({ deniedBefore: 1, addressItemsAfterErasure: 0, newcomerOffer: 'sent' });
  }, 60_000);

  it("erasure deletes the denial of the customer's former address too", async () => {
    expect(await scenario('addr', true)).toEqual({ deniedBefore: 1, addressItemsAfterErasure: 0, newcomerOffer: 'sent' });
  }, 60_000);
});
