/**
 * A source that may not set consent cannot change a topic's either (ARCHITECTURE decision 9: "a sender can set only
 * what its source is allowed to"). A source's `traits` permission names the consent it may set (`consent.email`,
 * ...), which covers `Subscribed` / `Unsubscribed` for that channel, a topic's on that channel too.
 *
 * The `shop` source may set `firstName` only. The customer leaves the `offers` topic on email (their CRM's
 * `Unsubscribed {channel: email, topic: offers}`). The shop (buggy, or hostile) then sends `Subscribed {channel:
 * email}` and `Subscribed {channel: email, topic: offers}`: both are refused (400 naming `$.properties.channel` and
 * the permission), so a day later the offer journey (topic `offers`) sends nothing. Before the fix the topic's grant
 * was accepted (permissions read channel changes only), won by being later, and the offers email went out.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';
import { OTHER_SECRET, TEST_SECRET, TEST_WRITE_KEY } from '../helpers/engine';
import { outboxFor, runToEnd } from '../helpers/journeys';
import { post, signedRequest } from '../helpers/webhook';

const { t, clock, later } = offerScenario({
  name: 'topic-perm',
  topic: 'offers',
  engine: {
    sources: [
      { id: 'default', webhookSecrets: [TEST_SECRET], writeKeys: [TEST_WRITE_KEY] },
      // The shop may set a customer's first name; no consent of any channel.
      { id: 'shop', webhookSecrets: [OTHER_SECRET], writeKeys: [], traits: ['firstName'] },
    ],
  },
});
const fromShop = (event: unknown) => post(`${t.engine.url}/v1/events`, signedRequest(OTHER_SECRET, event));

async function scenario(id: string, shopGrantsTopic: boolean) {
  await t.api.send({ type: 'identify', userId: id, traits: { email: `${id}@example.com` } });
  await later(60_000);
  // The customer leaves offers (their account settings, through the CRM).
  await t.api.send({ type: 'track', userId: id, event: 'Unsubscribed', properties: { channel: 'email', topic: 'offers' } });
  await later(60_000);
  // The shop, which may set no consent: the channel's grant is refused, naming the field.
  const channelGrant = await fromShop({ type: 'track', userId: id, event: 'Subscribed', properties: { channel: 'email' } });
  const channelGrantRefused = channelGrant.status === 400 && JSON.stringify(channelGrant.json).includes('$.properties.channel');
  const topicAnswer = shopGrantsTopic ? await fromShop({ type: 'track', userId: id, event: 'Subscribed', properties: { channel: 'email', topic: 'offers' } }) : undefined;
  // Refused as the channel's grant is, naming the field and the permission it needs.
  const topicGrant = topicAnswer && `${topicAnswer.status} ${JSON.stringify(topicAnswer.json).includes('$.properties.channel') && JSON.stringify(topicAnswer.json).includes('consent.email')}`;
  await later(86_400_000);
  await t.api.sendAndSettle({ type: 'track', userId: id, event: 'Offer Due', messageId: `${id}-offer` });
  await runToEnd(clock, t.engine, id, 'offer');
  const profile = (await t.api.customer(id)) as unknown as { topicConsent?: Record<string, Record<string, { status: string } | undefined> | undefined> };
  return {
    channelGrantRefused,
    topicGrant,
    offers: profile.topicConsent?.email?.offers?.status,
    offerEmails: outboxFor(t.engine, id).filter((m) => m.channel === 'email').length,
  };
}

describe("a topic's Subscribed from a source that may set no consent", () => {
  it('control: the channel grant is refused, and the customer who left offers gets no offer', async () => {
    expect(await scenario('topic-perm-ctl', false)).toEqual({ channelGrantRefused: true, topicGrant: undefined, offers: 'denied', offerEmails: 0 });
  }, 60_000);

  it("the topic's grant is refused too (400 naming the channel and consent.email), and no offer goes out", async () => {
    expect(await scenario('topic-perm', true)).toEqual({ channelGrantRefused: true, topicGrant: '400 true', offers: 'denied', offerEmails: 0 });
  }, 60_000);
});
