import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { IDEMPOTENCY_TABLE } from '../../infra/embedded/engine';
import { OTHER_SECRET, startTestEngine, TEST_SECRET, TEST_WRITE_KEY } from '../helpers/engine';
import { post, signedRequest } from '../helpers/webhook';

let engine: Engine;
beforeAll(async () => {
  engine = await startTestEngine();
});
afterAll(async () => {
  await engine.stop();
});
beforeEach(() => {
  engine.bus.fault = undefined;
});

const order = (userId: string, orderId: string, extra: Record<string, unknown> = {}) => ({
  type: 'track',
  userId,
  event: 'Order Completed',
  properties: { orderId, revenue: 42.5, currency: 'EUR' },
  ...extra,
});
const onBus = (messageId: string) => engine.bus.log.filter((e) => (e.detail as { messageId: string }).messageId === messageId);
const send = (body: unknown, secret = TEST_SECRET, options: Parameters<typeof signedRequest>[2] = {}) =>
  post(`${engine.url}/v1/events`, signedRequest(secret, body, options));

describe('POST /v1/events (Standard Webhooks)', () => {
  it('accepts a signed event with 202 and puts it on the bus as an EventBridge event', async () => {
    const res = await send(order('cust-1', 'o-1', { messageId: 'it-accept-1' }));
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ accepted: ['it-accept-1'] });
    const [event] = onBus('it-accept-1');
    expect(event).toMatchObject({
      source: 'rapport.ingest',
      'detail-type': 'Order Completed',
      detail: { type: 'track', userId: 'cust-1', event: 'Order Completed', sourceId: 'default', properties: { orderId: 'o-1', revenue: 42.5, currency: 'EUR' } },
    });
    const listed = await fetch(`${engine.url}/v1/bus/events?detailType=Order%20Completed`).then((r) => r.json() as Promise<{ events: unknown[] }>);
    expect(listed.events).toContainEqual(event);
  });

  it("names on each event the same customer's earlier events of its request (precededBy), for the journey enrolment to wait for", async () => {
    const res = await send({
      batch: [
        { type: 'identify', userId: 'pb-1', messageId: 'pb-id', traits: { email: 'pb-1@example.com' } },
        { type: 'track', userId: 'pb-2', messageId: 'pb-other', event: 'Product Viewed', properties: { productId: 'p' } },
        { type: 'track', userId: 'pb-1', messageId: 'pb-su', event: 'Signed Up', properties: {} },
        order('pb-1', 'pb-o', { messageId: 'pb-order' }),
      ],
    });
    expect(res.status).toBe(202);
    const precededBy = (id: string) => (onBus(id)[0]?.detail as { precededBy?: string[] }).precededBy;
    expect([precededBy('pb-id'), precededBy('pb-other'), precededBy('pb-su'), precededBy('pb-order')]).toEqual([undefined, undefined, ['pb-id'], ['pb-id', 'pb-su']]);
  });

  it('identifies the source by the secret that signed the request', async () => {
    const res = await send(order('cust-2', 'o-2', { messageId: 'it-shop-1' }), OTHER_SECRET);
    expect(res.status).toBe(202);
    expect(onBus('it-shop-1')[0]?.detail).toMatchObject({ sourceId: 'shop' });
  });

  it('answers 401 for unsigned, tampered, wrongly keyed, expired and future-dated requests, and publishes nothing', async () => {
    await engine.settle();
    const ingested = () => engine.bus.log.filter((e) => e.source === 'rapport.ingest').length;
    const before = ingested();
    const body = order('cust-3', 'o-3', { messageId: 'it-401' });
    const unsigned = await post(`${engine.url}/v1/events`, { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(unsigned.status).toBe(401);
    expect(unsigned.json).toMatchObject({ error: 'invalid_signature', message: expect.stringContaining('missing header(s): webhook-id, webhook-timestamp, webhook-signature') });

    const signed = signedRequest(TEST_SECRET, body);
    const tampered = await post(`${engine.url}/v1/events`, { ...signed, body: JSON.stringify({ ...body, userId: 'someone-else' }) });
    expect(tampered.status).toBe(401);
    expect(tampered.json.message).toMatch(/does not match/);

    expect((await send(body, 'whsec_d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==')).status).toBe(401);
    const expired = await send(body, TEST_SECRET, { timestamp: new Date(Date.now() - 6 * 60_000) });
    expect(expired.status).toBe(401);
    expect(expired.json.message).toMatch(/old; the tolerance is 300 s/);
    const future = await send(body, TEST_SECRET, { timestamp: new Date(Date.now() + 6 * 60_000) });
    expect(future.status).toBe(401);
    expect(future.json.message).toMatch(/in the future/);
    expect(ingested()).toBe(before);
  });

  it('accepts the good events of a batch and answers 400 naming each bad one by index, path and message', async () => {
    const res = await send({
      batch: [
        order('cust-4', 'o-4', { messageId: 'it-batch-good-0' }),
        { type: 'track', userId: 'cust-4', event: 'Unsubscribed', messageId: 'it-batch-bad-1', properties: { channel: 'fax' } },
        { type: 'identify', userId: 'cust-4', messageId: 'it-batch-good-2', traits: { email: 'c4@example.com' } },
        { type: 'track', event: 'Signed Up', messageId: 'it-batch-bad-3' },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      error: 'invalid_events',
      message: '2 of 4 event(s) rejected; the other 2 were accepted',
      accepted: ['it-batch-good-0', 'it-batch-good-2'],
      rejected: [
        { index: 1, problems: [{ path: '$.properties.channel', message: 'Unsubscribed: expected one of "email", "sms", "whatsapp", "push", "all", received "fax"' }] },
        { index: 3, problems: [{ path: '$.userId', message: 'either userId or anonymousId is required' }] },
      ],
    });
    expect(onBus('it-batch-good-0')).toHaveLength(1);
    expect(onBus('it-batch-good-2')).toHaveLength(1);
    expect(onBus('it-batch-bad-1')).toHaveLength(0);
    expect(onBus('it-batch-bad-3')).toHaveLength(0);
  });

  it('answers 400 for an event too big for one EventBridge entry (256 KB) and still publishes the rest, big ones in calls under the limit', async () => {
    const ingestCalls = () => engine.bus.callsBySource.get('rapport.ingest') ?? 0;
    const calls = ingestCalls();
    const note = (kb: number) => 'x'.repeat(kb * 1024);
    const res = await send({
      batch: [
        order('cust-big', 'o-big-0', { messageId: 'it-big-0', properties: { orderId: 'o-big-0', revenue: 1, currency: 'EUR', note: note(200) } }),
        order('cust-big', 'o-big-1', { messageId: 'it-big-1', properties: { orderId: 'o-big-1', revenue: 1, currency: 'EUR', note: note(300) } }),
        order('cust-big', 'o-big-2', { messageId: 'it-big-2', properties: { orderId: 'o-big-2', revenue: 1, currency: 'EUR', note: note(200) } }),
      ],
    });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ accepted: ['it-big-0', 'it-big-2'], rejected: [{ index: 1, problems: [{ path: '$', message: expect.stringMatching(/^the event is 307,\d{3} bytes on the bus; EventBridge takes at most 262,144 \(256 KB\) per event/) }] }] });
    expect(onBus('it-big-0')).toHaveLength(1);
    expect(onBus('it-big-2')).toHaveLength(1);
    expect(onBus('it-big-1')).toHaveLength(0);
    // Two 200 KB events do not fit one PutEvents call (256 KB in all): two calls.
    expect(ingestCalls() - calls).toBe(2);
  });

  it('answers 400 for a body that is not JSON or not UTF-8, 415 for another content type, 413 over 1 MiB or 500 events', async () => {
    const notJson = await send(undefined, TEST_SECRET, { rawBody: '{"type": "track",' });
    expect(notJson.status).toBe(400);
    expect(notJson.json).toMatchObject({ error: 'invalid_json' });

    const badUtf8 = await send(undefined, TEST_SECRET, { rawBody: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]) });
    expect(badUtf8.status).toBe(400);
    expect(badUtf8.json).toMatchObject({ error: 'invalid_utf8', message: 'body is not valid UTF-8' });

    const form = await send(undefined, TEST_SECRET, { rawBody: 'a=1', contentType: 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
    expect(form.json.message).toContain('Content-Type must be application/json');

    const huge = await send(order('cust-5', 'o-6', { properties: { orderId: 'o', revenue: 1, currency: 'EUR', note: 'x'.repeat(1024 * 1024) } }));
    expect(huge.status).toBe(413);
    expect(huge.json).toMatchObject({ error: 'payload_too_large' });

    const many = await send({ batch: Array.from({ length: 501 }, (_, i) => order('cust-5', `o-${i}`)) });
    expect(many.status).toBe(413);
    expect(many.json.message).toBe('batch holds 501 events; the limit is 500');

    const empty = await send({ batch: [] });
    expect(empty.status).toBe(400);
    expect(empty.json.rejected).toEqual([{ index: -1, problems: [{ path: '$.batch', message: 'batch must hold at least one event' }] }]);
  });

  it('publishes a redelivered webhook (same webhook-id) once, even when its events carry no messageId', async () => {
    const body = { batch: [order('cust-6', 'o-7'), order('cust-6', 'o-8')] };
    const first = await send(body, TEST_SECRET, { id: 'wh-redelivered-1' });
    const again = await send(body, TEST_SECRET, { id: 'wh-redelivered-1' });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.json).toEqual({ accepted: first.json.accepted, duplicates: first.json.accepted });
    for (const id of first.json.accepted as string[]) expect(onBus(id)).toHaveLength(1);
  });

  it('publishes an event once per messageId, across requests and within one batch, for 72 hours', async () => {
    const e = order('cust-7', 'o-9', { messageId: 'it-dup-1' });
    expect((await send(e)).status).toBe(202);
    const again = await send({ batch: [e, e] });
    expect(again.status).toBe(202);
    expect(again.json).toEqual({ accepted: ['it-dup-1', 'it-dup-1'], duplicates: ['it-dup-1', 'it-dup-1'] });
    expect(onBus('it-dup-1')).toHaveLength(1);

    const { Items = [] } = await engine.dynamo.client.send(new ScanCommand({ TableName: IDEMPOTENCY_TABLE }));
    const record = Items.find((i) => i.status?.S === 'COMPLETED');
    expect(record).toBeDefined();
    const ttl = Number(record!.expiration!.N) - Date.now() / 1000;
    expect(ttl).toBeGreaterThan(72 * 3600 - 120);
    expect(ttl).toBeLessThanOrEqual(72 * 3600 + 1);
  });

  it('resends entries PutEvents rejects and publishes every event exactly once', async () => {
    const failedOnce = new Set<string>();
    engine.bus.fault = (entry) => {
      if (entry.Source !== 'rapport.ingest') return undefined;
      const id = (JSON.parse(entry.Detail) as { messageId: string }).messageId;
      if (Number(id.split('-').pop()) % 3 === 0 && !failedOnce.has(id)) {
        failedOnce.add(id);
        return { ErrorCode: 'InternalFailure', ErrorMessage: 'injected' };
      }
      return undefined;
    };
    const batch = Array.from({ length: 30 }, (_, i) => order('cust-8', `o-${i}`, { messageId: `it-partial-${i}` }));
    const calls = engine.bus.callsBySource.get('rapport.ingest') ?? 0;
    const res = await send({ batch });
    expect(res.status).toBe(202);
    expect(failedOnce.size).toBe(10);
    expect(engine.bus.callsBySource.get('rapport.ingest')! - calls).toBe(3 + 1);
    for (let i = 0; i < batch.length; i++) expect(onBus(`it-partial-${i}`)).toHaveLength(1);
  });

  it('answers 503 naming the events that still could not be published, and publishes them on retry', async () => {
    engine.bus.fault = (entry) => (entry.Source === 'rapport.ingest' && entry.Detail.includes('it-down-1') ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' } : undefined);
    const body = { batch: [order('cust-9', 'o-1', { messageId: 'it-down-0' }), order('cust-9', 'o-2', { messageId: 'it-down-1' })] };
    const res = await send(body, TEST_SECRET, { id: 'wh-down' });
    expect(res.status).toBe(503);
    expect(res.json).toMatchObject({
      error: 'publish_failed',
      accepted: ['it-down-0'],
      failed: [{ index: 1, messageId: 'it-down-1', errorCode: 'ThrottlingException' }],
    });
    expect(onBus('it-down-1')).toHaveLength(0);

    engine.bus.fault = undefined;
    const retry = await send(body, TEST_SECRET, { id: 'wh-down' });
    expect(retry.status).toBe(202);
    expect(retry.json).toEqual({ accepted: ['it-down-1', 'it-down-0'], duplicates: ['it-down-0'] });
    expect(onBus('it-down-0')).toHaveLength(1);
    expect(onBus('it-down-1')).toHaveLength(1);
  });

  it('answers 404 and 405 for other paths and methods', async () => {
    expect((await fetch(`${engine.url}/v1/events`)).status).toBe(405);
    expect((await fetch(`${engine.url}/v2/events`, { method: 'POST' })).status).toBe(404);
  });
});

