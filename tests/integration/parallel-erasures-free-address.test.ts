/**
 * Two records of one person erased at once take their address's denial with them.
 *
 * Promise (README "Privacy: erasure", ARCHITECTURE decision 8: "Erasure is complete even while events race it"): an
 * address's denial and suppression (`AH#<sha256(address)>`, no TTL) "go with the last customer that has the address".
 *
 * Scenario: one person, two records with one address (the guest checkout and the account). The account clicks the
 * one-click unsubscribe (the address is denied). The operator finds both records by the address
 * (`GET /v1/customers?email=`) and erases both, the two DELETEs sent together (a script erasing every match). Both
 * answer 200, the address's items are gone, and a newcomer with the address is mailed. The control sends the two
 * DELETEs one after the other.
 *
 * The fix (functions/profile/store.ts `#addressHoldsToErase`): each erasure reads the email index before either has
 * deleted its profile, so each saw the other record still holding the address and kept the address's items for ever.
 * A record another erasure has tombstoned (with no new life: `erasedNow`) now counts as gone: each erasure tombstones
 * its ids before this check, so whichever checks later sees both tombstones and deletes the address's items.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';

const { t, later, offer, latestOffer, addressItems, guestAndAccount, unsubscribeLink, clickOneClick } = offerScenario({ name: 'parallel-erase' });

async function scenario(person: string, together: boolean) {
  const { address, account } = await guestAndAccount(person);
  await offer(account, 1);
  const link = unsubscribeLink(account);
  expect((await clickOneClick(link)).status).toBe(200);
  await later(60_000);
  const found = ((await t.api.get(`/v1/customers?email=${encodeURIComponent(address)}`)).json.customers as unknown as Array<{ id: string }>).map((c) => c.id).sort();
  const statuses = together ? await Promise.all(found.map(async (id) => (await t.api.del(`/v1/customers/${id}`)).status)) : [(await t.api.del(`/v1/customers/${found[0]}`)).status, (await t.api.del(`/v1/customers/${found[1]}`)).status];
  await t.engine.settle();
  const left = (await addressItems(address)).length;
  const newcomer = `new-${person}`;
  await t.api.sendAndSettle({ type: 'identify', userId: newcomer, traits: { email: address } });
  await later(60_000);
  await offer(newcomer, 1);
  return { found: found.length, statuses, addressItemsAfterErasure: left, newcomerOffer: await latestOffer(newcomer) };
}

describe("erasing every record of an address at once", () => {
  it("control: one after the other, the address's denial goes with the last", async () => {
    expect(await scenario('a15-par-ctl', false)).toEqual({ found: 2, statuses: [200, 200], addressItemsAfterErasure: 0, newcomerOffer: 'sent' });
  }, 60_000);

  it('together, the address denial goes too', async () => {
    expect(await scenario('a15-par', true)).toEqual({ found: 2, statuses: [200, 200], addressItemsAfterErasure: 0, newcomerOffer: 'sent' });
  }, 60_000);
});
