/**
 * Audit 19 — erasure's email-index fallback counts a record that has just moved away from the address as its holder:
 * the erased customer's address keeps its denial (and a pointer under the other record) after the erasure.
 *
 * Promise (60e4690, README "Privacy: erasure" and "Consent"): an address's denial and suppression go with the last
 * record that has the address; erasure confirms each listed record "still has the address", "then the email index for
 * records written before listings were kept".
 *
 * What I did (the engine's GSIs lag 120 s, `twin.indexLagMs`, as DynamoDB's may): the guest and the account share X;
 * the account unsubscribes (X denied). Days later the guest moves to Y (applied; its listing under X stays, its profile
 * has Y; the email index still lists it under X for a while); two seconds later the account is erased. The listing is
 * checked against the profile (the guest no longer has X: skipped), but the index fallback (`#liveHolderOf`) takes any
 * record the lagging index lists, without reading its profile: the guest, so X's denial is kept for it (`#pointToAddress`).
 * Nobody has X any more.
 *
 * Observed: X's `address-consent` denial survives the erasure; a new record signing up with X (the person back, a new
 * account) is skipped `unsubscribed`. Control: the guest moved ten minutes before the erasure (the index caught up):
 * X's items go, the new record is mailed.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';

const SECOND = 1000;
const { t, later, offer, latestOffer, addressItems, guestAndAccount } = offerScenario({
  name: 'a19-index-fallback',
  engine: { twin: { seed: 19, maxDelayMs: SECOND, duplicateProbability: 0, indexLagMs: 120_000 } },
});

async function scenario(person: string, movedAgoMs: number) {
  const { address, account, guest } = await guestAndAccount(person);
  await later(600_000);
  await t.api.sendAndSettle({ type: 'track', userId: account, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'email' } });
  await later(86_400_000);
  await t.api.sendAndSettle({ type: 'identify', userId: guest, traits: { email: `${person}-new@example.org` } });
  await later(movedAgoMs);
  expect((await t.api.del(`/v1/customers/${account}`)).status).toBe(200);
  await t.engine.settle();
  await later(600_000);
  const kept = (await addressItems(address, 'address-consent')).length;
  // A week on, a new account signs up with X.
  await later(7 * 86_400_000);
  const newcomer = `new-${person}`;
  await t.api.sendAndSettle({ type: 'identify', userId: newcomer, traits: { email: address } });
  await later(60_000);
  await offer(newcomer, 1);
  return { kept, newcomerOffer: await latestOffer(newcomer) };
}

describe('an erasure right after the other record with the address moved away from it (indexes lag 120 s)', () => {
  it('control: the guest moved ten minutes before: the address is freed with the account', async () => {
    expect(await scenario('a19if-ctl', 600_000)).toEqual({ kept: 0, newcomerOffer: 'sent' });
  }, 60_000);

  // BREAK (audit 19): the email-index fallback of `#liveHolderOf` does not confirm the indexed record still has the
  // address (the listing path does): a record that moved away moments before keeps the erased customer's address
  // denial alive; fix idea: read each indexed holder's profile (strongly consistent) and skip it unless it has the
  // address now, as for listed holders (and skip ids already read from the listing).
  it.fails('the guest moved two seconds before: the address is freed with the account', async () => {
    expect(await scenario('a19if', 2 * SECOND)).toEqual({ kept: 0, newcomerOffer: 'sent' });
  }, 60_000);
});
