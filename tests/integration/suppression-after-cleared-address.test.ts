/**
 * A suppression is the address's it was for, never one the record moves to: a suppressed record that clears its email
 * and then sets B (it had an address before: `heldEmail`), or that moved to B and is then joined by alias into a new
 * account, does not suppress B (the spouse at B is mailed). Control: moving from A to B directly.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';

const { t, later, offer, latestOffer, addressItems } = offerScenario({ name: 'a19-cleared' });

async function scenario(person: string, clears: boolean) {
  const account = `u-${person}`;
  const spouse = `spouse-${person}`;
  const first = `${person}-a@example.com`;
  const other = `${person}-b@example.com`;
  await t.api.send([
    { type: 'identify', userId: account, traits: { email: first } },
    { type: 'identify', userId: spouse, traits: { email: other } },
  ]);
  await later(60_000);
  await t.api.sendAndSettle({ type: 'track', userId: account, event: 'Message Bounced', messageId: `${person}-bounce`, properties: { channel: 'email', bounceType: 'hard' } });
  await later(60_000);
  if (clears) {
    await t.api.sendAndSettle({ type: 'identify', userId: account, traits: { email: null } });
    await later(60_000);
  }
  await t.api.sendAndSettle({ type: 'identify', userId: account, traits: { email: other } });
  await later(60_000);
  await offer(spouse, 1);
  return { firstSuppressed: (await addressItems(first, 'address-suppression')).length, otherSuppressed: (await addressItems(other, 'address-suppression')).length, spouseOffer: await latestOffer(spouse) };
}

describe('a suppressed record that gets another address after clearing its own', () => {
  it('control: moving from A to B directly leaves B unsuppressed (the spouse at B is mailed)', async () => {
    expect(await scenario('a19cl-ctl', false)).toEqual({ firstSuppressed: 1, otherSuppressed: 0, spouseOffer: 'sent' });
  }, 60_000);

  it('clearing the email first, then setting B: B is not suppressed (the spouse at B is mailed)', async () => {
    expect(await scenario('a19cl', true)).toEqual({ firstSuppressed: 1, otherSuppressed: 0, spouseOffer: 'sent' });
  }, 60_000);

  it('moved to B, then joined by alias into a new account: B is not suppressed (the spouse at B is mailed)', async () => {
    const person = 'a19cj';
    const old = `u-${person}`;
    const spouse = `spouse-${person}`;
    const other = `${person}-b@example.com`;
    await t.api.send([
      { type: 'identify', userId: old, traits: { email: `${person}-a@example.com` } },
      { type: 'identify', userId: spouse, traits: { email: other } },
    ]);
    await later(60_000);
    await t.api.sendAndSettle({ type: 'track', userId: old, event: 'Message Bounced', messageId: `${person}-bounce`, properties: { channel: 'email', bounceType: 'hard' } });
    await later(60_000);
    await t.api.sendAndSettle({ type: 'identify', userId: old, traits: { email: other } });
    await later(60_000);
    await t.api.sendAndSettle({ type: 'alias', previousId: old, userId: `new-${person}` });
    await later(60_000);
    await offer(spouse, 1);
    expect({ otherSuppressed: (await addressItems(other, 'address-suppression')).length, spouseOffer: await latestOffer(spouse) }).toEqual({ otherSuppressed: 0, spouseOffer: 'sent' });
  }, 60_000);
});
