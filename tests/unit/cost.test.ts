import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signed, SOURCES } from '../../bench/cost/events';
import { emptyUsage, itemSize, Meter, restrict } from '../../bench/cost/meter';
import { PRICES } from '../../bench/cost/prices';
import { floorPerEvent, MEMORY_MB, price, total } from '../../bench/cost/report';
import { startEngine, type Engine } from '../../infra/embedded/engine';
import { INGEST_EVENT_SOURCE } from '../../shared';

/** The cost model's pricing arithmetic, and its meter on a real embedded engine. */
describe('cost model pricing', () => {
  it('sizes DynamoDB items as AWS does: names + values, numbers ~1 byte per 2 digits + 1', () => {
    expect(itemSize({ PK: { S: 'C#ada' } })).toBe(2 + 5);
    expect(itemSize({ n: { N: '12345' } })).toBe(1 + 4);
    expect(itemSize({ ok: { BOOL: true }, m: { M: { a: { S: 'xy' } } } })).toBe(2 + 1 + 1 + (3 + 1 + 1 + 2));
  });

  it('prices each line at list price: Lambda GB-s at the construct memory, WRU including GSI writes, transitions, emails', () => {
    const u = emptyUsage();
    u.api = { requests: 1_000_000, billed: 1_000_000, bytes: 0 };
    u.bus.calls = 100_000;
    u.bus.entries = 1_000_000;
    u.bus.chunks = 1_000_000;
    u.bus.byFn.ingest = { calls: 100_000, entries: 1_000_000, chunks: 1_000_000 };
    u.fns.profile = { ...u.fns.profile, invocations: 1_000_000, ms: 10_000_000 }; // 10 ms each, no AWS calls
    u.dynamo.set('profile\tPutItem\tprofile', { calls: 1_000_000, rru: 0, wru: 2_000_000, gsiWru: 1_000_000, failed: 0 });
    u.dynamo.set('profile\tGetItem\tprofile', { calls: 1_000_000, rru: 500_000, wru: 0, gsiWru: 0, failed: 0 });
    u.sfn = { executions: 1000, transitions: 11_000, tasks: 4000, byJourney: new Map() };
    u.out.email = 3000;
    const lines = price(u);
    const line = (item: string) => lines.find((l) => l.item.startsWith(item))!.usd;
    expect(line('API Gateway')).toBeCloseTo(1.0, 9);
    expect(line('EventBridge PutEvents')).toBeCloseTo(1.0, 9);
    expect(MEMORY_MB.profile).toBe(512);
    // 1M requests x $0.20/M + 10,000 s x 0.5 GB x $0.0000133334
    expect(line('Lambda profile')).toBeCloseTo(0.2 + 5000 * 0.0000133334, 9);
    expect(line('DynamoDB writes')).toBeCloseTo(3 * 0.625, 9);
    expect(line('DynamoDB reads')).toBeCloseTo(0.5 * 0.125, 9);
    expect(line('Step Functions')).toBeCloseTo(11_000 * 0.000025, 9);
    expect(line('SES')).toBeCloseTo(0.3, 9);
    expect(total(lines)).toBeGreaterThan(1 + 1 + 1.875);
    expect(floorPerEvent() * 1e6).toBeCloseTo(2.625, 9);
  });

  it('keeps only the chosen functions when restricting a sample', () => {
    const u = emptyUsage();
    u.api.requests = 5;
    u.fns.ingest.invocations = 5;
    u.fns.steps.invocations = 7;
    u.out.email = 2;
    u.dynamo.set('ingest\tPutItem\tidempotency record', { calls: 5, rru: 0, wru: 5, gsiWru: 0, failed: 0 });
    u.dynamo.set('steps\tGetItem\tprofile', { calls: 7, rru: 7, wru: 0, gsiWru: 0, failed: 0 });
    const journey = restrict(u, ['steps']);
    expect(journey.api.requests).toBe(0);
    expect(journey.fns.ingest.invocations).toBe(0);
    expect(journey.fns.steps.invocations).toBe(7);
    expect(journey.out.email).toBe(2);
    expect([...journey.dynamo.keys()]).toEqual(['steps\tGetItem\tprofile']);
  });
});

describe('cost meter on the embedded engine', () => {
  let engine: Engine;
  let meter: Meter;
  beforeAll(async () => {
    engine = await startEngine({ port: 0, dataDir: null, sources: SOURCES, sweepEveryMs: 0, logLevel: 'SILENT' });
    meter = new Meter(engine);
  }, 60_000);
  afterAll(async () => {
    meter.detach();
    await engine.stop();
  });

  it('counts one API request, one ingest PutEvents entry, the idempotency and profile writes and one consumer invocation for one event', async () => {
    const request = signed({ type: 'identify', messageId: 'cost-test-1', userId: 'cost-test-ada', traits: { email: 'ada@example.com' } });
    await meter.api(Buffer.byteLength(request.body), async () => {
      const res = await fetch(`${engine.url}${request.path}`, { method: 'POST', headers: request.headers, body: request.body });
      expect(res.status).toBe(202);
    });
    await engine.settle();
    const u = meter.collect();
    expect(u.api.requests).toBe(1);
    expect(u.fns.ingest.invocations).toBe(1);
    expect(u.bus.byFn.ingest.entries).toBe(1);
    expect(u.fns.ingest.putEventsCalls).toBe(1);
    expect(u.fns.profile.invocations).toBe(1);
    const idempotency = [...u.dynamo.entries()].filter(([k]) => k.startsWith('ingest\t') && k.endsWith('\tidempotency record'));
    expect(idempotency.reduce((n, [, r]) => n + r.wru, 0)).toBeGreaterThanOrEqual(1);
    const profileWrite = u.dynamo.get('profile\tPutItem\tprofile');
    expect(profileWrite?.calls).toBe(1);
    expect(profileWrite?.wru).toBeGreaterThanOrEqual(1);
    expect(u.fns.profile.dynamoCalls).toBeGreaterThanOrEqual(2);
  }, 30_000);

  it('bills a PutEvents entry per started 64 KB chunk', async () => {
    meter.reset();
    const big = JSON.stringify({ blob: 'x'.repeat(100 * 1024) });
    engine.bus.putEvents([{ Source: INGEST_EVENT_SOURCE, DetailType: 'Cost Test', Detail: big }]);
    const u = meter.collect();
    expect(u.bus.entries).toBe(1);
    expect(u.bus.chunks).toBe(2);
    expect(price(u).find((l) => l.item === 'EventBridge PutEvents')!.usd).toBeCloseTo(2 * PRICES.busEvent, 12);
  });
});
