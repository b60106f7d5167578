/**
 * A customer who came back gets a tool's hard bounce of an old message (dated in the erased life, received in the new
 * one: applied to the new life, `denialsOnly`), then their first email address: the address is never suppressed.
 *
 * Promise (issue 10, consent is law; a suppression is the address's; a denial or suppression received after the erasure
 * is the new life's, whatever its date): a profile suppressed before it has an address gets its first address
 * suppressed when it gets one (`denyAddress`, `firstAddress`). The hold is put with the receipt of the event of this
 * write that brought the suppression, else the suppression's `at` (its event's date): here the identify brings none, so
 * `at`, dated before the erasure. `#putAddressHold` judges the hold by that "receipt" (before the erasure completed: the
 * erased life's) and takes it back, as `#undoHoldIfErased` takes back the new life's own suppression hold. A newcomer
 * with the address is emailed the offer.
 * Control: the same bounce and identify of a customer never erased who never had an address: it is suppressed.
 * Found by the 24th hostile audit. Now: the consumer's suppression holds are judged by the life of the profile it
 * wrote (`HoldWriter`): a bounce dated in the erased life but applied to the new one suppresses the new life's
 * address.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';

const { t, clock, later, addressItems, newcomerOffer } = offerScenario({ name: 'a24-new-life-bounce' });

async function scenario(person: string, comeback: boolean) {
  const id = `u-${person}`;
  const b = `${person}-b@example.org`;
  // Control: a customer who never had an address (a first profile of the same shape as a new life's).
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: comeback ? { email: `${person}-a@example.com` } : { firstName: 'First' } });
  await later(60_000);
  // The old message's date: before the erasure (if any).
  const sentAt = clock.now().toISOString();
  await later(60_000);
  if (comeback) {
    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
    await later(60_000);
    await t.api.sendAndSettle({ type: 'identify', userId: id, messageId: `${person}-back`, traits: { firstName: 'Back' } });
    await later(60_000);
  }
  await t.api.sendAndSettle({ type: 'track', userId: id, event: 'Message Bounced', messageId: `${person}-bounce`, timestamp: sentAt, properties: { channel: 'email', bounceType: 'hard' } });
  await later(60_000);
  await t.api.sendAndSettle({ type: 'identify', userId: id, messageId: `${person}-b`, traits: { email: b } });
  await later(60_000);
  const profile = (await t.api.get(`/v1/customers/${id}`)).json as { traits?: { email?: string }; suppression?: Record<string, unknown> };
  return {
    email: profile.traits?.email,
    suppressed: profile.suppression?.email !== undefined,
    bSuppressed: (await addressItems(b, 'address-suppression')).length,
    newcomer: await newcomerOffer(person, b),
  };
}

describe('a hard bounce applied before the first address, after a comeback', () => {
  it('control: a customer never erased: the address is suppressed', async () => {
    expect(await scenario('a24nb-ctl', false)).toEqual({ email: 'a24nb-ctl-b@example.org', suppressed: true, bSuppressed: 1, newcomer: 'suppressed' });
  }, 60_000);

  it('the customer came back: the address is suppressed', async () => {
    expect(await scenario('a24nb', true)).toEqual({ email: 'a24nb-b@example.org', suppressed: true, bSuppressed: 1, newcomer: 'suppressed' });
  }, 60_000);
});
