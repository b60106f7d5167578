/**
 * Broadcasts through the HTTP API on the embedded engine, on virtual time: a one-off message to a segment
 * goes through the journeys' send gateway (consent, suppression, quiet hours), once per customer whatever
 * is posted again, every skip recorded with its reason; a cancel stops it; bad input gets a 400 naming the field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { ChannelUnavailableError } from '../../functions/journeys';
import { client } from '../helpers/client';
import { profileItemsNaming, startTestEngine } from '../helpers/engine';

const START = Date.parse('2026-03-02T10:00:00Z');

interface BroadcastView {
  id: string;
  status: string;
  recipients: number;
  sent: number;
  skipped: Record<string, number>;
  deferred: number;
  failed: number;
  problems?: Array<{ path: string; message: string }>;
  error?: string;
  message?: string;
}

describe('broadcasts', () => {
  let clock: VirtualClock;
  let engine: Engine;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    clock = new VirtualClock(START);
    engine = await startTestEngine({ clock, sweepEveryMs: 0, logLevel: 'SILENT' });
    api = client(engine);
  });
  afterAll(() => engine.stop());

  const post = async (body: unknown) => {
    const res = await fetch(`${engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as BroadcastView };
  };
  const get = async (id: string) => (await api.get(`/v1/broadcasts/${id}`)).json as unknown as BroadcastView;
  /** The broadcast's emails in the outbox, by customer. */
  const sentTo = (id: string) =>
    engine.outbox.entries
      .filter((m) => m.channel === 'email' && m.tags.journey === `broadcast:${id}`)
      .map((m) => (m as { tags: Record<string, string> }).tags.customer!)
      .sort();
  const member = (userId: string, traits: Record<string, unknown>, tags = ['crm-gold']) => ({ type: 'identify', userId, messageId: `${userId}-id`, traits: { ...traits, tags } });

  it('sends exactly once to each consenting member of a tag segment and records every skip with its reason', async () => {
    // Prepare: four reachable members, one without an address, one unsubscribed, one hard-bounced, and a non-member.
    await api.sendAndSettle([
      ...['b-1', 'b-2', 'b-3', 'b-4'].map((id) => member(id, { email: `${id}@example.com`, firstName: id })),
      member('b-5', { firstName: 'no address' }),
      member('b-6', { email: 'b-6@example.com' }),
      member('b-7', { email: 'b-7@example.com' }),
      member('b-8', { email: 'b-8@example.com' }, []),
      { type: 'track', userId: 'b-6', messageId: 'b-6-unsub', event: 'Unsubscribed', properties: { channel: 'email' } },
      { type: 'track', userId: 'b-7', messageId: 'b-7-bounce', event: 'Message Bounced', properties: { channel: 'email', bounceType: 'hard' } },
    ]);

    // Act
    const created = await post({ id: 'gold-news', segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you' }, topic: 'newsletter' });
    await clock.run();

    // Assess
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ id: 'gold-news', status: 'scheduled', send: { channel: 'email', template: 'we-value-you', kind: 'marketing' } });
    expect(await get('gold-news')).toMatchObject({ status: 'completed', recipients: 7, sent: 4, skipped: { 'no-address': 1, unsubscribed: 1, suppressed: 1 }, deferred: 0, failed: 0 });
    expect(sentTo('gold-news')).toEqual(['b-1', 'b-2', 'b-3', 'b-4']);
    const messages = (await api.get('/v1/customers/b-6/messages')).json as unknown as { messages: Array<{ journeyId: string; status: string; reason?: string; topic?: string }> };
    expect(messages.messages.find((m) => m.journeyId === 'broadcast:gold-news')).toMatchObject({ status: 'skipped', reason: 'unsubscribed', topic: 'newsletter' });
  });

  it('posted again sends nobody twice; posted with another definition is refused', async () => {
    // Act
    const again = await post({ id: 'gold-news', segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you' }, topic: 'newsletter' });
    await clock.run();
    const other = await post({ id: 'gold-news', segment: 'tag:crm-gold', send: { channel: 'email', template: 'welcome' } });

    // Assess
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ status: 'completed', sent: 4 });
    expect(sentTo('gold-news')).toEqual(['b-1', 'b-2', 'b-3', 'b-4']);
    expect(other.status).toBe(409);
    expect(other.json.error).toBe('broadcast_conflict');
  });

  it('defers members in quiet hours and sends them when the quiet hours end', async () => {
    // Prepare: 22:00 UTC (the default time zone) is in the quiet hours (21:00-08:00).
    const at = new Date(START + 12 * 3_600_000).toISOString();

    // Act: a transactional message is exempt from quiet hours; a marketing one waits until 08:00.
    const created = await post({ id: 'late-news', segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you' }, at });
    await clock.run(Date.parse(at) + 60_000);
    const during = await get('late-news');
    await clock.run();

    // Assess: b-1..b-4 got the gold-news earlier today, within the frequency cap (3 per 7 days) with this one.
    expect(created.status).toBe(201);
    expect(during).toMatchObject({ status: 'running', recipients: 7, sent: 0, deferred: 4 });
    expect(await get('late-news')).toMatchObject({ status: 'completed', sent: 4, deferred: 0 });
    const times = engine.outbox.entries.filter((m) => m.channel === 'email' && m.tags.journey === 'broadcast:late-news').map((m) => m.at);
    expect(times).toHaveLength(4);
    for (const t of times) expect(t >= '2026-03-03T08:00:00.000Z').toBe(true);
  });

  it('cancelled, sends to nobody it has not reached yet', async () => {
    // Prepare: one a second, so the cancel comes while it runs.
    await api.sendAndSettle(['c-1', 'c-2', 'c-3', 'c-4', 'c-5', 'c-6'].map((id) => member(id, { email: `${id}@example.com` }, ['beta-tester'])));
    const created = await post({ id: 'slow-news', segment: 'tag:beta-tester', send: { channel: 'email', template: 'we-value-you', kind: 'transactional' }, rate: 1 });
    await clock.run(undefined, () => sentTo('slow-news').length >= 2);

    // Act
    const cancel = await api.del('/v1/broadcasts/slow-news');
    const sentAtCancel = sentTo('slow-news');
    await clock.run();

    // Assess
    expect(created.status).toBe(201);
    expect(cancel.status).toBe(200);
    expect(cancel.json.status).toBe('cancelled');
    expect(sentAtCancel.length).toBeGreaterThanOrEqual(2);
    expect(sentAtCancel.length).toBeLessThan(6);
    expect(sentTo('slow-news')).toEqual(sentAtCancel);
    expect(await get('slow-news')).toMatchObject({ status: 'cancelled', sent: sentAtCancel.length });
    // Cancelling again answers the same; a broadcast that completed cannot be cancelled.
    expect((await api.del('/v1/broadcasts/slow-news')).status).toBe(200);
    expect((await api.del('/v1/broadcasts/gold-news')).status).toBe(409);
    expect((await api.del('/v1/broadcasts/nope')).status).toBe(404);
  });

  it('waits out a provider outage: the page is retried with backoff until the provider is back, and nobody gets it twice', async () => {
    // Prepare: SES down (the members of tag:beta-tester are the six of the test above).
    engine.outbox.fail.email = new ChannelUnavailableError('SES is throttling');
    const created = await post({ id: 'outage-news', segment: 'tag:beta-tester', send: { channel: 'email', template: 'we-value-you', kind: 'transactional' } });

    // Act: a minute of retries, then SES is back.
    await clock.run(clock.now().getTime() + 60_000);
    const during = await get('outage-news');
    delete engine.outbox.fail.email;
    await clock.run();

    // Assess
    expect(created.status).toBe(201);
    expect(during).toMatchObject({ status: 'running', sent: 0 });
    expect(sentTo('outage-news')).toEqual(['c-1', 'c-2', 'c-3', 'c-4', 'c-5', 'c-6']);
    expect(await get('outage-news')).toMatchObject({ status: 'completed', recipients: 6, sent: 6, failed: 0 });
  });

  it.each([
    [{ segment: 'tag:crm-gold', send: { channel: 'email', template: 'welcome' } }, '$.id'],
    [{ id: 'x', segment: 'crm-gold', send: { channel: 'email', template: 'welcome' } }, '$.segment'],
    [{ id: 'x', segment: 'tag:crm-gold', send: { channel: 'fax', template: 'welcome' } }, '$.send.channel'],
    [{ id: 'x', segment: 'tag:crm-gold', send: { channel: 'sms', template: 'welcome' } }, '$.send.template'],
    [{ id: 'x', segment: 'tag:crm-gold', send: { channel: 'email', template: 'welcome' }, at: 'tomorrow' }, '$.at'],
    [{ id: 'x', segment: 'tag:crm-gold', send: { channel: 'email', template: 'welcome' }, at: '2099-01-01T00:00:00Z' }, '$.at'],
    [{ id: 'x', segment: 'tag:crm-gold', send: { channel: 'email', template: 'welcome' }, rate: 0 }, '$.rate'],
    [{ id: 'x', segment: 'tag:crm-gold', send: { channel: 'email', template: 'welcome' }, colour: 'red' }, '$.colour'],
  ])('refuses %j with a 400 naming %s', async (body, path) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('invalid_broadcast');
    expect(res.json.problems?.map((p) => p.path)).toContain(path);
    expect(res.json.message).toContain(path);
  });

  it('answers 404 for a broadcast never posted and 400 for a body that is not JSON', async () => {
    expect((await api.get('/v1/broadcasts/never-posted')).status).toBe(404);
    const res = await fetch(`${engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
    expect(res.status).toBe(400);
  });

  it('erasing a deferred recipient leaves no item naming them under the broadcast, and sends them nothing', async () => {
    // Prepare: two members deferred by quiet hours (22:00 UTC).
    await api.sendAndSettle([member('be-1', { email: 'be-1@example.com' }, ['beta-tester']), member('be-2', { email: 'be-2@example.com' }, ['beta-tester'])]);
    const at = new Date(Math.ceil(clock.now().getTime() / 86_400_000) * 86_400_000 + 22 * 3_600_000).toISOString();
    expect((await post({ id: 'night-news', segment: 'tag:beta-tester', send: { channel: 'email', template: 'we-value-you' }, at })).status).toBe(201);
    await clock.run(Date.parse(at) + 60_000);
    // The segment holds the six members of the tests above too: all deferred.
    expect(await get('night-news')).toMatchObject({ status: 'running', recipients: 8, deferred: 8, sent: 0 });

    // Act
    expect((await api.del('/v1/customers/be-1')).status).toBe(200);
    const leftover = () => profileItemsNaming(engine, ['be-1']);
    const rightAfter = await leftover();
    await clock.run();

    // Assess
    expect(rightAfter, 'items naming be-1 right after DELETE answered').toEqual([]);
    expect(await leftover()).toEqual([]);
    expect(sentTo('night-news')).toContain('be-2');
    expect(sentTo('night-news')).not.toContain('be-1');
  });

});
