/**
 * A take-back timed by an old denial's receipt judges a holder who came back by a tombstone that had expired: the
 * address's denial is lost while that holder has the address.
 *
 * Promise (issue 10, "a denial is never lost while a live record holds the address"): an erased record's denial of an
 * address another live record has stays, for that record. The guest was erased long ago (its tombstone expired: 47
 * days; DynamoDB deletes expired items late and the engine filters them on read) and came back since with Z: a fresh,
 * live profile. The account unsubscribed from email 47 days ago (its denial's key: that receipt), and now moves to Z:
 * the consumer writes Z's denial as the account's own (`putAddressConsent` with the old key); before that hold is
 * written (a DynamoDB middleware) the account is erased. The writer's check finds the account gone and asks whether Z
 * has a live holder, timed by the hold's `receivedAt`, the old receipt: at that time the guest's tombstone was live
 * and the guest had no new life, so the guest reads as erased: the denial is taken back. The guest, who has Z, is
 * mailed. Controls: a guest never erased; the same guest with the account's denial received just before the move
 * (both keep Z's denial: `unsubscribed`).
 * Found by the 22nd hostile audit. Now: the consumer judges the hold it writes by its own time (`putAddressConsent`'s `now`), not by the
 * denial's receipt: the guest's expired tombstone no longer makes the guest who came back count as erased.
 */
import { describe, expect, it } from 'vitest';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, later, offer, latestOffer, addressItems } = offerScenario({ name: 'a22-old-key-comeback' });

const hooks = dynamoHooks(t, 'a22OldKeyComeback');
const DAY = 86_400_000;

async function scenario(person: string, guestErasedBefore: boolean, denial: 'old' | 'fresh' = 'old') {
  const z = `${person}-z@example.com`;
  const account = `u-${person}`;
  const guest = `guest-${person}`;
  if (guestErasedBefore) {
    await t.api.sendAndSettle({ type: 'identify', userId: guest, traits: { email: `${person}-g@example.com` } });
    await later(60_000);
    expect((await t.api.del(`/v1/customers/${guest}`)).status).toBe(200);
  }
  await later(DAY);
  await t.api.sendAndSettle({ type: 'identify', userId: account, traits: { email: `${person}-a@example.com` } });
  await later(60_000);
  const unsubscribe = () => t.api.sendAndSettle({ type: 'track', userId: account, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'email' } });
  if (denial === 'old') await unsubscribe();
  // 47 days on, the guest's tombstone has expired: the guest comes back (a fresh profile) with Z.
  await later(47 * DAY);
  await t.api.sendAndSettle({ type: 'identify', userId: guest, messageId: `${person}-guest-z`, traits: { email: z } });
  await later(60_000);
  const guestLive = (await t.api.get(`/v1/customers/${guest}`)).status;
  if (denial === 'fresh') {
    await unsubscribe();
    await later(60_000);
  }
  let erased: number | undefined;
  hooks.set({
    // The account's own denial of Z, as the consumer writes it after the move: the account is erased first.
    match: (op, input) => op === 'PutItem' && input.includes(`"AH#${addressHash(z)}"`) && input.includes('"K#email"'),
    before: async () => void (erased = (await t.api.del(`/v1/customers/${account}`)).status),
  });
  await t.api.sendAndSettle({ type: 'identify', userId: account, messageId: `${person}-move`, traits: { email: z } });
  hooks.clear();
  await later(60_000);
  expect(erased).toBe(200);
  await offer(guest, 1);
  return { guestLive, zDenied: (await addressItems(z, '"denied"')).length, guest: await latestOffer(guest) };
}

describe("the account's old denial of its new address, shared with a guest, as the account is erased", () => {
  it('control: a guest never erased: Z stays denied for the guest', async () => {
    expect(await scenario('a22okc-ctl', false)).toEqual({ guestLive: 200, zDenied: 1, guest: 'unsubscribed' });
  }, 60_000);

  it('control: the same guest, the account unsubscribing just before the move: Z stays denied for the guest', async () => {
    expect(await scenario('a22okc-fresh', true, 'fresh')).toEqual({ guestLive: 200, zDenied: 1, guest: 'unsubscribed' });
  }, 60_000);

  it('a guest erased long ago and back with Z: Z stays denied for the guest', async () => {
    expect(await scenario('a22okc', true)).toEqual({ guestLive: 200, zDenied: 1, guest: 'unsubscribed' });
  }, 60_000);
});
