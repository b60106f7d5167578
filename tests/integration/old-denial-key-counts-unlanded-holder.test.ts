/**
 * A take-back timed by an old denial's receipt counts a listing whose write never landed as the address's holder.
 *
 * Promise (issue 10, erasure per address): an address's holds go when its last live holder is erased; a listing whose
 * write never lands counts only while a write could still land (`LISTING_IN_FLIGHT_MS`, tests/integration/
 * unlanded-write-listing-bound.test.ts). A guest's first identify brings Z and never lands (every attempt of its
 * profile's create fails; dead-lettered): the guest is listed under Z, with no profile, for good. An hour later the
 * account, which unsubscribed from email a day before (its denial's key: that receipt), moves to Z: the consumer writes
 * Z's denial as the account's own (`denyAddress`, `putAddressConsent` with the old key); before that hold is written
 * (a DynamoDB middleware, after its pointer) the account is erased. The writer's check finds the account gone and asks
 * whether Z has a live holder, timed by the hold's `receivedAt`: the denial's receipt a day ago, before the guest's
 * listing, so the listing reads as in flight; the guest is taken for Z's holder (a pointer under an id with no profile)
 * and Z stays denied for ever though no record has it: a newcomer with Z is never mailed. Controls: no guest listed;
 * the same guest with the account's denial received after the listing (the bound then applies, Z is freed).
 * Found by the 22nd hostile audit. Now: the consumer judges the hold it writes by its own time (`putAddressConsent`'s `now`), not by the
 * denial's receipt: the guest's hour-old listing of a write that never landed no longer counts.
 */
import { describe, expect, it } from 'vitest';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, later, offer, latestOffer, addressItems } = offerScenario({ name: 'a22-old-key-holder' });

const hooks = dynamoHooks(t, 'a22OldKeyHolder');
const DAY = 86_400_000;

async function scenario(person: string, unlandedGuest: boolean, denial: 'day-old' | 'fresh' = 'day-old') {
  const z = `${person}-z@example.com`;
  const account = `u-${person}`;
  const guest = `guest-${person}`;
  await t.api.sendAndSettle({ type: 'identify', userId: account, traits: { email: `${person}-a@example.com` } });
  await later(60_000);
  const unsubscribe = () => t.api.sendAndSettle({ type: 'track', userId: account, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'email' } });
  if (denial === 'day-old') await unsubscribe();
  await later(DAY);
  if (unlandedGuest) {
    // Every attempt of the guest's first write fails after its listing under Z.
    hooks.set({ keep: true, match: (op, input) => op === 'PutItem' && input.includes(`"C#${guest}"`) && input.includes('"profile"'), before: () => Promise.reject(new Error('write lost')) });
    await t.api.sendAndSettle({ type: 'identify', userId: guest, messageId: `${person}-guest`, traits: { email: z } });
    await later(5 * 60_000);
    hooks.clear();
    expect((await t.api.get(`/v1/customers/${guest}`)).status).toBe(404);
  }
  await later(60 * 60_000);
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
  const zDenied = (await addressItems(z, '"denied"')).length;
  const newcomer = `new-${person}`;
  await t.api.sendAndSettle({ type: 'identify', userId: newcomer, traits: { email: z } });
  await later(60_000);
  await offer(newcomer, 1);
  return { zDenied, newcomer: await latestOffer(newcomer) };
}

describe("the account's old denial taken back from its new address as it is erased", () => {
  it('control: nobody else was ever listed under Z: the denial is taken back, the newcomer is mailed', async () => {
    expect(await scenario('a22ok-ctl', false)).toEqual({ zDenied: 0, newcomer: 'sent' });
  }, 60_000);

  it('control: the same guest, the denial received after its listing (an hour on): the denial is taken back, the newcomer is mailed', async () => {
    expect(await scenario('a22ok-fresh', true, 'fresh')).toEqual({ zDenied: 0, newcomer: 'sent' });
  }, 60_000);

  it('a guest listed under Z an hour ago whose write never landed: the newcomer is mailed', async () => {
    expect(await scenario('a22ok', true)).toEqual({ zDenied: 0, newcomer: 'sent' });
  }, 60_000);
});
