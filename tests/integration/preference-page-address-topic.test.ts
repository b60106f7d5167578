/**
 * The preference page shows where a record stands as a send decides it: a topic its address left (another record
 * with the address left it) shows unticked, and ticking it re-joins (a `Subscribed` from this record, which has the
 * address, lifts the address's denial). The guest and the account share X; the account leaves the newsletter; the
 * guest's page shows it left; ticking it sends the guest the newsletter again.
 * Control: the guest itself left the newsletter.
 */
import { describe, expect, it } from 'vitest';
import { DEV_UNSUBSCRIBE_KEY } from '../../functions/journeys';
import { preferencesUrl } from '../../functions/journeys/unsubscribe';
import { offerScenario } from '../helpers/address-scenario';

const { clock, t, later, offer, latestOffer } = offerScenario({ name: 'pref', topic: 'newsletter' });

/** What became of the customer's newsletter (the offer journey, on topic `newsletter`): `sent`, or the reason it was skipped. */
let sends = 0;
const news = async (id: string) => {
  await offer(id, ++sends);
  return latestOffer(id);
};
/** The page's form as a browser posts it: its hidden fields and the boxes ticked, `tick` ticked too. */
function formBody(html: string, tick: readonly string[]): string {
  const params = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)">/g)) params.append(m[1]!, m[2]!);
  const ticked = [...html.matchAll(/name="on" value="([^"]+)" checked/g)].map((m) => m[1]!);
  for (const pair of new Set([...ticked, ...tick])) params.append('on', pair);
  return params.toString();
}

async function scenario(person: string, leftBy: 'guest' | 'account') {
  const address = `${person}@example.com`;
  const account = `u-${person}`;
  const guest = `guest-${person}`;
  await t.api.send([
    { type: 'identify', userId: guest, traits: { email: address } },
    { type: 'identify', userId: account, traits: { email: address } },
  ]);
  await later(60_000);
  await t.api.sendAndSettle({ type: 'track', userId: leftBy === 'guest' ? guest : account, event: 'Unsubscribed', properties: { channel: 'email', topic: 'newsletter' } });
  await later(60_000);
  const before = await news(guest);
  // A day later, the guest's preference page: the person asks for the newsletter back.
  await later(86_400_000);
  const link = preferencesUrl(t.engine.url, DEV_UNSUBSCRIBE_KEY, guest, new Date(clock.now().getTime() + 365 * 86_400_000));
  const html = await (await fetch(link)).text();
  const shownTicked = html.includes('value="email:newsletter" checked');
  const saved = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: formBody(html, ['email:newsletter']) });
  expect(saved.status).toBe(200);
  await later(60_000);
  return { before, shownTicked, after: await news(guest) };
}

describe("the guest's preference page after the account left a topic for the shared address", () => {
  it('control: the guest left the newsletter itself: its page shows it left, and ticking it re-joins', async () => {
    expect(await scenario('a18pp-ctl', 'guest')).toEqual({ before: 'topic-unsubscribed', shownTicked: false, after: 'sent' });
  }, 60_000);

  it("after the account left it, the guest's page shows it left, and ticking it re-joins", async () => {
    expect(await scenario('a18pp', 'account')).toEqual({ before: 'topic-unsubscribed', shownTicked: false, after: 'sent' });
  }, 60_000);
});
