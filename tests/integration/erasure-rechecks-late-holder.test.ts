/**
 * A record that gets the address between the erasure's holder check and its deletes keeps the address's denial.
 *
 * Promise (issue 10, consent per address; erasure per address): an address's holds stay while a live record has the
 * address, and no marketing goes to an address after its denial's receipt. The account has X and unsubscribed (X
 * denied). The account is erased: `#addressHoldsToErase` finds no other holder of X and marks X's holds for deletion.
 * Before its BatchWriteItem runs (a DynamoDB middleware), a guest's identify bringing X is applied: listed under X, its
 * profile has X. Then the erasure deletes X's denial: nothing re-checks the address's holders after the check (the
 * erasure) nor the address's holds against a new holder (the writer). The guest, a live record with X, is mailed.
 * Control: the guest's identify is applied before the erasure starts (X stays denied, the offer is skipped).
 * Found by the 20th hostile audit, where it broke.
 * Now: the erasure checks the address's holders again after its deletes and puts the holds back for a record found
 * then (`#freeAddress`: each unless written anew since, then checked).
 */
import { describe, expect, it } from 'vitest';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, later, offer, latestOffer, addressItems, accountUnsubscribed, guestLandsFirst } = offerScenario({ name: 'a20-after-check' });

const hooks = dynamoHooks(t, 'a20AfterCheck');

async function scenario(person: string, racing: boolean) {
  const { address, account, guest } = await accountUnsubscribed(person);
  // Racing: the erasure's deletes, X's denial among them (its holders were checked); the guest gets X first.
  const deletes = (op: string, input: string) => op === 'BatchWriteItem' && input.includes(`"AH#${addressHash(address)}"`) && input.includes('DeleteRequest');
  const raced = await guestLandsFirst(hooks, guest, [{ type: 'identify', userId: guest, messageId: `${person}-guest`, traits: { email: address } }], racing ? deletes : undefined);
  expect((await t.api.del(`/v1/customers/${account}`)).status).toBe(200);
  hooks.clear();
  await t.engine.settle();
  await later(60_000);
  await offer(guest, 1);
  return { raced: raced(), addressDenied: (await addressItems(address, '"denied"')).length, guestOffer: await latestOffer(guest) };
}

describe("the guest gets the address while the account's erasure deletes it", () => {
  it('control: the guest had the address before the erasure: it stays denied', async () => {
    expect(await scenario('a20ac-ctl', false)).toEqual({ raced: false, addressDenied: 1, guestOffer: 'unsubscribed' });
  }, 60_000);

  it("the guest's identify lands between the erasure's check and its deletes: the address stays denied", async () => {
    expect(await scenario('a20ac', true)).toEqual({ raced: true, addressDenied: 1, guestOffer: 'unsubscribed' });
  }, 60_000);
});
