/**
 * A record that gets the number while an erased record's late STOP is settled keeps its listing, and a later holder's
 * erasure does not take the number's STOP from it.
 *
 * Promise (issue 10, consent per address; erasure per address): an address's holds stay while a live record has the
 * address. The account had number N and was erased. Its late STOP naming N (dated before the erasure, received after)
 * finds it gone: `#putAddressHold` takes the denial back and `#settleAddressOfGone` finds no holder of N, then reads
 * N's partition to delete it. Before that read (a DynamoDB middleware) a guest's identify bringing N is applied:
 * listed under N. The read takes the guest's listing and the settle deletes it; the guest's profile keeps `heldNumber`
 * N, so no later write lists it again. Then another record gets N and texts STOP, and is erased: its erasure finds no
 * other holder of N (the guest is listed nowhere; a number has no index) and deletes N's STOP. The guest is texted.
 * Control: the guest's identify applied before the late STOP (listed; the STOP stays for it).
 * Found by the 21st hostile audit, where it broke.
 * Now: settling frees the address's holds only (`#freeAddress`), never listings.
 */
import { describe, expect, it } from 'vitest';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, clock, later, offer, latestOffer, addressItems, guestLandsFirst } = offerScenario({ name: 'a21-settle-listing', channel: 'sms' });

const hooks = dynamoHooks(t, 'a21SettleListing');

async function scenario(person: string, number: string, racing: boolean) {
  const account = `u-${person}`;
  const guest = `guest-${person}`;
  const other = `u2-${person}`;
  await t.api.sendAndSettle({ type: 'identify', userId: account, traits: { phone: number } });
  await later(60_000);
  const beforeErasure = clock.now().toISOString();
  await later(60_000);
  expect((await t.api.del(`/v1/customers/${account}`)).status).toBe(200);
  await t.engine.settle();
  await later(60_000);
  // Racing: the settle's read of N's items (no holder was found); the guest gets N first.
  const read = (op: string, input: string) => op === 'Query' && input.includes(`"AH#${addressHash(number)}"`) && input.includes('"KeyConditionExpression":"#pk = :pk"');
  const raced = await guestLandsFirst(hooks, guest, [{ type: 'identify', userId: guest, messageId: `${person}-guest`, traits: { phone: number } }], racing ? read : undefined);
  // The account's late STOP from its old life, naming N.
  await t.api.sendAndSettle({ type: 'track', userId: account, event: 'Unsubscribed', messageId: `${person}-late-stop`, timestamp: beforeErasure, properties: { channel: 'sms' }, context: { traits: { phone: number } } });
  hooks.clear();
  await t.engine.settle();
  await later(60_000);
  const listedAfterStop = (await addressItems(number, '"H#', true)).length;
  // Another record with N texts STOP, and is erased.
  await t.api.sendAndSettle({ type: 'identify', userId: other, traits: { phone: number } });
  await later(60_000);
  await t.api.sendAndSettle({ type: 'track', userId: other, event: 'Unsubscribed', messageId: `${person}-stop2`, properties: { channel: 'sms' } });
  await later(60_000);
  expect((await t.api.del(`/v1/customers/${other}`)).status).toBe(200);
  await t.engine.settle();
  await later(60_000);
  await offer(guest, 1);
  return { raced: raced(), listedAfterStop, numberDenied: (await addressItems(number, '"denied"')).length, guestOffer: await latestOffer(guest) };
}

describe("the guest gets the number while an erased record's late STOP of it is settled", () => {
  it('control: the guest had the number before the late STOP: the next STOP stays for it', async () => {
    expect(await scenario('a21sl-ctl', '+447700900541', false)).toEqual({ raced: false, listedAfterStop: 1, numberDenied: 1, guestOffer: 'unsubscribed' });
  }, 60_000);

  it("the guest's identify lands between the settle's holder check and its read: the next STOP stays for it", async () => {
    expect(await scenario('a21sl', '+447700900542', true)).toEqual({ raced: true, listedAfterStop: 1, numberDenied: 1, guestOffer: 'unsubscribed' });
  }, 60_000);
});
