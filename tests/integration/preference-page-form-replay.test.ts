/**
 * A replayed preference-page save cannot beat a later denial. The page stamps its form with when it was shown
 * (`at`, signed with the link's keys as `sig`); a subscription saved from it is dated then. A customer re-ticks
 * "offers" on the page (form B), later leaves offers through another route (their CRM's `Unsubscribed {channel:
 * email, topic: offers}`), and then form B is posted again: the browser's "confirm form resubmission" on a restored
 * tab, a proxy's retry, or anyone who saw the request (the token is in the URL, the link valid for a year). The
 * later denial stands, whether the profile had applied it when the replay came (the page then says the choice was
 * not saved) or not (the replayed grant is ordered before it). A stamp altered or taken from another customer's
 * page is refused; a form without one may still leave topics but not join them. Found by the eleventh audit.
 */
import { describe, expect, it } from 'vitest';
import { DEV_UNSUBSCRIBE_KEY } from '../../functions/journeys';
import { preferencesUrl } from '../../functions/journeys/unsubscribe';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { holdConsumer, laterOn, useTestEngine } from '../helpers/engine';

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
const later = laterOn(clock, t);

/** The page's form as a browser without JavaScript posts it: its hidden fields, and the boxes ticked (`untick`/`tick` changed). */
function formBody(html: string, untick: readonly string[], tick: readonly string[] = []): string {
  const params = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)">/g)) params.append(m[1]!, m[2]!);
  const ticked = [...html.matchAll(/name="on" value="([^"]+)" checked/g)].map((m) => m[1]!);
  for (const pair of [...ticked.filter((p) => !untick.includes(p)), ...tick.filter((p) => !ticked.includes(p))]) params.append('on', pair);
  return params.toString();
}
const post = (link: string, body: string) => fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
const offersOf = async (id: string) => ((await t.api.customer(id)) as unknown as { topicConsent?: Record<string, Record<string, { status: string } | undefined> | undefined> }).topicConsent?.email?.offers?.status;

async function scenario(id: string, replay: boolean, denialLate = false) {
  await t.api.send({ type: 'identify', userId: id, traits: { email: `${id}@example.com` } });
  await later(1_000);
  const link = preferencesUrl(t.engine.url, DEV_UNSUBSCRIBE_KEY, id, new Date(clock.now().getTime() + 365 * 86_400_000));
  // The customer leaves offers on the page, then comes back a minute later and ticks it again (form B).
  expect((await post(link, formBody(await (await fetch(link)).text(), ['email:offers']))).status).toBe(200);
  await later(60_000);
  const formB = formBody(await (await fetch(link)).text(), [], ['email:offers']);
  expect((await post(link, formB)).status).toBe(200);
  await later(60_000);
  expect(await offersOf(id)).toBe('granted');
  // A day later they leave offers through their account settings (the CRM sends Rapport the denial).
  await later(86_400_000);
  // The profile consumer may be late with the denial when the replay comes: held until after it, if so.
  const late = denialLate ? holdConsumer(t.engine, (d) => d.userId === id && d.event === 'Unsubscribed') : undefined;
  await t.api.send({ type: 'track', userId: id, messageId: `${id}-crm-unsub`, event: 'Unsubscribed', properties: { channel: 'email', topic: 'offers' } });
  await later(60_000);
  if (!denialLate) expect(await offersOf(id)).toBe('denied');
  // Form B posted again (a restored tab's resubmission, a retry, a replay).
  const answer = replay ? await (await post(link, formB)).text() : undefined;
  await later(60_000);
  await late?.release();
  await later(60_000);
  return { offers: await offersOf(id), answer };
}

