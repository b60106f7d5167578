/**
 * A record that clears its phone number and sets it again is listed under it again: an erasure keeps the STOP it relies on.
 *
 * Promise (issue 10, consent per address; erasure per address): a number's holds stay while a live record has the
 * number. `put` lists a record under its number only when the number differs from the profile's `heldNumber`, which
 * outlives a cleared number. The guest has number N (listed under N), then clears it. The account gets N; its erasure
 * finds no live holder of N and deletes every item under N, the guest's listing with them. The guest sets N again:
 * N equals its stale `heldNumber`, so it is not listed again. A newcomer gets N and texts STOP (N denied): the guest is
 * skipped. The newcomer is erased: N's listings name only the newcomer (numbers have no index to fall back on, as
 * emails do), so N's STOP goes while the guest, a live record with N, has it: the guest is texted. Control: the guest
 * never cleared N.
 * Found by the 20th hostile audit, where it broke.
 * Now: a held hash is marked lapsed once the profile has no number (`lapsedHold`), so the number set again is listed again.
 */
import { describe, expect, it } from 'vitest';
import { profileItems } from '../helpers/engine';
import { addressHash, offerScenario } from '../helpers/address-scenario';

const { t, later, offer, latestOffer } = offerScenario({ name: 'a20-number-cleared', channel: 'sms' });

const identify = async (userId: string, phone: string) => {
  await t.api.sendAndSettle({ type: 'identify', userId, traits: { phone } });
  await later(60_000);
};

async function scenario(person: string, number: string, clears: boolean) {
  const guest = `guest-${person}`;
  const account = `u-${person}`;
  const newcomer = `new-${person}`;
  await identify(guest, number);
  if (clears) await identify(guest, '');
  await identify(account, number);
  expect((await t.api.del(`/v1/customers/${account}`)).status).toBe(200);
  await later(60_000);
  if (clears) await identify(guest, number);
  // The guest's listing under N (`AH#<sha256(N)>` / `H#<sha256(id)>`), as an erasure reads N's holders.
  const guestListed = (await profileItems(t.engine, (text) => text.includes(`"AH#${addressHash(number)}"`) && text.includes(`"H#${addressHash(guest)}"`))).length;
  await identify(newcomer, number);
  await t.api.sendAndSettle({ type: 'track', userId: newcomer, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'sms' } });
  await later(60_000);
  await offer(guest, 1);
  const beforeErasure = await latestOffer(guest);
  expect((await t.api.del(`/v1/customers/${newcomer}`)).status).toBe(200);
  await later(60_000);
  await offer(guest, 2);
  return { guestListed, beforeErasure, afterErasure: await latestOffer(guest) };
}

describe("the newcomer's erasure and a guest that has the number", () => {
  it('control: the guest kept the number throughout: the STOP stays', async () => {
    expect(await scenario('a20nc-ctl', '+447700900401', false)).toEqual({ guestListed: 1, beforeErasure: 'unsubscribed', afterErasure: 'unsubscribed' });
  }, 60_000);

  it('the guest cleared the number and set it again: the STOP stays', async () => {
    expect(await scenario('a20nc', '+447700900402', true)).toEqual({ guestListed: 1, beforeErasure: 'unsubscribed', afterErasure: 'unsubscribed' });
  }, 60_000);
});
