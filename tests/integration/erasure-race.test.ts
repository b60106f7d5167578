/**
 * Erasure is complete while events race it (decision 8): a customer's late
 * events stream in from several senders (signed webhooks and the Segment
 * endpoints) while DELETE runs. Once it has answered and the late events have
 * been handled, no item of any table and no byte of any file in the data
 * folder names the customer (id, email, phone) — the bus log, the outbox log
 * and dynalite's LevelDB files included, read decoded (snappy table blocks, log records, base64 and
 * brotli bodies: tests/helpers/data-folder.ts) — and their journey run is stopped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { client } from '../helpers/client';
import { allItems, filesNaming } from '../helpers/data-folder';
import { startTestEngine, TEST_WRITE_KEY } from '../helpers/engine';
import { eventually, runsOf } from '../helpers/journeys';
import { post, signedRequest } from '../helpers/webhook';
import { TEST_SECRET } from '../helpers/engine';

const ID = 'zq-erased-7731';
const EMAIL = 'zq.erased.7731@example.org';
const PHONE = '+4915207731773';
const NEEDLES = [ID, EMAIL, PHONE];
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const basic = `Basic ${Buffer.from(`${TEST_WRITE_KEY}:`).toString('base64')}`;
const HOUR = 3_600_000;

describe('erasure racing late events', () => {
  it('leaves nothing that names the customer in any table or any file of the data folder, and stops their journey', async () => {
    // Prepare: a customer with email, phone and a running welcome journey, and another customer who stays.
    const dataDir = mkdtempSync(join(tmpdir(), 'rapport-erasure-race-'));
    dirs.push(dataDir);
    const engine = await startTestEngine({ dataDir, sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: undefined } });
    const api = client(engine);
    const before = (n: number) => new Date(Date.now() - HOUR + n).toISOString();
    await api.sendAndSettle([
      { type: 'identify', userId: ID, traits: { email: EMAIL, phone: PHONE, name: 'Zq Erased' }, timestamp: before(0) },
      { type: 'track', userId: ID, event: 'Signed Up', timestamp: before(1) },
      { type: 'identify', userId: 'zq-stays', traits: { email: 'stays@example.org' } },
    ]);
    const run = await eventually(async () => (await runsOf(engine, ID)).find((r) => r.journeyId === 'welcome' && r.status === 'running'), 'welcome run');
    await eventually(() => engine.outbox.entries.some((m) => 'to' in m && m.to === EMAIL), 'welcome email');

    // Act: ~300 late events (dated before the erasure; every fifth a consent denial and every seventh a hard
    // bounce, which ingest holds before it answers) from four concurrent senders while DELETE runs.
    const late = (n: number) =>
      n % 7 === 2
        ? { type: 'track', userId: ID, event: 'Message Bounced', properties: { channel: n % 2 ? 'email' : 'sms', bounceType: 'hard' }, timestamp: before(10 + n), messageId: `late-${n}` }
        : n % 5 === 1
        ? { type: n % 2 ? 'track' : 'identify', userId: ID, ...(n % 2 ? { event: 'Unsubscribed', properties: { channel: 'all' } } : { traits: { consent: { email: false, sms: false } } }), timestamp: before(10 + n), messageId: `late-${n}` }
        : n % 3 === 0
          ? { type: 'identify', userId: ID, traits: { email: EMAIL, phone: PHONE, plan: `p-${n}` }, timestamp: before(10 + n), messageId: `late-${n}` }
          : { type: 'track', userId: ID, event: 'Product Viewed', properties: { productId: `sku-${n}`, email: EMAIL, phone: PHONE }, timestamp: before(10 + n), messageId: `late-${n}` };
    const webhookSender = async (offset: number) => {
      for (let i = 0; i < 25; i++) {
        const batch = [0, 1, 2].map((k) => late(offset + i * 3 + k));
        const res = await post(`${engine.url}/v1/events`, signedRequest(TEST_SECRET, { batch }));
        expect(res.status, res.text).toBe(202);
      }
    };
    const segmentSender = async (offset: number) => {
      for (let i = 0; i < 75; i++) {
        const event = late(offset + i);
        const path = event.type === 'identify' ? '/v1/identify' : '/v1/track';
        const res = await post(`${engine.url}${path}`, { headers: { 'content-type': 'application/json', authorization: basic }, body: JSON.stringify(event) });
        expect(res.status, res.text).toBe(202);
      }
    };
    const erase = async () => {
      await new Promise((r) => setTimeout(r, 50));
      return api.del(`/v1/customers/${ID}`);
    };
    const [erased] = await Promise.all([erase(), webhookSender(0), webhookSender(1000), segmentSender(2000), segmentSender(3000)]);
    expect(erased.status).toBe(200);
    // And after DELETE answered: more late events, denials among them.
    await segmentSender(4000);
    await engine.settle();

    // Assess: the API knows nothing of them, their run is stopped, the other customer stays.
    const gone = await api.get(`/v1/customers/${ID}`);
    expect(gone.status, JSON.stringify(gone)).toBe(404);
    expect(engine.journeys.sfn.executions.get(run.executionName)?.status).toBe('ABORTED');
    expect((await api.customer('zq-stays')).traits.email).toBe('stays@example.org');
    expect(engine.bus.log.filter((e) => JSON.stringify(e).includes(ID))).toEqual([]);
    expect(engine.deadLetters).toEqual([]);
    await engine.stop();

    // No item of any table, no byte of any file.
    const items = await allItems(dataDir);
    expect(items.filter(({ item }) => NEEDLES.some((n) => item.includes(n)))).toEqual([]);
    expect(items.some(({ item }) => item.includes('stays@example.org'))).toBe(true);
    expect(filesNaming(dataDir, NEEDLES)).toEqual([]);
    // The scan reads what the files keep (snappy table blocks, log records, brotli bodies): the customer who
    // stays is found in dynalite's files (tests/integration/data-folder-scan.test.ts shows each form).
    expect(filesNaming(dataDir, ['stays@example.org'])).toContainEqual(expect.stringMatching(/dynamodb/));
  }, 120_000);
});
