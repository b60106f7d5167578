import { createHash } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { IDEMPOTENCY_TABLE, PROFILE_TABLE, type Engine } from '../../infra/embedded/engine';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';

let engine: Engine;
let api: ReturnType<typeof client>;
beforeAll(async () => {
  engine = await startTestEngine();
  api = client(engine);
});
afterAll(async () => {
  await engine.stop();
});

const day = (n: number) => new Date(Date.UTC(2026, 9, 1) + n * 86_400_000).toISOString();
const order = (userId: string, n: number, revenue: number, at: string) => ({
  type: 'track',
  userId,
  event: 'Order Completed',
  messageId: `${userId}-order-${n}`,
  timestamp: at,
  properties: { orderId: `${userId}-o${n}`, revenue, currency: 'EUR' },
});

describe('customer profiles on the embedded engine', () => {
  it('builds the profile a journey reads from a sequence of signed events', async () => {
    await api.sendAndSettle([
      { type: 'identify', userId: 'p-ada', messageId: 'p-ada-id', timestamp: day(0), traits: { email: 'ada@example.com', phone: '+33600000000', name: 'Ada', timezone: 'Europe/Paris' } },
      order('p-ada', 1, 120, day(1)),
      order('p-ada', 2, 80.5, day(20)),
      { type: 'track', userId: 'p-ada', event: 'Complaint Filed', messageId: 'p-ada-c1', timestamp: day(21), properties: { complaintId: 'c-1' } },
      { type: 'track', userId: 'p-ada', event: 'Survey Responded', messageId: 'p-ada-s1', timestamp: day(22), properties: { surveyType: 'csat', score: 4 } },
      { type: 'track', userId: 'p-ada', event: 'Unsubscribed', messageId: 'p-ada-u1', timestamp: day(23), properties: { channel: 'email' } },
    ]);
    const ada = await api.customer('p-ada');
    expect(ada).toMatchObject({
      id: 'p-ada',
      traits: { email: 'ada@example.com', name: 'Ada', timezone: 'Europe/Paris' },
      stats: { orderCount: 2, totalRevenue: 200.5, averageOrderValue: 100.25, lastOrderAt: day(20), firstOrderAt: day(1), complaintCount: 1, openComplaints: ['c-1'], lastSurvey: { type: 'csat', score: 4 } },
      consent: { email: { status: 'denied', source: 'Unsubscribed' }, sms: { status: 'unknown' } },
      firstSeenAt: day(0),
      lastSeenAt: day(23),
    });
    expect(Array.isArray(ada.tags)).toBe(true);
    expect(typeof ada.lifecycleStage).toBe('string');

    const { json } = await api.get('/v1/customers/p-ada/events');
    const events = json.events as unknown as Array<{ event?: string; timestamp: string }>;
    expect(events.map((e) => e.event ?? 'identify')).toEqual(['Unsubscribed', 'Survey Responded', 'Complaint Filed', 'Order Completed', 'Order Completed', 'identify']);
  });

  it('ignores duplicates and arrival order: the profile equals the one from the clean sequence', async () => {
    const clean = [0, 1, 2, 3, 4, 5].map((n) => order('p-clean', n, 10 + n, day(n * 7)));
    const messy = [3, 0, 5, 1, 1, 4, 2, 0, 5].map((n) => order('p-messy', n, 10 + n, day(n * 7)));
    await api.sendAndSettle(clean);
    await api.sendAndSettle(messy.slice(0, 4));
    await api.sendAndSettle(messy.slice(4));
    const a = await api.customer('p-clean');
    const b = await api.customer('p-messy');
    expect({ ...b, id: 'x' }).toEqual({ ...a, id: 'x' });
    expect(b.stats).toMatchObject({ orderCount: 6, totalRevenue: 75, lastOrderAt: day(35), firstOrderAt: day(0) });
  });

  it('loses no increment when one customer gets many events at once', async () => {
    await Promise.all(Array.from({ length: 40 }, (_, n) => api.send(order('p-busy', n, 1, day(n)))));
    await engine.settle();
    const busy = await api.customer('p-busy');
    expect(busy.stats.orderCount).toBe(40);
    expect(busy.stats.totalRevenue).toBe(40);
    expect(engine.deadLetters).toEqual([]);
  });

  it('keeps an anonymous visitor’s history when they sign up, and routes later events under either id to one profile', async () => {
    await api.sendAndSettle([
      { type: 'track', anonymousId: 'visitor-7', event: 'Product Viewed', messageId: 'v7-1', timestamp: day(1), properties: { productId: 'p-1', category: 'baby' } },
      { type: 'track', anonymousId: 'visitor-7', event: 'Order Completed', messageId: 'v7-2', timestamp: day(2), properties: { orderId: 'v7-o1', revenue: 30, currency: 'EUR' } },
    ]);
    expect((await api.customer('anon:visitor-7')).stats.orderCount).toBe(1);

    await api.sendAndSettle({ type: 'identify', userId: 'p-grace', anonymousId: 'visitor-7', messageId: 'v7-3', timestamp: day(3), traits: { email: 'grace@example.com' } });
    await api.sendAndSettle({ type: 'track', anonymousId: 'visitor-7', event: 'Order Completed', messageId: 'v7-4', timestamp: day(4), properties: { orderId: 'v7-o2', revenue: 20, currency: 'EUR' } });
    await api.sendAndSettle({ type: 'track', userId: 'p-grace', event: 'Order Completed', messageId: 'v7-5', timestamp: day(5), properties: { orderId: 'v7-o3', revenue: 50, currency: 'EUR' } });
    // A redelivery of the visitor's first order, after the merge, changes nothing.
    await api.sendAndSettle({ type: 'track', anonymousId: 'visitor-7', event: 'Order Completed', messageId: 'v7-2', timestamp: day(2), properties: { orderId: 'v7-o1', revenue: 30, currency: 'EUR' } }, { id: 'redelivery-after-72h' });

    const grace = await api.customer('p-grace');
    expect(grace).toMatchObject({ anonymousIds: ['visitor-7'], traits: { email: 'grace@example.com' }, stats: { orderCount: 3, totalRevenue: 100 }, firstSeenAt: day(1) });
    expect((await api.get('/v1/customers/anon:visitor-7')).status).toBe(404);
    const { json } = await api.get('/v1/customers/p-grace/events');
    expect((json.events as unknown as Array<{ messageId: string }>).map((e) => e.messageId)).toEqual(['v7-5', 'v7-4', 'v7-3', 'v7-2', 'v7-1']);
  });

  it('answers 404 with a clear body for an unknown customer', async () => {
    for (const path of ['/v1/customers/nobody', '/v1/customers/nobody/events', '/v1/customers/nobody/export']) {
      const res = await api.get(path);
      expect(res.status).toBe(404);
      expect(res.json).toEqual({ error: 'customer_not_found', message: 'no customer with id "nobody"' });
    }
    // DELETE erases whatever an id without a profile has (events may be in flight): nothing here.
    expect(await api.del('/v1/customers/nobody')).toMatchObject({ status: 200, json: { erased: 'nobody', itemsDeleted: 0 } });
  });

  it('exports everything stored about a customer as JSON', async () => {
    await api.sendAndSettle([{ type: 'identify', userId: 'p-export', messageId: 'pe-1', timestamp: day(1), traits: { email: 'ex@example.com' } }, order('p-export', 1, 5, day(2))]);
    const { status, json } = await api.get('/v1/customers/p-export/export');
    expect(status).toBe(200);
    expect(json.customer).toMatchObject({ id: 'p-export', traits: { email: 'ex@example.com' } });
    const items = json.items as unknown as Array<{ SK: string; in?: boolean }>;
    // The profile, the timeline, the pointer to the address they are listed under (a hash of it) and their segment
    // memberships (data about them too; those left say so).
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    const addressPointer = `AP#${sha('ex@example.com')}`;
    // ... and their listing under that address (in its partition, with their id).
    const listing = `H#${sha('p-export')}`;
    expect(items.filter((i) => !i.SK.startsWith('G#')).map((i) => i.SK).sort()).toEqual([addressPointer, `E#${day(1)}#default/pe-1`, `E#${day(2)}#default/p-export-order-1`, listing, 'P']);
    expect(items.filter((i) => i.SK.startsWith('G#') && i.in === true).map((i) => i.SK.slice(2))).toEqual((json.customer as unknown as { segments: string[] }).segments);
  });

  it('erases a customer: no item with their id is left, and late events do not bring them back', async () => {
    await api.sendAndSettle([
      { type: 'track', anonymousId: 'visitor-erase', event: 'Product Viewed', messageId: 'er-0', timestamp: day(0), properties: { productId: 'p' } },
      { type: 'identify', userId: 'p-erase-me', anonymousId: 'visitor-erase', messageId: 'er-1', timestamp: day(1), traits: { email: 'erase-me@example.com', phone: '+4470000000' } },
      order('p-erase-me', 1, 10, day(2)),
    ]);
    const res = await api.del('/v1/customers/p-erase-me');
    expect(res.status).toBe(200);
    expect(res.json.itemsDeleted).toBeGreaterThanOrEqual(5);

    const everything = JSON.stringify([
      ...((await engine.dynamo.client.send(new ScanCommand({ TableName: PROFILE_TABLE }))).Items ?? []),
      ...((await engine.dynamo.client.send(new ScanCommand({ TableName: IDEMPOTENCY_TABLE }))).Items ?? []),
      ...engine.bus.log,
    ]);
    for (const needle of ['p-erase-me', 'visitor-erase', 'erase-me@example.com', '+4470000000']) expect(everything).not.toContain(needle);

    await api.sendAndSettle(order('p-erase-me', 2, 10, day(3)));
    expect((await api.get('/v1/customers/p-erase-me')).status).toBe(404);
  });

  it('never writes email or phone to the logs', async () => {
    const quiet = await startTestEngine({ logLevel: 'DEBUG' });
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      await client(quiet).sendAndSettle([
        { type: 'identify', userId: 'p-pii', messageId: 'pii-1', traits: { email: 'secret.person@example.com', phone: '+15550001111' } },
        order('p-pii', 1, 10, day(1)),
      ]);
    } finally {
      spy.mockRestore();
      await quiet.stop();
    }
    const log = lines.join('');
    expect(log).toContain('p-pii');
    expect(log).not.toContain('secret.person@example.com');
    expect(log).not.toContain('+15550001111');
  });
});

describe('one-click unsubscribe', () => {
  it('GET shows a confirmation and changes nothing; POST (RFC 8058) sets consent to denied at once; a forged link is refused', async () => {
    const { unsubscribeUrl } = await import('../../functions/journeys/unsubscribe');
    await api.sendAndSettle({ type: 'identify', userId: 'p-unsub', messageId: 'unsub-id-1', traits: { email: 'u@example.com' } });
    const link = unsubscribeUrl(engine.url, 'rapport-development-unsubscribe-key', 'p-unsub', 'email');

    const page = await fetch(link);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Unsubscribe from email messages?');
    await engine.settle();
    expect((await api.customer('p-unsub')).consent.email.status).toBe('unknown');

    const oneClick = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    expect(oneClick.status).toBe(200);
    await engine.settle();
    expect((await api.customer('p-unsub')).consent.email).toMatchObject({ status: 'denied', source: 'Unsubscribed' });

    const forged = await fetch(link.replace('c=p-unsub', 'c=p-export'), { method: 'POST' });
    expect(forged.status).toBe(400);
    await engine.settle();
    expect((await api.customer('p-export')).consent.email.status).toBe('unknown');
  });
});
