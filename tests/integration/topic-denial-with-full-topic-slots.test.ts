/**
 * A topic left on the preference page is kept however many topics a sender filled the profile with (audit 11): any
 * source may send `Subscribed {channel: email, topic: junk-0..31}` (ingest checks a topic id's shape, not that
 * topics.yaml declares it), filling the 32 topics a profile keeps per channel. The customer then leaves "offers" on
 * the page: a denial never goes, it takes the place of the oldest topic the customer is in (whose default applies
 * again), so the profile shows offers left and the page shows it unticked. Control: without the junk, the same.
 */
import { describe, expect, it } from 'vitest';
import { DEV_UNSUBSCRIBE_KEY } from '../../functions/journeys';
import { preferencesUrl } from '../../functions/journeys/unsubscribe';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { useTestEngine } from '../helpers/engine';

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });

/** The page's form as a browser without JavaScript posts it: its hidden fields, and the boxes left ticked. */
function formBody(html: string, untick: readonly string[]): string {
  const params = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)">/g)) params.append(m[1]!, m[2]!);
  for (const m of html.matchAll(/name="on" value="([^"]+)" checked/g)) if (!untick.includes(m[1]!)) params.append('on', m[1]!);
  return params.toString();
}

async function leaveOffers(id: string, undeclaredTopics: number) {
  await t.api.send({ type: 'identify', userId: id, traits: { email: `${id}@example.com` } });
  if (undeclaredTopics > 0) {
    await t.api.send(Array.from({ length: undeclaredTopics }, (_, i) => ({ type: 'track', userId: id, messageId: `${id}-junk-${i}`, event: 'Subscribed', properties: { channel: 'email', topic: `junk-${i}` } })));
  }
  await clock.idle();
  await t.engine.settle();
  const link = preferencesUrl(t.engine.url, DEV_UNSUBSCRIBE_KEY, id, new Date(clock.now().getTime() + 3_600_000));
  const html = await (await fetch(link)).text();
  expect(html).toMatch(/name="on" value="email:offers" checked/);
  const saved = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: formBody(html, ['email:offers']) });
  expect(saved.status).toBe(200);
  expect(await saved.text()).toContain('Your preferences are saved');
  await clock.idle();
  await t.engine.settle();
  const profile = (await t.api.customer(id)) as unknown as { topicConsent?: Record<string, Record<string, { status: string } | undefined> | undefined> };
  const after = await (await fetch(link)).text();
  return { offers: profile.topicConsent?.email?.offers?.status, pageShowsOffersTicked: /name="on" value="email:offers" checked/.test(after) };
}

describe('a topic left once the profile holds 32 other topics (audit 11)', () => {
  it('control: a customer with no undeclared topics leaves offers on the page', async () => {
    expect(await leaveOffers('a11-slots-ctl', 0)).toEqual({ offers: 'denied', pageShowsOffersTicked: false });
  }, 30_000);

  it('a customer whose profile holds 32 undeclared topics leaves offers on the page', async () => {
    expect(await leaveOffers('a11-slots', 32)).toEqual({ offers: 'denied', pageShowsOffersTicked: false });
  }, 30_000);
});
