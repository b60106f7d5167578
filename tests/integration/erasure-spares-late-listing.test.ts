/**
 * A record that gets the number between the erasure's holder check and its read of the number's items keeps its
 * listing and the number's holds, and is not texted after the number's STOP.
 *
 * Promise (issue 10, consent per address; erasure per address): an address's holds stay while a live record has the
 * address, and no marketing goes to a number after its STOP's receipt. The account has number N and texted STOP (N
 * denied). The account is erased: `#addressHoldsToErase` finds no other holder of N, then reads N's partition to delete
 * it. Before that read (a DynamoDB middleware), a guest's identify bringing N is applied: listed under N, its profile
 * has N. The read takes the guest's listing with N's holds, and the erasure deletes them all; `#freeAddress`
 * then looks for N's holders by their listings, finds none (a number has no index to fall back on), and puts nothing
 * back. The guest, a live record with N, is texted; its profile keeps `heldNumber` N, so no later write lists it again.
 * Control: the guest's identify applied before the erasure starts (N stays denied, the guest listed under it).
 * Found by the 21st hostile audit, where it broke.
 * Now: freeing an address deletes its holds only, never listings (`#freeAddress`), so the recheck finds the guest.
 */
import { describe, expect, it } from 'vitest';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, later, offer, latestOffer, addressItems, accountUnsubscribed, guestLandsFirst } = offerScenario({ name: 'a21-late-listing', channel: 'sms' });

const hooks = dynamoHooks(t, 'a21LateListing');

async function scenario(person: string, number: string, racing: boolean) {
  const { account, guest } = await accountUnsubscribed(person, { address: number });
  // Racing: the erasure's read of N's items (no other holder was found); the guest gets N first.
  const read = (op: string, input: string) => op === 'Query' && input.includes(`"AH#${addressHash(number)}"`) && input.includes('"KeyConditionExpression":"#pk = :pk"');
  const raced = await guestLandsFirst(hooks, guest, [{ type: 'identify', userId: guest, messageId: `${person}-guest`, traits: { phone: number } }], racing ? read : undefined);
  expect((await t.api.del(`/v1/customers/${account}`)).status).toBe(200);
  hooks.clear();
  await t.engine.settle();
  await later(60_000);
  await offer(guest, 1);
  return { raced: raced(), numberDenied: (await addressItems(number, '"denied"')).length, listings: (await addressItems(number, '"H#', true)).length, guestOffer: await latestOffer(guest) };
}

describe("the guest gets the account's number while the account's erasure reads the number's items", () => {
  it('control: the guest had the number before the erasure: it stays denied', async () => {
    expect(await scenario('a21ll-ctl', '+447700900531', false)).toEqual({ raced: false, numberDenied: 1, listings: 1, guestOffer: 'unsubscribed' });
  }, 60_000);

  it("the guest's identify lands between the erasure's holder check and its read: the number stays denied", async () => {
    expect(await scenario('a21ll', '+447700900532', true)).toEqual({ raced: true, numberDenied: 1, listings: 1, guestOffer: 'unsubscribed' });
  }, 60_000);
});