describe('a replayed preference-page save', () => {
  it('control: without the replay the later denial stands', async () => {
    expect((await scenario('pf-replay-ctl', false)).offers).toBe('denied');
  }, 30_000);

  it('a replay of the older save that ticked offers leaves the later denial standing, and the page says it was not saved', async () => {
    const { offers, answer } = await scenario('pf-replay', true);
    expect(offers).toBe('denied');
    expect(answer).toContain('Not saved: Offers and discounts (email). Your preferences changed after this page was shown');
    expect(answer).not.toContain('value="email:offers" checked');
    // Nothing was published for it: the page's two saves only.
    const published = t.engine.bus.log.filter((e) => (e.detail as { userId?: string }).userId === 'pf-replay' && (e.detail as { properties: { method?: string } }).properties.method === 'preferences');
    expect(published.map((e) => e['detail-type'])).toEqual(['Unsubscribed', 'Subscribed']);
  }, 30_000);

  it('a replay that comes before the profile applied the later denial still loses to it (the grant is dated when its page was shown)', async () => {
    const id = 'pf-replay-race';
    expect((await scenario(id, true, true)).offers).toBe('denied');
    // The replay was published (the profile could not know yet), dated when form B's page was shown, before the denial.
    const events = t.engine.bus.log.filter((e) => (e.detail as { userId?: string }).userId === id && (e.detail as { properties: { method?: string } }).properties.method === 'preferences');
    const replayed = events.at(-1)!.detail as { event: string; timestamp: string; receivedAt: string };
    expect(replayed.event).toBe('Subscribed');
    expect(Date.parse(replayed.receivedAt) - Date.parse(replayed.timestamp)).toBeGreaterThan(86_400_000);
  }, 30_000);
});

describe("the page's stamp", () => {
  const link = (id: string) => preferencesUrl(t.engine.url, DEV_UNSUBSCRIBE_KEY, id, new Date(clock.now().getTime() + 86_400_000));
  const setUp = async (id: string) => {
    await t.api.send({ type: 'identify', userId: id, traits: { email: `${id}@example.com` } });
    await later(1_000);
    return (await (await fetch(link(id))).text()).replace(/name="on" value="email:offers" checked/, 'name="on" value="email:offers"');
  };

  it('an altered stamp, or one from another customer\'s page, is refused and changes nothing; without one a topic can be left, not joined', async () => {
    const id = 'pf-stamp';
    const other = 'pf-stamp-other';
    const html = await setUp(id);
    const otherHtml = await setUp(other);
    // Leave offers first (no stamp needed), so that ticking it is a subscription.
    expect((await post(link(id), 'shown=email%3Aoffers')).status).toBe(200);
    await later(60_000);
    expect(await offersOf(id)).toBe('denied');

    const tick = formBody(html, [], ['email:offers']);
    const stampOf = (h: string) => ({ at: /name="at" value="(\d+)"/.exec(h)![1]!, sig: /name="sig" value="([^"]+)"/.exec(h)![1]! });
    const mine = stampOf(html);
    const cases: Array<[string, RegExp]> = [
      [tick.replace(`at=${mine.at}`, `at=${Number(mine.at) + 86_400_000}`), /at, sig: the page&#39;s stamp is not valid/],
      [tick.replace(`sig=${mine.sig}`, `sig=${stampOf(otherHtml).sig}`).replace(`at=${mine.at}`, `at=${stampOf(otherHtml).at}`), /at, sig: the page&#39;s stamp is not valid/],
      [tick.replace(/&?at=\d+/, '').replace(/&?sig=[^&]+/, ''), /on: subscribing needs the page&#39;s own form/],
      [`${tick}&at=${mine.at}`, /at: given more than once/],
    ];
    for (const [body, message] of cases) {
      const res = await post(link(id), body);
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(message);
    }
    await later(60_000);
    expect(await offersOf(id)).toBe('denied');
    // The page's own form, freshly shown, joins it.
    expect((await post(link(id), formBody(await (await fetch(link(id))).text(), [], ['email:offers']))).status).toBe(200);
    await later(60_000);
    expect(await offersOf(id)).toBe('granted');
  }, 30_000);
});
