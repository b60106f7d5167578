/**
 * Erasure is complete while events race it (ARCHITECTURE decision 8): an address's denial goes with the last record
 * that has the address. The guest and the account share X; the guest is mailed an offer, then erased (the account
 * keeps X). The person clicks the guest's old one-click link (`a` = X's hash) while the account is being erased: a
 * DynamoDB middleware holds the click's put of X's denial until the account's erasure has judged X (nobody else has
 * it: X's items deleted). The click writes first and then looks for a live holder (write, then check): it finds none
 * and takes its denial back, so nothing of X is left and a newcomer at X is mailed. (Before, it checked the holder,
 * then wrote: the denial stayed for ever with no holder and no pointer.)
 * Control: the account erased after the click's answer: X's items go with it.
 */
import { describe, expect, it } from 'vitest';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';
import { profileItems } from '../helpers/engine';

const { t, later, offer, latestOffer, guestAndAccount, unsubscribeLink, clickOneClick } = offerScenario({ name: 'click-race' });

const hooks = dynamoHooks(t, 'clickRace');

/** Every item naming the address's hash: its `AH#` items and the `AP#` pointers to it. */
const addressItems = (address: string) => profileItems(t.engine, (text) => text.includes(addressHash(address)));

async function scenario(person: string, racing: boolean) {
  const { address, account, guest } = await guestAndAccount(person);
  await offer(guest, 1);
  const link = unsubscribeLink(guest);
  await later(60_000);
  expect((await t.api.del(`/v1/customers/${guest}`)).status).toBe(200);
  await t.engine.settle();
  await later(3_600_000);

  let accountErasure: number | undefined;
  const eraseAccount = async () => (accountErasure = (await t.api.del(`/v1/customers/${account}`)).status);
  hooks.set();
  // The click's put of X's denial (`denyErasedAddress`, after its pointer under the account and that pointer's check).
  if (racing) hooks.set({ match: (op, input) => op === 'PutItem' && input.includes(`AH#${addressHash(address)}`) && input.includes('address-consent'), before: eraseAccount });
  const page = await clickOneClick(link);
  hooks.clear();
  if (!racing) await eraseAccount();
  await t.engine.settle();
  await later(60_000);
  const left = (await addressItems(address)).length;
  const newcomer = `new-${person}`;
  await t.api.sendAndSettle({ type: 'identify', userId: newcomer, traits: { email: address } });
  await later(60_000);
  await offer(newcomer, 1);
  return { click: page.status, raced: hooks.fired > 0 === racing, accountErasure, addressItemsLeft: left, newcomerOffer: await latestOffer(newcomer) };
}

describe("a late click on an erased record's link racing the erasure of the address's last holder", () => {
  it("control: the holder erased after the click: the address's items go with it", async () => {
    expect(await scenario('a17r-ctl', false)).toEqual({ click: 200, raced: true, accountErasure: 200, addressItemsLeft: 0, newcomerOffer: 'sent' });
  }, 60_000);

  it("the holder erased while the click runs: the address's items still go", async () => {
    expect(await scenario('a17r', true)).toEqual({ click: 200, raced: true, accountErasure: 200, addressItemsLeft: 0, newcomerOffer: 'sent' });
  }, 60_000);
});
