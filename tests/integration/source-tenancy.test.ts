import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { appliedMark } from '../../functions/profile';
import { PROFILE_TABLE, type Engine } from '../../infra/embedded/engine';
import { client } from '../helpers/client';
import { OTHER_SECRET, redeliverIngested, startTestEngine, TEST_SECRET } from '../helpers/engine';
import { runsOf } from '../helpers/journeys';
import { post, signedRequest } from '../helpers/webhook';

/**
 * Sources are tenants of their own events (ARCHITECTURE decision 9): a messageId
 * is unique per source only (Segment's rule), so two sources using the same one
 * send two events, and one source re-sending its own is still a duplicate.
 */
const SEGMENT_WRITE_KEY = 'wk_tenancy_segment_01';
const CRM_SECRET = 'whsec_Y3JtLXNvdXJjZS1zZWNyZXQtMDEyMzQ1Njc4OWFiY2RlZg==';
const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
// Recent enough to start journeys (trigger.max_age: 1 day), in order: day(1) < day(2) < ...
const BASE = Math.floor(Date.now() / 60_000) * 60_000;
const day = (n: number) => new Date(BASE - (10 - n) * 3_600_000).toISOString();

describe('sources own their messageIds', () => {
  let engine: Engine;
  let shop: ReturnType<typeof client>;
  let crm: ReturnType<typeof client>;
  const segment = (path: string, body: unknown) =>
    post(`${engine.url}${path}`, { headers: { 'content-type': 'application/json', authorization: basic(SEGMENT_WRITE_KEY) }, body: JSON.stringify(body) });

  beforeAll(async () => {
    engine = await startTestEngine({
      sources: [
        { id: 'shop', webhookSecrets: [OTHER_SECRET] },
        { id: 'crm', webhookSecrets: [CRM_SECRET] },
        { id: 'web', webhookSecrets: [TEST_SECRET], writeKeys: [SEGMENT_WRITE_KEY] },
      ],
    });
    shop = client(engine, OTHER_SECRET);
    crm = client(engine, CRM_SECRET);
  }, 60_000);
  afterAll(() => engine.stop());

  it('applies three sources\' events sharing messageId 1001, and the complaint journey agrees with the profile', async () => {
    // Prepare: the same messageId, at the same instant, from a shop (order), a CRM (complaint) and a Segment SDK (identify).
    const order = { type: 'track', event: 'Order Completed', userId: 'tenant-1', messageId: '1001', timestamp: day(1), properties: { orderId: 'o-1001', revenue: 40, currency: 'EUR' } };
    const complaint = { type: 'track', event: 'Complaint Filed', userId: 'tenant-1', messageId: '1001', timestamp: day(1), properties: { complaintId: 'k-1001' } };
    const identify = { userId: 'tenant-1', messageId: '1001', timestamp: day(1), traits: { firstName: 'Ada' } };

    // Act
    expect((await shop.send(order)).accepted).toEqual(['1001']);
    expect(await crm.send(complaint)).toEqual({ accepted: ['1001'] });
    const viaSegment = await segment('/v1/identify', identify);
    expect([viaSegment.status, viaSegment.json]).toEqual([202, { accepted: ['1001'] }]);
    await engine.settle();

    // Assess: all three applied, each on the timeline, and the complaint's journey runs for a complaint the profile has.
    const profile = await crm.customer('tenant-1');
    expect(profile.stats).toMatchObject({ eventCount: 3, orderCount: 1, totalRevenue: 40, complaintCount: 1, openComplaints: ['k-1001'] });
    expect(profile.traits.firstName).toBe('Ada');
    const timeline = (await crm.get('/v1/customers/tenant-1/events')).json as unknown as { events: Array<{ sourceId: string; messageId: string }> };
    expect(timeline.events.map((e) => `${e.sourceId}/${e.messageId}`).sort()).toEqual(['crm/1001', 'shop/1001', 'web/1001']);
    expect((await runsOf(engine, 'tenant-1')).filter((r) => r.journeyId === 'complaint-follow-up')).toHaveLength(1);
  });

  it('still drops a source\'s own re-sent messageId, at ingest and on a bus redelivery', async () => {
    // Prepare
    const order = { type: 'track', event: 'Order Completed', userId: 'tenant-2', messageId: '2001', timestamp: day(2), properties: { orderId: 'o-2001', revenue: 25, currency: 'EUR' } };
    await shop.sendAndSettle(order);

    // Act: the shop re-sends it (a new webhook delivery), and EventBridge redelivers it.
    const again = await shop.sendAndSettle(order);
    await redeliverIngested(engine, '2001');

    // Assess
    expect(again).toEqual({ accepted: ['2001'], duplicates: ['2001'] });
    expect((await shop.customer('tenant-2')).stats).toMatchObject({ eventCount: 1, orderCount: 1, totalRevenue: 25 });
  });

  it('starts one run per source when two sources\' triggers share a messageId', async () => {
    // Prepare: two complaints about one customer from two systems that happen to number their messages alike.
    const filed = (complaintId: string) => ({ type: 'track', event: 'Complaint Filed', userId: 'tenant-3', messageId: '3001', timestamp: day(3), properties: { complaintId } });

    // Act
    await shop.send(filed('k-shop'));
    await crm.send(filed('k-crm'));
    await engine.settle();

    // Assess: both complaints on the profile, and a follow-up run for each.
    expect((await crm.customer('tenant-3')).stats).toMatchObject({ complaintCount: 2 });
    expect((await crm.customer('tenant-3')).stats.openComplaints.sort()).toEqual(['k-crm', 'k-shop']);
    const runs = (await runsOf(engine, 'tenant-3')).filter((r) => r.journeyId === 'complaint-follow-up');
    expect(runs).toHaveLength(2);
    expect(new Set(runs.map((r) => r.executionName)).size).toBe(2);
    // Tag rules and branches read the recent events: both complaints are there.
    const recent = (await engine.profiles.get('tenant-3'))!.profile.recentEvents.filter((e) => e.name === 'Complaint Filed');
    expect(recent.map((e) => `${e.sourceId}/${e.messageId}`).sort()).toEqual(['crm/3001', 'shop/3001']);
  });

  it('remembers which source\'s goal ended a run: another source\'s event with that messageId is not its redelivery', async () => {
    // Prepare: a welcome run, converted by the shop's order 5001.
    await shop.sendAndSettle({ type: 'track', event: 'Signed Up', userId: 'tenant-5', messageId: '5000', timestamp: day(5), properties: {} });
    await shop.sendAndSettle({ type: 'track', event: 'Order Completed', userId: 'tenant-5', messageId: '5001', timestamp: day(6), properties: { orderId: 'o-5001', revenue: 20, currency: 'EUR' } });
    const [run] = (await engine.journeys.records.runs('tenant-5', 'welcome'));
    expect(run).toMatchObject({ status: 'converted', endedBy: '5001', endedBySourceId: 'shop' });
    const stop = vi.spyOn(engine.journeys.sfn, 'stop');

    // Act: the CRM's own order, under the same messageId; then EventBridge redelivers the shop's.
    await crm.sendAndSettle({ type: 'track', event: 'Order Completed', userId: 'tenant-5', messageId: '5001', timestamp: day(7), properties: { orderId: 'o-crm-5001', revenue: 5, currency: 'EUR' } });
    const afterCrm = stop.mock.calls.filter(([, name]) => name === run!.executionName).length;
    await redeliverIngested(engine, '5001', 'shop');
    const afterRedelivery = stop.mock.calls.filter(([, name]) => name === run!.executionName).length;
    stop.mockRestore();

    // Assess: the CRM's order is a new event (applied, and it does not stop the run again); the shop's redelivery stops it again (a no-op).
    expect(afterCrm).toBe(0);
    expect(afterRedelivery).toBe(1);
    expect((await crm.customer('tenant-5')).stats).toMatchObject({ orderCount: 2, totalRevenue: 25 });
  });

  it('reads a profile applied before events were keyed by source: a redelivery stays a duplicate, another source\'s event applies', async () => {
    // Prepare: the shop's order applied, then rewritten as Rapport stored it before (mark of the messageId alone, timeline key without source).
    const order = { type: 'track', event: 'Order Completed', userId: 'tenant-4', messageId: '4001', timestamp: day(4), properties: { orderId: 'o-4001', revenue: 30, currency: 'EUR' } };
    await shop.sendAndSettle(order);
    const doc = DynamoDBDocumentClient.from(engine.dynamo.client);
    const stored = (await engine.profiles.get('tenant-4'))!;
    const legacy = { ...stored, version: stored.version + 1, applied: stored.applied.map((m) => (m === appliedMark('shop/4001') ? appliedMark('4001') : m)), outbox: stored.outbox.map((o) => ({ ...o, cause: '4001' })) };
    expect(legacy.applied).toContain(appliedMark('4001'));
    await engine.profiles.put(legacy, stored.version);
    const key = { PK: 'C#tenant-4', SK: `E#${day(4)}#shop/4001` };
    const { Item } = await doc.send(new GetCommand({ TableName: PROFILE_TABLE, Key: key }));
    await doc.send(new PutCommand({ TableName: PROFILE_TABLE, Item: { ...Item, SK: `E#${day(4)}#4001` } }));
    await doc.send(new DeleteCommand({ TableName: PROFILE_TABLE, Key: key }));

    // Act: EventBridge redelivers the shop's order; the CRM sends a complaint with the same messageId and time.
    await redeliverIngested(engine, '4001');
    await crm.sendAndSettle({ type: 'track', event: 'Complaint Filed', userId: 'tenant-4', messageId: '4001', timestamp: day(4), properties: { complaintId: 'k-4001' } });

    // Assess: one order, one complaint.
    expect((await crm.customer('tenant-4')).stats).toMatchObject({ eventCount: 2, orderCount: 1, totalRevenue: 30, complaintCount: 1 });
  });
});