describe('Segment HTTP Tracking API', () => {
  const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

  it('accepts /v1/track and /v1/identify with the write key as Basic-auth username', async () => {
    const track = await post(`${engine.url}/v1/track`, {
      headers: { 'content-type': 'application/json', authorization: basic(TEST_WRITE_KEY) },
      body: JSON.stringify({ userId: 'seg-1', event: 'Product Viewed', properties: { product_id: 'p-1', category: 'baby' }, messageId: 'seg-track-1' }),
    });
    expect(track.status).toBe(202);
    expect(onBus('seg-track-1')[0]?.detail).toMatchObject({ type: 'track', properties: { productId: 'p-1', category: 'baby' } });

    const identify = await post(`${engine.url}/v1/identify`, {
      headers: { 'content-type': 'application/json', authorization: basic(TEST_WRITE_KEY) },
      body: JSON.stringify({ userId: 'seg-1', traits: { email: 'seg1@example.com' }, messageId: 'seg-identify-1' }),
    });
    expect(identify.status).toBe(202);
    expect(onBus('seg-identify-1')[0]).toMatchObject({ 'detail-type': 'Identify', detail: { traits: { email: 'seg1@example.com' } } });
  });

  it('answers 401 with WWW-Authenticate for a missing or unknown write key', async () => {
    const body = JSON.stringify({ userId: 'seg-2', event: 'X' });
    const missing = await post(`${engine.url}/v1/track`, { headers: { 'content-type': 'application/json' }, body });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Basic realm="rapport"');
    const unknown = await post(`${engine.url}/v1/track`, { headers: { 'content-type': 'application/json', authorization: basic('nope-nope-nope') }, body });
    expect(unknown.status).toBe(401);
    expect(unknown.json).toMatchObject({ error: 'invalid_write_key' });
  });

  it("gets events from Segment's own analytics-node SDK pointed at the engine", async () => {
    const analytics = new Analytics({ writeKey: TEST_WRITE_KEY, host: engine.url, flushAt: 3, maxRetries: 0 });
    const failures: unknown[] = [];
    analytics.on('error', (e) => failures.push(e));
    analytics.identify({ userId: 'sdk-1', traits: { email: 'sdk1@example.com', name: 'Ada' } });
    analytics.track({ userId: 'sdk-1', event: 'Signed Up', properties: { method: 'google' } });
    analytics.track({ anonymousId: 'anon-sdk', event: 'Order Completed', properties: { order_id: 'sdk-o-1', revenue: 10, currency: 'usd' } });
    await analytics.closeAndFlush({ timeout: 10_000 });
    expect(failures).toEqual([]);
    const fromSdk = engine.bus.log.filter((e) => {
      const d = e.detail as { userId?: string; anonymousId?: string };
      return d.userId === 'sdk-1' || d.anonymousId === 'anon-sdk';
    });
    expect(fromSdk.map((e) => e['detail-type'])).toEqual(['Identify', 'Signed Up', 'Order Completed']);
    expect(fromSdk[2]?.detail).toMatchObject({ properties: { orderId: 'sdk-o-1', currency: 'USD' }, context: { library: { name: '@segment/analytics-node' } } });
  });
});

describe('idempotency store', () => {
  it('keeps records in the same Powertools layout as the AWS table (id, expiration, status)', async () => {
    const { Items = [] } = await engine.dynamo.client.send(new ScanCommand({ TableName: IDEMPOTENCY_TABLE, Limit: 1 }));
    const key = Items[0]!.id!.S!;
    expect(key).toMatch(/^rapport-ingest#/);
    const { Item } = await engine.dynamo.client.send(new GetItemCommand({ TableName: IDEMPOTENCY_TABLE, Key: { id: { S: key } } }));
    expect(Object.keys(Item ?? {}).sort()).toEqual(expect.arrayContaining(['expiration', 'id', 'status']));
  });
});
