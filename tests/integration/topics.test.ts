/**
 * Subscription topics and the preference page (issue 15), end to end on the embedded engine through its HTTP
 * API, on virtual time: a customer leaves a topic on the page every marketing message links to (a plain form
 * POST, no JavaScript), the change is an `Unsubscribed {channel, topic}` event on the bus and their timeline,
 * and the next send on that topic, a journey's or a broadcast's, is skipped with the reason; the channel and
 * the other topics go on. Links are signed (forged, altered, expired ones are refused) and the page refuses
 * hostile forms without changing anything. Topic consent is ordered exactly as channel consent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preferencesUrl, unsubscribeUrl } from '../../functions/journeys/unsubscribe';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { DEV_UNSUBSCRIBE_KEY } from '../../functions/journeys';
import type { NormalisedEvent } from '../../shared';
import { client } from '../helpers/client';
import { holdConsumer, profileItemsNaming, startTestEngine } from '../helpers/engine';
import { messagesOf, outboxFor, runToEnd } from '../helpers/journeys';

const HOUR = 3_600_000;
const clock = new VirtualClock('2026-03-02T10:00:00Z');
let engine: Engine;
let api: ReturnType<typeof client>;
beforeAll(async () => {
  engine = await startTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
  api = client(engine);
});
afterAll(() => engine.stop());

const identify = (userId: string, traits: Record<string, unknown> = {}) => ({ type: 'identify', userId, traits: { email: `${userId}@example.com`, ...traits } });
const track = (userId: string, event: string, properties: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({ type: 'track', userId, event, properties, ...extra });

/** The preference link of the customer's first email (its text footer: "Choose what you get: <url>"). */
async function preferenceLink(customerId: string): Promise<string> {
  await clock.idle();
  const email = outboxFor(engine, customerId).find((m) => m.channel === 'email');
  if (email?.channel !== 'email') throw new Error(`no email to ${customerId}`);
  return /Choose what you get: (\S+)/.exec(email.text)![1]!;
}

/** The page's form as a browser without JavaScript posts it: its hidden fields, and the boxes ticked (`untick`/`tick` changed). */
function formBody(html: string, untick: readonly string[], tick: readonly string[] = []): string {
  const params = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)">/g)) params.append(m[1]!, m[2]!);
  const ticked = [...html.matchAll(/name="on" value="([^"]+)" checked/g)].map((m) => m[1]!);
  for (const pair of [...ticked.filter((p) => !untick.includes(p)), ...tick.filter((p) => !ticked.includes(p))]) params.append('on', pair);
  return params.toString();
}
const postForm = (link: string, body: string) => fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
const consentEvents = (id: string) => engine.bus.log.filter((e) => (e.detail as NormalisedEvent).userId === id && ['Subscribed', 'Unsubscribed'].includes(e['detail-type']));