describe('a source with a bad secret is disabled alone', () => {
  let engine: Engine;
  const BROKEN_WRITE_KEY = 'wk_tenancy_broken_01';
  const segment = (key: string, body: unknown) =>
    post(`${engine.url}/v1/track`, { headers: { 'content-type': 'application/json', authorization: basic(key) }, body: JSON.stringify(body) });

  beforeAll(async () => {
    engine = await startTestEngine({
      sources: [
        { id: 'shop', webhookSecrets: [OTHER_SECRET] },
        // A secret pasted without its base64 body: the CRM is misconfigured.
        { id: 'crm', webhookSecrets: ['whsec_not base64!'], writeKeys: [BROKEN_WRITE_KEY] },
        { id: 'web', writeKeys: [SEGMENT_WRITE_KEY] },
      ],
      // What an operator reads: warnings and errors.
      logLevel: 'WARN',
    });
  }, 60_000);
  afterAll(() => engine.stop());

  it('keeps the other sources at 202 and answers the broken one 503, by write key or by signature', async () => {
    // Prepare
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);

    // Act
    const shop = await client(engine, OTHER_SECRET).send({ type: 'track', event: 'Product Viewed', userId: 'healthy-1', messageId: 'h-1', properties: { productId: 'p-1' } });
    const web = await segment(SEGMENT_WRITE_KEY, { event: 'Product Viewed', userId: 'healthy-1', messageId: 'h-2', properties: { productId: 'p-1' } });
    const crmSegment = await segment(BROKEN_WRITE_KEY, { event: 'Product Viewed', userId: 'healthy-1', messageId: 'h-3', properties: { productId: 'p-1' } });
    const crmWebhook = await post(`${engine.url}/v1/events`, signedRequest(CRM_SECRET, { type: 'track', event: 'Product Viewed', userId: 'healthy-1', messageId: 'h-4', properties: { productId: 'p-1' } }));
    // Every source's configuration was read: a key no source has is the sender's mistake.
    const unknownKey = await segment('wk_tenancy_nobody_01', { event: 'Product Viewed', userId: 'healthy-1', messageId: 'h-5', properties: { productId: 'p-1' } });
    await engine.settle();
    const lines = [...out.mock.calls, ...err.mock.calls].map((c) => String(c[0]));
    out.mockRestore();
    err.mockRestore();

    // Assess
    expect(shop).toEqual({ accepted: ['h-1'] });
    expect([web.status, web.json]).toEqual([202, { accepted: ['h-2'] }]);
    expect(crmSegment.status).toBe(503);
    expect(crmSegment.headers.get('retry-after')).toBe('60');
    expect(crmSegment.json).toEqual({ error: 'source_misconfigured', message: expect.stringContaining('source "crm" is disabled') });
    // Its signature matches no readable secret while a source is disabled: maybe that source's, so a 503 (retry), not a 401.
    expect([crmWebhook.status, crmWebhook.headers.get('retry-after'), crmWebhook.json]).toEqual([503, '60', { error: 'source_misconfigured', message: expect.stringContaining('1 source(s) are disabled') }]);
    expect(unknownKey.status).toBe(401);
    expect((await client(engine).customer('healthy-1')).stats.eventCount).toBe(2);
    // The broken source is named once with why, and each request it refuses (only those) is counted under it.
    expect(lines.filter((l) => l.includes('source disabled by its configuration'))).toEqual([expect.stringMatching(/"sourceId":"crm".*webhookSecrets\[0\]/)]);
    expect(lines.filter((l) => l.includes('request refused: its source is disabled'))).toEqual([expect.stringContaining('"sourceId":"crm"'), expect.stringContaining('"sourceId":"crm"')]);
  });
});

