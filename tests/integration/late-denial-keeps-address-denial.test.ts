/**
 * A late unsubscribe of an erased record leaves the address's denial to the record still having it.
 *
 * Promise (README "Consent" and "Privacy: erasure"; tests/integration/unsubscribed-address-other-record.test.ts):
 * "the address stays denied while another record has it" after one record with it is erased; an `Unsubscribed` from
 * any source received after the erasure (an email tool's own link in an old email) starts no new life: its denial is
 * parked. A denial can only add to what is denied.
 *
 * Scenario: one person, two records with one address (the guest checkout and the account). The account clicks the
 * one-click unsubscribe (the address is denied), then is erased: the guest still has the address, so its denial
 * stays. Then the email tool reports the person clicked its own unsubscribe link in an old email: `track
 * Unsubscribed {channel: email}` for the account's id, naming the address (`context.traits.email`). The guest record
 * then gets an offer, which is skipped `unsubscribed`.
 *
 * How (functions/profile/store.ts `#putAddressHold`): ingest writes the late denial over the address's item, then,
 * write then check, finds the account erased with no new life; the guest still has the address, so the denial stays
 * for it (`#keepForLiveHolder`). (It once deleted the item, taking the guest's denial with it; a take-back, when
 * nobody else has the address, puts back the item the write replaced, `ALL_OLD`.) The control (the same late
 * unsubscribe naming no address) never touches the address's item.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';

const { t, later, offer, latestOffer, addressItems, guestAndAccount, unsubscribeLink, clickOneClick } = offerScenario({ name: 'late-denial-address' });

async function scenario(person: string, lateNamesAddress: boolean) {
  const { address, account, guest } = await guestAndAccount(person);
  await offer(account, 1);
  const link = unsubscribeLink(account);
  expect((await clickOneClick(link)).status).toBe(200);
  await later(60_000);
  expect((await t.api.del(`/v1/customers/${account}`)).status).toBe(200);
  await t.engine.settle();
  const keptAfterErasure = (await addressItems(address)).length;
  await later(3_600_000);

  // The email tool's report of its own unsubscribe link, clicked in an old email.
  await t.api.sendAndSettle({
    type: 'track',
    userId: account,
    event: 'Unsubscribed',
    properties: { channel: 'email' },
    ...(lateNamesAddress && { context: { traits: { email: address } } }),
  });
  await later(60_000);
  const keptAfterLateDenial = (await addressItems(address)).length;
  await offer(guest, 2);
  return { keptAfterErasure, keptAfterLateDenial, guestOffer: await latestOffer(guest) };
}

describe("a late unsubscribe of an erased record sharing an address", () => {
  it("control: naming no address, it leaves the address's denial; the guest record is not mailed", async () => {
    expect(await scenario('a15-late-ctl', false)).toEqual({ keptAfterErasure: 1, keptAfterLateDenial: 1, guestOffer: 'unsubscribed' });
  }, 60_000);

  it("naming the address, it leaves the address denied too", async () => {
    expect(await scenario('a15-late', true)).toEqual({ keptAfterErasure: 1, keptAfterLateDenial: 1, guestOffer: 'unsubscribed' });
  }, 60_000);
});