describe('the preference page (issue 15)', () => {
  it('leaving a topic on the page skips the journey\'s next send on it with the reason; the other topics still go', async () => {
    // Prepare: the welcome journey's emails are "product-updates", its offer is "offers" (workflows/journeys.d/welcome.yaml).
    const id = 'tp-journey';
    await api.sendAndSettle(identify(id, { name: 'Ada' }));
    await api.send(track(id, 'Signed Up'));
    const link = await preferenceLink(id);

    // Act: the page (GET: no JavaScript, a plain form), then the form posted with product updates unticked.
    const page = await fetch(link);
    const html = await page.text();
    const saved = await postForm(link, formBody(html, ['email:product-updates']));
    await engine.settle();

    // Assess: the page lists every declared topic, ticked by default in opt-out mode, as a form that needs no script.
    expect(page.status).toBe(200);
    expect(html).toContain('<form method="post"');
    expect(html).not.toContain('<script');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    for (const name of ['Newsletter', 'Offers and discounts', 'Product updates']) expect(html).toContain(name);
    expect([...html.matchAll(/name="on" value="([^"]+)" checked/g)].map((m) => m[1])).toEqual(['email:newsletter', 'email:offers', 'email:product-updates']);
    expect(saved.status).toBe(200);
    expect(await saved.text()).toContain('Your preferences are saved');
    // One event for the one change, on the bus and the customer's timeline; the profile shows the topic's state.
    expect(consentEvents(id).map((e) => [e['detail-type'], (e.detail as NormalisedEvent).properties])).toEqual([['Unsubscribed', { channel: 'email', topic: 'product-updates', method: 'preferences' }]]);
    const timeline = (await api.get(`/v1/customers/${id}/events`)).json as unknown as { events: Array<{ event?: string; properties?: Record<string, unknown> }> };
    expect(timeline.events.some((e) => e.event === 'Unsubscribed' && e.properties?.topic === 'product-updates')).toBe(true);
    const profile = (await api.customer(id)) as Awaited<ReturnType<typeof api.customer>> & { topicConsent: Record<string, Record<string, { status: string }>> };
    expect(profile.topicConsent.email!['product-updates']).toMatchObject({ status: 'denied', source: 'Unsubscribed' });
    expect(profile.consent.email.status).not.toBe('denied');

    // The journey goes on: the getting-started email (product updates) is skipped, the offer (offers) is sent.
    await runToEnd(clock, engine, id, 'welcome');
    const messages = await messagesOf(engine, id);
    expect(messages.find((m) => m.stepId === 'send-getting-started')).toMatchObject({ status: 'skipped', reason: 'topic-unsubscribed' });
    expect(messages.find((m) => m.stepId === 'send-first-order-offer')).toMatchObject({ status: 'sent' });
    expect(outboxFor(engine, id).map((m) => m.step)).toEqual(['send-welcome', 'send-first-order-offer']);

    // Saved again as it stands: nothing changed, nothing published.
    const again = await postForm(link, formBody(await (await fetch(link)).text(), []));
    await engine.settle();
    expect(await again.text()).toContain('Nothing changed');
    expect(consentEvents(id)).toHaveLength(1);
  });

  it('a broadcast on a topic the customer left skips them with the reason, and reaches the others', async () => {
    // Prepare: two gold customers; one leaves "offers" on the page of a message they got.
    const member = (userId: string) => identify(userId, { tags: ['crm-gold'] });
    await api.sendAndSettle([member('tp-b-left'), member('tp-b-stays')]);
    const link = preferencesUrl(engine.url, DEV_UNSUBSCRIBE_KEY, 'tp-b-left', new Date(clock.now().getTime() + 30 * 24 * HOUR));
    expect((await postForm(link, formBody(await (await fetch(link)).text(), ['email:offers']))).status).toBe(200);
    await engine.settle();

    // Act
    const created = await fetch(`${engine.url}/v1/broadcasts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'tp-gold-offer', segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you' }, topic: 'offers' }),
    });
    await clock.run();

    // Assess
    expect(created.status).toBe(201);
    const view = (await api.get('/v1/broadcasts/tp-gold-offer')).json as unknown as { status: string; sent: number; skipped: Record<string, number> };
    expect(view).toMatchObject({ status: 'completed', skipped: { 'topic-unsubscribed': 1 } });
    expect((await messagesOf(engine, 'tp-b-left')).find((m) => m.journeyId === 'broadcast:tp-gold-offer')).toMatchObject({ status: 'skipped', reason: 'topic-unsubscribed' });
    expect((await messagesOf(engine, 'tp-b-stays')).find((m) => m.journeyId === 'broadcast:tp-gold-offer')).toMatchObject({ status: 'sent' });
  });

  it('a channel unsubscribe stops every topic on it; a transactional message ignores topics', async () => {
    const id = 'tp-channel';
    await api.sendAndSettle([identify(id, { tags: ['crm-gold'] }), track(id, 'Unsubscribed', { channel: 'email' })]);
    await fetch(`${engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'tp-news', segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you' }, topic: 'newsletter' }) });
    await clock.run();
    expect((await messagesOf(engine, id)).find((m) => m.journeyId === 'broadcast:tp-news')).toMatchObject({ status: 'skipped', reason: 'unsubscribed' });

    // Left "newsletter" but not the channel: a transactional broadcast still goes (it may not carry a topic at all).
    const other = 'tp-transactional';
    await api.sendAndSettle([identify(other, { tags: ['crm-gold'] }), track(other, 'Unsubscribed', { channel: 'email', topic: 'newsletter' })]);
    const refused = await fetch(`${engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'tp-receipt', segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you', kind: 'transactional' }, topic: 'newsletter' }) });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { problems: Array<{ path: string }> }).problems[0]!.path).toBe('$.topic');
    await fetch(`${engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'tp-receipt', segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you', kind: 'transactional' } }) });
    await clock.run();
    expect((await messagesOf(engine, other)).find((m) => m.journeyId === 'broadcast:tp-receipt')).toMatchObject({ status: 'sent' });
  });

  it('refuses a forged, altered, cut-short or expired link, and changes nothing', async () => {
    const id = 'tp-links';
    await api.sendAndSettle(identify(id));
    const good = preferencesUrl(engine.url, DEV_UNSUBSCRIBE_KEY, id, new Date(clock.now().getTime() + HOUR));
    const forged = preferencesUrl(engine.url, 'not-the-key', id, new Date(clock.now().getTime() + HOUR));
    const altered = good.replace(`c=${id}`, 'c=tp-someone-else');
    const extended = good.replace(/x=\d+/, (x) => `x=${Number(x.slice(2)) + 86_400}`);
    const cut = good.replace(/&t=.*$/, '');
    const expired = preferencesUrl(engine.url, DEV_UNSUBSCRIBE_KEY, id, new Date(clock.now().getTime() - 1000));
    const body = 'shown=email%3Aoffers';

    for (const link of [forged, altered, extended, cut]) {
      expect((await fetch(link)).status).toBe(400);
      expect((await postForm(link, body)).status).toBe(400);
    }
    expect((await fetch(expired)).status).toBe(410);
    expect((await postForm(expired, body)).status).toBe(410);
    // An unsubscribe link's token does not open the page (its MAC is of another kind).
    const unsubscribeToken = new URL(unsubscribeUrl(engine.url, DEV_UNSUBSCRIBE_KEY, id, 'email')).searchParams.get('t')!;
    expect((await fetch(good.replace(/t=[^&]+$/, `t=${unsubscribeToken}`))).status).toBe(400);
    await engine.settle();
    expect(consentEvents(id)).toEqual([]);
    expect((await fetch(good)).status).toBe(200);
  });

  it('a hostile form (unknown topic, unknown channel, another field, a pair not shown) gets a 400 and changes nothing', async () => {
    const id = 'tp-hostile';
    await api.sendAndSettle(identify(id));
    const link = preferencesUrl(engine.url, DEV_UNSUBSCRIBE_KEY, id, new Date(clock.now().getTime() + HOUR));
    const cases: Array<[string, RegExp]> = [
      ['shown=email%3Aoffers&shown=email%3Abogus', /shown\[1\]: unknown topic &#34;bogus&#34;/],
      ['shown=fax%3Aoffers', /shown\[0\]: unknown channel &#34;fax&#34;/],
      ['shown=email%3Aoffers&admin=1', /admin: unexpected field/],
      ['shown=email%3Aoffers&on=sms%3Aoffers', /on: &#34;sms:offers&#34; was not on the page/],
      ['shown=email%3A%3Cscript%3E', /unknown topic &#34;&#60;script&#62;&#34;/],
    ];
    for (const [body, message] of cases) {
      const res = await postForm(link, body);
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(message);
    }
    expect((await fetch(link, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(415);
    await engine.settle();
    expect(consentEvents(id)).toEqual([]);
    expect(((await api.customer(id)) as unknown as { topicConsent: unknown }).topicConsent).toEqual({});
  });
});

describe('two saves in a row, before the profile applied the first', () => {
  it('the last save wins: left then re-joined on the page it answered with, the customer is subscribed', async () => {
    // Prepare: the profile consumer is late with this customer's page events.
    const id = 'tp-twice';
    await api.sendAndSettle(identify(id, { tags: ['crm-gold'] }));
    const late = holdConsumer(engine, (d) => d.userId === id && (d.event === 'Unsubscribed' || d.event === 'Subscribed'));
    const link = preferencesUrl(engine.url, DEV_UNSUBSCRIBE_KEY, id, new Date(clock.now().getTime() + HOUR));

    // Act: untick offers and save; on the page that answers (offers shown unticked), tick it again and save.
    const first = await postForm(link, formBody(await (await fetch(link)).text(), ['email:offers']));
    const answered = await first.text();
    expect(answered).not.toContain('value="email:offers" checked');
    await clock.run(clock.now().getTime() + 1000);
    const second = await postForm(link, formBody(answered, [], ['email:offers']));
    expect(await second.text()).toContain('Your preferences are saved');
    await late.release();

    // Assess: both changes were published, in order, and the re-join stands (it was received after the denial).
    expect(consentEvents(id).map((e) => e['detail-type'])).toEqual(['Unsubscribed', 'Subscribed']);
    expect(((await api.customer(id)) as unknown as { topicConsent: Record<string, Record<string, { status: string }>> }).topicConsent.email?.offers?.status).toBe('granted');
  });
});

describe('an erased customer\'s preference link', () => {
  it('shows nothing and changes nothing: no event, no hold, no customer re-created', async () => {
    const id = 'tp-erased';
    await api.sendAndSettle(identify(id));
    const link = preferencesUrl(engine.url, DEV_UNSUBSCRIBE_KEY, id, new Date(clock.now().getTime() + HOUR));
    expect((await api.del(`/v1/customers/${id}`)).status).toBe(200);

    expect((await fetch(link)).status).toBe(404);
    expect((await postForm(link, 'shown=email%3Aoffers')).status).toBe(404);
    await engine.settle();

    expect(consentEvents(id)).toEqual([]);
    expect((await fetch(`${engine.url}/v1/customers/${id}`)).status).toBe(404);
    expect(await profileItemsNaming(engine, [id])).toEqual([]);
  });
});

describe('a topic left holds from the answer', () => {
  it('the page\'s denial is honoured by a send before the profile consumer applied it; the consumer then agrees', async () => {
    // Prepare: the profile consumer is late with the page's event (EventBridge delivers when it will).
    const id = 'tp-hold';
    await api.sendAndSettle(identify(id, { tags: ['crm-gold'] }));
    const late = holdConsumer(engine, (d) => d.userId === id && d.event === 'Unsubscribed');
    const link = preferencesUrl(engine.url, DEV_UNSUBSCRIBE_KEY, id, new Date(clock.now().getTime() + HOUR));
    expect((await postForm(link, 'shown=email%3Anewsletter')).status).toBe(200);
    expect(late.held).toHaveLength(1);

    // Act: a newsletter broadcast runs while the profile still says nothing of the topic.
    expect(((await api.customer(id)) as unknown as { topicConsent: unknown }).topicConsent).toEqual({});
    await fetch(`${engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'tp-held-news', segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you' }, topic: 'newsletter' }) });
    await clock.run();

    // Assess
    expect((await messagesOf(engine, id)).find((m) => m.journeyId === 'broadcast:tp-held-news')).toMatchObject({ status: 'skipped', reason: 'topic-unsubscribed' });
    await late.release();
    expect(((await api.customer(id)) as unknown as { topicConsent: Record<string, Record<string, { status: string }>> }).topicConsent.email?.newsletter?.status).toBe('denied');
  });
});

describe('topic consent is ordered as channel consent', () => {
  type WithTopics = { topicConsent: Record<string, Record<string, { status: string; at: string }>> };
  const topicState = async (id: string) => ((await api.customer(id)) as unknown as WithTopics).topicConsent.email?.offers;

  it('a re-subscribe dated 23 h ahead loses to a topic unsubscribe received after it was sent, in either arrival order', async () => {
    const ahead = new Date(clock.now().getTime() + 23 * HOUR).toISOString();
    // Sent first (dated ahead), then the page's unsubscribe: the denial was received after the grant happened.
    await api.sendAndSettle([identify('tp-race-1'), track('tp-race-1', 'Subscribed', { channel: 'email', topic: 'offers' }, { timestamp: ahead })]);
    const link = preferencesUrl(engine.url, DEV_UNSUBSCRIBE_KEY, 'tp-race-1', new Date(clock.now().getTime() + HOUR));
    await postForm(link, 'shown=email%3Aoffers');
    await engine.settle();
    expect(await topicState('tp-race-1')).toMatchObject({ status: 'denied' });

    // The same two changes arriving the other way round (the dated grant delivered last) end the same.
    await api.sendAndSettle([identify('tp-race-2'), track('tp-race-2', 'Unsubscribed', { channel: 'email', topic: 'offers' })]);
    await api.sendAndSettle(track('tp-race-2', 'Subscribed', { channel: 'email', topic: 'offers' }, { timestamp: ahead }));
    expect(await topicState('tp-race-2')).toMatchObject({ status: 'denied' });

    // A re-subscribe that happened after the denial reached Rapport wins, as for a channel.
    await clock.run(clock.now().getTime() + HOUR);
    await api.sendAndSettle(track('tp-race-2', 'Subscribed', { channel: 'email', topic: 'offers' }));
    expect(await topicState('tp-race-2')).toMatchObject({ status: 'granted' });
    // And the channel's own consent never moved.
    expect((await api.customer('tp-race-2')).consent.email.status).not.toBe('denied');
  });
});

describe('opt-in vs opt-out defaults, in an engine of each mode', () => {
  it('opt-in: the page shows "offers" off until chosen; a subscribed customer gets the newsletter, not offers, until they tick it', async () => {
    // Prepare: an opt-in engine (RAPPORT_CONSENT_MODE), a gold customer who said yes to email.
    const optInClock = new VirtualClock('2026-03-02T10:00:00Z');
    const optIn = await startTestEngine({ clock: optInClock, env: { ...process.env, RAPPORT_CONSENT_MODE: 'opt-in' }, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
    try {
      const optInApi = client(optIn);
      const id = 'tp-optin';
      await optInApi.sendAndSettle([identify(id, { tags: ['crm-gold'] }), track(id, 'Subscribed', { channel: 'email' })]);
      const link = preferencesUrl(optIn.url, DEV_UNSUBSCRIBE_KEY, id, new Date(optInClock.now().getTime() + HOUR));
      const broadcast = (name: string, topic: string) =>
        fetch(`${optIn.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: name, segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you' }, topic }) });
      const outcome = async (name: string) => (await messagesOf(optIn, id)).find((m) => m.journeyId === `broadcast:${name}`);

      // Act and assess: the defaults of topics.yaml for opt-in (newsletter on, offers off).
      const html = await (await fetch(link)).text();
      expect([...html.matchAll(/name="on" value="([^"]+)" checked/g)].map((m) => m[1])).toEqual(['email:newsletter', 'email:product-updates']);
      await broadcast('oi-news', 'newsletter');
      await broadcast('oi-offers', 'offers');
      await optInClock.run();
      expect(await outcome('oi-news')).toMatchObject({ status: 'sent' });
      expect(await outcome('oi-offers')).toMatchObject({ status: 'skipped', reason: 'topic-no-consent' });

      // Ticking offers on the page is a Subscribed {email, offers}: the next offer goes.
      const params = new URLSearchParams(['newsletter', 'offers', 'product-updates'].flatMap((t): Array<[string, string]> => [['shown', `email:${t}`], ['on', `email:${t}`]]));
      // A subscription needs the page's stamp (when it was shown): without it, 400 naming the field; with it, saved.
      const refused = await postForm(link, params.toString());
      expect([refused.status, await refused.text()]).toEqual([400, expect.stringContaining('on: subscribing needs the page&#39;s own form')]);
      for (const field of ['at', 'sig']) params.append(field, new RegExp(`name="${field}" value="([^"]+)"`).exec(html)![1]!);
      expect((await postForm(link, params.toString())).status).toBe(200);
      await optIn.settle();
      expect(optIn.bus.log.filter((e) => (e.detail as NormalisedEvent).userId === id && e['detail-type'] === 'Subscribed').map((e) => (e.detail as NormalisedEvent).properties.topic)).toEqual([undefined, 'offers']);
      await broadcast('oi-offers-2', 'offers');
      await optInClock.run();
      expect(await outcome('oi-offers-2')).toMatchObject({ status: 'sent' });
    } finally {
      await optIn.stop();
    }
  });
});
