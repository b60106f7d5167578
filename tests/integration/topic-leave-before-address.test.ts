/**
 * A topic left before the identify bringing the address reaches the profile is still left for the address: the
 * profile consumer writes each denied topic as the address's when the profile gets the address (`denyAddress`), as it
 * does the channel's denial. The guest has X; the account leaves the newsletter, then the identify giving it X
 * arrives: the guest's newsletter to X is skipped `topic-unsubscribed`. Control: a channel unsubscribe.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';

const { t, later, offer, latestOffer, addressItems } = offerScenario({ name: 'topic-before', topic: 'newsletter' });

/** What became of the customer's newsletter (the offer journey, on topic `newsletter`): `sent`, or the reason it was skipped. */
let sends = 0;
const news = async (id: string) => {
  await offer(id, ++sends);
  return latestOffer(id);
};
const addressDenials = async (address: string) => (await addressItems(address, '"denied"')).length;

async function scenario(person: string, leaves: 'topic' | 'channel') {
  const address = `${person}@example.com`;
  const account = `u-${person}`;
  const guest = `guest-${person}`;
  await t.api.send([
    { type: 'identify', userId: guest, traits: { email: address } },
    { type: 'identify', userId: account, traits: { name: 'Ann' } },
  ]);
  await later(60_000);
  // The account leaves (the topic, or the channel) before the identify that brings its address.
  await t.api.sendAndSettle({ type: 'track', userId: account, event: 'Unsubscribed', properties: { channel: 'email', ...(leaves === 'topic' && { topic: 'newsletter' }) } });
  await later(60_000);
  await t.api.sendAndSettle({ type: 'identify', userId: account, traits: { email: address } });
  await later(60_000);
  return { addressDenied: (await addressDenials(address)) > 0, account: await news(account), guest: await news(guest) };
}

describe('a topic left before the identify bringing the address', () => {
  it("control: a channel unsubscribe before the address arrives still stops the guest's mail to it", async () => {
    expect(await scenario('a18tb-ctl', 'channel')).toEqual({ addressDenied: true, account: 'unsubscribed', guest: 'unsubscribed' });
  }, 60_000);

  it("a topic left before the address arrives stops the guest's newsletter to it", async () => {
    expect(await scenario('a18tb', 'topic')).toEqual({ addressDenied: true, account: 'topic-unsubscribed', guest: 'topic-unsubscribed' });
  }, 60_000);
});
