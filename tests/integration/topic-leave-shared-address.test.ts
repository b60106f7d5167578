/**
 * Leaving a subscription topic holds for the address, as leaving the channel does (README "Consent": the same person
 * is often two records with one address, a guest checkout and the account). The guest and the account share X; the
 * person leaves the newsletter from the account (`Unsubscribed {channel: email, topic: newsletter}`, what the
 * preference page posts): the address's topic item (`AH#<hash>` / `K#email#newsletter`) is denied, and the guest's
 * newsletter is skipped `topic-unsubscribed` too. A later re-join by a record with the address lifts it; one from a
 * record without the address (naming it) does not; erasing both records leaves no item of the address.
 * Control: a channel unsubscribe.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';

const { t, later, offer, latestOffer, addressItems } = offerScenario({ name: 'topic-address', topic: 'newsletter' });

/** What became of the customer's newsletter (the offer journey, on topic `newsletter`): `sent`, or the reason it was skipped. */
let sends = 0;
const news = async (id: string) => {
  await offer(id, ++sends);
  return latestOffer(id);
};

async function scenario(person: string, leaves: 'topic' | 'channel') {
  const address = `${person}@example.com`;
  const account = `u-${person}`;
  const guest = `guest-${person}`;
  await t.api.send([
    { type: 'identify', userId: guest, traits: { email: address } },
    { type: 'identify', userId: account, traits: { email: address } },
  ]);
  await later(60_000);
  await t.api.sendAndSettle({ type: 'track', userId: account, event: 'Unsubscribed', properties: { channel: 'email', ...(leaves === 'topic' && { topic: 'newsletter' }) } });
  await later(60_000);
  return { account: await news(account), guest: await news(guest) };
}

describe('leaving a topic from one record of an address another record shares', () => {
  it("control: a channel unsubscribe of the account stops the guest's newsletter to the address", async () => {
    expect(await scenario('tla-ctl', 'channel')).toEqual({ account: 'unsubscribed', guest: 'unsubscribed' });
  }, 60_000);

  it("a topic left by the account stops the guest's newsletter to the address", async () => {
    expect(await scenario('tla', 'topic')).toEqual({ account: 'topic-unsubscribed', guest: 'topic-unsubscribed' });
  }, 60_000);

  it('a later re-join by a record with the address lifts it; by a record without it, naming it, it does not', async () => {
    expect(await scenario('tlb', 'topic')).toEqual({ account: 'topic-unsubscribed', guest: 'topic-unsubscribed' });
    // A stranger (another address) re-joins naming X: X stays left.
    await t.api.send({ type: 'identify', userId: 'stranger-tlb', traits: { email: 'stranger-tlb@example.com' } });
    await later(60_000);
    await t.api.sendAndSettle({ type: 'track', userId: 'stranger-tlb', event: 'Subscribed', properties: { channel: 'email', topic: 'newsletter' }, context: { traits: { email: 'tlb@example.com' } } });
    await later(60_000);
    expect(await news('guest-tlb')).toBe('topic-unsubscribed');
    // The guest (who has X) re-joins: X's topic denial is lifted; the account's own choice stands.
    await t.api.sendAndSettle({ type: 'track', userId: 'guest-tlb', event: 'Subscribed', properties: { channel: 'email', topic: 'newsletter' } });
    await later(60_000);
    expect({ guest: await news('guest-tlb'), account: await news('u-tlb') }).toEqual({ guest: 'sent', account: 'topic-unsubscribed' });
  }, 60_000);

  it("erasing both records leaves no item of the address, the topic's included", async () => {
    expect(await scenario('tlc', 'topic')).toEqual({ account: 'topic-unsubscribed', guest: 'topic-unsubscribed' });
    expect((await addressItems('tlc@example.com', undefined, true)).length).toBeGreaterThan(0);
    expect((await t.api.del('/v1/customers/u-tlc')).status).toBe(200);
    // The guest still has X: its items stay, the topic's with them.
    expect(await news('guest-tlc')).toBe('topic-unsubscribed');
    expect((await t.api.del('/v1/customers/guest-tlc')).status).toBe(200);
    expect(await addressItems('tlc@example.com', undefined, true)).toEqual([]);
  }, 60_000);
});
