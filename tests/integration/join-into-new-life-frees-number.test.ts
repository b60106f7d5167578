/**
 * A join into a customer who came back after their erasure brings the joined record's STOP (received before the
 * erasure); the consumer's address write of it takes the survivor's new life for the erased life: the new life is
 * unlisted from the number they share and the number's denial is freed.
 *
 * Promise (issue 10, one person's two records sharing a number never let a denial be lost; consent is law): the guest
 * (number N) and the customer (N) are one person; the guest texts STOP (N denied). The customer is erased (N's denial
 * kept for the guest) and comes back with N (a new life, listed under N). Later (past `LISTING_IN_FLIGHT_MS`) an alias
 * joins the guest into the customer: the survivor's consent is the guest's denial (its key: its receipt, before the
 * erasure). `denyAddress` writes it as N's (`putAddressConsent`); `#putAddressHold` judges the hold by its receipt:
 * before the erasure completed, so the erased life's (`gone`), although it is the joined guest's. N's holder check
 * excludes the customer (the live survivor) and the guest is frozen: the hold is "taken back", then
 * `#settleAddressOfGone` deletes the new life's listing under N (no longer in flight) and `#freeAddress` deletes N's
 * denial. A newcomer with N is texted the offer; the customer's profile still says denied.
 * Control: the join a minute after the comeback (the new life's listing still in flight: spared, nothing freed).
 * Found by the 24th hostile audit. Now: the consumer's address holds are judged by the life of the profile it wrote
 * (`HoldWriter`), not by the receipt of the denial a join brought; and a hold of an erased life taken back after the
 * customer came back leaves the new life's listing and pointer.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';

const { t, later, addressItems, newcomerOffer } = offerScenario({ name: 'a24-join-new-life', channel: 'sms' });

async function scenario(person: string, n: string, joinAfterMs: number) {
  const id = `u-${person}`;
  const guest = `guest-${person}`;
  await t.api.sendAndSettle([
    { type: 'identify', userId: guest, traits: { phone: n } },
    { type: 'identify', userId: id, traits: { phone: n } },
  ]);
  await later(60_000);
  await t.api.sendAndSettle({ type: 'track', userId: guest, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'sms' } });
  await later(60_000);
  expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
  await later(60_000);
  await t.api.sendAndSettle({ type: 'identify', userId: id, messageId: `${person}-back`, traits: { phone: n } });
  await later(joinAfterMs);
  await t.api.sendAndSettle({ type: 'alias', previousId: guest, userId: id, messageId: `${person}-join` });
  await later(60_000);
  const survivor = (await t.api.get(`/v1/customers/${id}`)).json as { mergedIds?: string[]; consent?: Record<string, { status?: string }> };
  return {
    joined: survivor.mergedIds,
    consent: survivor.consent?.sms?.status,
    listed: (await addressItems(n, `"${id}"`, true)).length,
    denied: (await addressItems(n, '"denied"')).length,
    newcomer: await newcomerOffer(person, n),
  };
}

describe('a join into a new life brings a STOP received before the erasure', () => {
  it('control: the join a minute after the comeback: the survivor stays listed, N stays denied', async () => {
    expect(await scenario('a24jn-ctl', '+447700900511', 60_000)).toEqual({ joined: ['guest-a24jn-ctl'], consent: 'denied', listed: 1, denied: 1, newcomer: 'unsubscribed' });
  }, 60_000);

  it('the join 20 minutes after the comeback: the survivor stays listed, N stays denied', async () => {
    expect(await scenario('a24jn', '+447700900522', 20 * 60_000)).toEqual({ joined: ['guest-a24jn'], consent: 'denied', listed: 1, denied: 1, newcomer: 'unsubscribed' });
  }, 60_000);
});
