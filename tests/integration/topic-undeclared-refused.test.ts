/**
 * A sender cannot fill a profile's topic slots with topics topics.yaml does not declare (found by the twelfth audit).
 * A profile keeps consent for at most 32 topics a channel; any source could send `Unsubscribed {channel: email,
 * topic: junk-0..31}` (harmless on its face: a denial), leaving no granted topic to evict, so the customer's later
 * "leave offers" on the preference page answered "saved" but was dropped, the page showed offers still ticked, and
 * once ingest's 30-day hold expired an offers email went out. Now ingest refuses a consent change for an undeclared
 * topic (400 naming `properties.topic` and the declared ones) and the customer's leave stands. Control: without
 * the junk, the same.
 */
import { describe, expect, it } from 'vitest';
import { DEV_UNSUBSCRIBE_KEY } from '../../functions/journeys';
import { preferencesUrl } from '../../functions/journeys/unsubscribe';
import { offerScenario } from '../helpers/address-scenario';
import { TEST_WRITE_KEY } from '../helpers/engine';
import { outboxFor, runToEnd } from '../helpers/journeys';

const { t, clock } = offerScenario({ name: 'a12-slots', topic: 'offers' });

/** The page's form as a browser without JavaScript posts it: its hidden fields, and the boxes left ticked. */
function formBody(html: string, untick: readonly string[]): string {
  const params = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)">/g)) params.append(m[1]!, m[2]!);
  for (const m of html.matchAll(/name="on" value="([^"]+)" checked/g)) if (!untick.includes(m[1]!)) params.append('on', m[1]!);
  return params.toString();
}

async function leaveOffersThenOffer(id: string, junkDenials: number) {
  await t.api.send({ type: 'identify', userId: id, traits: { email: `${id}@example.com` } });
  if (junkDenials > 0) {
    // A hostile (or buggy) source: 32 unsubscribes from topics topics.yaml never declared, each refused.
    const res = await fetch(`${t.engine.url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${TEST_WRITE_KEY}:`).toString('base64')}` },
      body: JSON.stringify({ batch: Array.from({ length: junkDenials }, (_, i) => ({ type: 'track', userId: id, messageId: `${id}-junk-${i}`, event: 'Unsubscribed', properties: { channel: 'email', topic: `junk-${i}` } })) }),
    });
    const body = (await res.json()) as { rejected: Array<{ index: number; problems: Array<{ path: string; message: string }> }> };
    expect(res.status).toBe(400);
    expect(body.rejected).toHaveLength(junkDenials);
    expect(body.rejected[0]!.problems).toEqual([{ path: '$.properties.topic', message: 'unknown topic "junk-0"; workflows/topics.yaml declares newsletter, offers, product-updates' }]);
  }
  await clock.idle();
  await t.engine.settle();
  const link = preferencesUrl(t.engine.url, DEV_UNSUBSCRIBE_KEY, id, new Date(clock.now().getTime() + 3_600_000));
  const html = await (await fetch(link)).text();
  const saved = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: formBody(html, ['email:offers']) });
  const savedText = await saved.text();
  await clock.idle();
  await t.engine.settle();
  const profile = (await t.api.customer(id)) as unknown as { topicConsent?: Record<string, Record<string, { status: string } | undefined> | undefined> };
  const pageAfter = await (await fetch(link)).text();
  // 31 days later (ingest's hold of the denial, 30 days, has expired): an offer is due.
  await clock.run(clock.now().getTime() + 31 * 86_400_000);
  await t.api.sendAndSettle([{ type: 'track', userId: id, event: 'Offer Due', messageId: `${id}-offer` }]);
  await runToEnd(clock, t.engine, id, 'offer');
  return {
    saved: saved.status === 200 && savedText.includes('Your preferences are saved'),
    offers: profile.topicConsent?.email?.offers?.status,
    pageShowsOffersTicked: /name="on" value="email:offers" checked/.test(pageAfter),
    offerEmailsSent: outboxFor(t.engine, id).filter((m) => m.channel === 'email').length,
  };
}

describe('a sender\'s denials of undeclared topics', () => {
  it('control: without the junk denials, offers is left and no offer goes out a month later', async () => {
    expect(await leaveOffersThenOffer('a12-slots-ctl', 0)).toEqual({ saved: true, offers: 'denied', pageShowsOffersTicked: false, offerEmailsSent: 0 });
  }, 60_000);

  it('are refused (400 naming the field); offers is then left and no offer goes out a month later', async () => {
    expect(await leaveOffersThenOffer('a12-slots', 32)).toEqual({ saved: true, offers: 'denied', pageShowsOffersTicked: false, offerEmailsSent: 0 });
  }, 60_000);
});
