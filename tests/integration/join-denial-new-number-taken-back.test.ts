/**
 * A join brings a guest's STOP (received before the survivor's erasure) to a customer who came back after it: the
 * survivor's number is never denied, although the survivor is.
 *
 * Promise (issue 10, consent is law, per address; a join that brings a denial to a record with an address denies the
 * address: `denyAddress`): the guest (no number yet: a guest checkout by email) texts STOP. The customer (number N) is erased and comes back with N.
 * An alias then joins the guest into the customer: the survivor's SMS consent is the guest's denial, and `denyAddress`
 * writes it as N's (`putAddressConsent`, its key the STOP's receipt). `#putAddressHold` judges the hold by its receipt:
 * before the survivor's erasure completed, so the erased life's (`gone`), although it is the joined guest's and the
 * survivor is live; nobody else has N: the hold is taken back. N carries no denial: a newcomer with N is texted the
 * offer. The survivor's profile says denied.
 * Control: the same join into a customer never erased: N is denied.
 * Found by the 24th hostile audit. Now: the consumer's address holds are judged by the life of the profile it wrote
 * (`HoldWriter`): a denial a join brings into a new life is that life's.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';

const { t, later, addressItems, newcomerOffer } = offerScenario({ name: 'a24-join-denial-n', channel: 'sms' });

async function scenario(person: string, n: string, comeback: boolean) {
  const id = `u-${person}`;
  const guest = `guest-${person}`;
  await t.api.sendAndSettle([
    { type: 'identify', userId: guest, traits: { firstName: 'Guest' } },
    { type: 'identify', userId: id, traits: { phone: n } },
  ]);
  await later(60_000);
  await t.api.sendAndSettle({ type: 'track', userId: guest, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'sms' } });
  await later(60_000);
  if (comeback) {
    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
    await later(60_000);
    await t.api.sendAndSettle({ type: 'identify', userId: id, messageId: `${person}-back`, traits: { phone: n } });
    await later(60_000);
  }
  await t.api.sendAndSettle({ type: 'alias', previousId: guest, userId: id, messageId: `${person}-join` });
  await later(60_000);
  const survivor = (await t.api.get(`/v1/customers/${id}`)).json as { mergedIds?: string[]; traits?: { phone?: string }; consent?: Record<string, { status?: string }> };
  return {
    joined: survivor.mergedIds,
    phone: survivor.traits?.phone,
    consent: survivor.consent?.sms?.status,
    nDenied: (await addressItems(n, '"denied"')).length,
    newcomer: await newcomerOffer(person, n),
  };
}

describe("a join brings a STOP to a customer's number", () => {
  it('control: the survivor was never erased: N is denied', async () => {
    expect(await scenario('a24jd-ctl', '+447700900612', false)).toEqual({ joined: ['guest-a24jd-ctl'], phone: '+447700900612', consent: 'denied', nDenied: 1, newcomer: 'unsubscribed' });
  }, 60_000);

  it('the survivor came back after its erasure: N is denied', async () => {
    expect(await scenario('a24jd', '+447700900622', true)).toEqual({ joined: ['guest-a24jd'], phone: '+447700900622', consent: 'denied', nDenied: 1, newcomer: 'unsubscribed' });
  }, 60_000);
});
