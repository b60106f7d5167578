/**
 * A topic left on the preference page is kept however many topics the profile holds (audit 11). Ingest refuses a
 * consent change for a topic topics.yaml does not declare (audit 12), but a profile may still hold up to 32 topics
 * a channel that are not declared now: kept before that check, or declared then and removed since. Here they are
 * put on the bus directly, as those profiles got them. The customer then leaves "offers" on the page: a denial
 * never goes, it takes the place of the oldest topic the customer is in (whose default applies again), so the
 * profile shows offers left and the page shows it unticked. Control: without them, the same.
 */
import { describe, expect, it } from 'vitest';
import { DEV_UNSUBSCRIBE_KEY } from '../../functions/journeys';
import { preferencesUrl } from '../../functions/journeys/unsubscribe';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { normaliseEvent, toBusEntry } from '../../shared';
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
    const entries = Array.from({ length: undeclaredTopics }, (_, i) => {
      const result = normaliseEvent({ type: 'track', userId: id, messageId: `${id}-junk-${i}`, event: 'Subscribed', properties: { channel: 'email', topic: `junk-${i}` } }, i, { sourceId: 'default', receivedAt: clock.now() });
      if (!result.ok) throw new Error(JSON.stringify(result.problems));
      return toBusEntry(result.event);
    });
    for (let i = 0; i < entries.length; i += 10) t.engine.bus.putEvents(entries.slice(i, i + 10));
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

describe('a topic left once the profile holds 32 other topics', () => {
  it('control: a customer with no undeclared topics leaves offers on the page', async () => {
    expect(await leaveOffers('a11-slots-ctl', 0)).toEqual({ offers: 'denied', pageShowsOffersTicked: false });
  }, 30_000);

  it('a customer whose profile holds 32 topics not declared now leaves offers on the page', async () => {
    expect(await leaveOffers('a11-slots', 32)).toEqual({ offers: 'denied', pageShowsOffersTicked: false });
  }, 30_000);
});
