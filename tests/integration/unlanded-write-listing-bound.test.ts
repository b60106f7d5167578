/**
 * A new record's first write that never lands holds its address only while a write could still land.
 *
 * Promise (issue 10, erasure per address): an address's holds go when its last live holder is erased. The account has
 * X and unsubscribed (X denied). A guest's first identify brings X: `put` lists the guest under X, then every attempt of
 * its profile's create fails (a DynamoDB middleware; the event is dead-lettered), so the guest never has a profile. An
 * hour later (far past any write in flight, `LISTING_IN_FLIGHT_MS`) the account is erased: nobody has X, yet X's denial
 * stays. `#liveHolderOf` bounds an existing record's listing for a write in flight by 15 minutes, but counts "listed, no
 * profile" with no bound at all. Control: the same for an existing guest moving to X (the bound applies; X is freed).
 * Found by the 20th hostile audit, where it broke.
 * Now: a listing counts only within `LISTING_IN_FLIGHT_MS`, profile or not.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, later, addressItems, accountUnsubscribed } = offerScenario({ name: 'a20-unlanded' });

const hooks = dynamoHooks(t, 'a20Unlanded');

async function scenario(person: string, guestExists: boolean) {
  const { address, account, guest } = await accountUnsubscribed(person, { guestHas: guestExists ? `${person}-old@example.com` : undefined });
  // Every attempt of the guest's write bringing X fails after its listing under X.
  hooks.set({ keep: true, match: (op, input) => op === 'PutItem' && input.includes(`"C#${guest}"`) && input.includes('"profile"'), before: () => Promise.reject(new Error('write lost')) });
  await t.api.sendAndSettle({ type: 'identify', userId: guest, messageId: `${person}-x`, traits: { email: address } });
  await later(5 * 60_000);
  hooks.clear();
  const listed = (await addressItems(address, '"address-holder"', true)).length;
  await later(60 * 60_000);
  expect((await t.api.del(`/v1/customers/${account}`)).status).toBe(200);
  await t.engine.settle();
  return { listed, guestProfile: (await t.api.get(`/v1/customers/${guest}`)).status, addressDenied: (await addressItems(address, '"denied"')).length };
}

describe("a guest's write bringing the address never lands, and the account is erased an hour later", () => {
  it('control: an existing guest moving to the address: after the bound, the erasure frees the address', async () => {
    expect(await scenario('a20ul-ctl', true)).toEqual({ listed: 2, guestProfile: 200, addressDenied: 0 });
  }, 60_000);


  it('a new guest (no profile ever written): the erasure frees the address', async () => {
    expect(await scenario('a20ul', false)).toEqual({ listed: 2, guestProfile: 404, addressDenied: 0 });
  }, 60_000);
});