describe('a source sends only the events and traits it is allowed', () => {
  let engine: Engine;
  const PERMITTED_KEY = 'wk_tenancy_limited_01';

  beforeAll(async () => {
    engine = await startTestEngine({
      sources: [
        // The shop sends orders and identifies with a name; the CRM sends complaints and email consent; the web SDK anything.
        { id: 'shop', webhookSecrets: [OTHER_SECRET], events: ['Order Completed', 'Identify'], traits: ['firstName'] },
        { id: 'crm', webhookSecrets: [CRM_SECRET], writeKeys: [PERMITTED_KEY], events: ['Complaint Filed', 'Unsubscribed', 'Identify'], traits: ['consent.email'] },
        { id: 'web', webhookSecrets: [TEST_SECRET] },
      ],
    });
  }, 60_000);
  afterAll(() => engine.stop());

  it('refuses with a 400 naming source, event and field, and accepts the rest of the batch', async () => {
    // Act: the shop tries a complaint, an email trait and a consent change among allowed events.
    const res = await post(
      `${engine.url}/v1/events`,
      signedRequest(OTHER_SECRET, {
        batch: [
          { type: 'track', event: 'Order Completed', userId: 'perm-1', messageId: 'p-1', properties: { orderId: 'o-p1', revenue: 10, currency: 'EUR' } },
          { type: 'track', event: 'Complaint Filed', userId: 'perm-1', messageId: 'p-2', properties: { complaintId: 'k-p2' } },
          { type: 'identify', userId: 'perm-1', messageId: 'p-3', traits: { firstName: 'Ada', email: 'evil@example.com' } },
          { type: 'identify', userId: 'perm-1', messageId: 'p-4', traits: { consent: { email: true } } },
          { type: 'identify', userId: 'perm-1', messageId: 'p-5', traits: { firstName: 'Ada' } },
        ],
      }),
    );
    const crm = await post(
      `${engine.url}/v1/track`,
      { headers: { 'content-type': 'application/json', authorization: basic(PERMITTED_KEY) }, body: JSON.stringify({ event: 'Unsubscribed', userId: 'perm-1', messageId: 'p-6', properties: { channel: 'sms' } }) },
    );
    await engine.settle();

    // Assess
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: 'invalid_events', accepted: ['p-1', 'p-5'] });
    expect(res.json.rejected).toEqual([
      { index: 1, problems: [{ path: '$.event', message: 'source "shop" may not send "Complaint Filed" events (it may send: Order Completed, Identify)' }] },
      { index: 2, problems: [{ path: '$.traits.email', message: 'source "shop" may not set trait "email" in "Identify" events (it may set: firstName)' }] },
      { index: 3, problems: [{ path: '$.traits.consent.email', message: 'source "shop" may not set "consent.email" in "Identify" events (it may set: firstName)' }] },
    ]);
    expect(crm.status).toBe(400);
    expect(crm.json.rejected).toEqual([{ index: 0, problems: [{ path: '$.properties.channel', message: 'source "crm" may not set "consent.sms" in "Unsubscribed" events (it may set: consent.email)' }] }]);
    const profile = await client(engine).customer('perm-1');
    expect(profile.stats).toMatchObject({ eventCount: 2, orderCount: 1, complaintCount: 0 });
    expect(profile.traits).toEqual({ firstName: 'Ada' });
    expect(profile.consent.sms?.status ?? 'unknown').toBe('unknown');
  });

  it('lets a source without lists send everything', async () => {
    const web = await client(engine, TEST_SECRET).sendAndSettle({ type: 'identify', userId: 'perm-2', messageId: 'p-7', traits: { email: 'a@example.com', consent: { email: true } } });
    expect(web).toEqual({ accepted: ['p-7'] });
  });
});
