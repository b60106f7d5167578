/**
 * A captured, validly signed webhook replayed as it is. Missing, wrong, tampered,
 * expired and future-dated signatures are covered in tests/integration/ingest.test.ts;
 * here: a replay inside the 5-minute tolerance changes nothing (the webhook-id is
 * already known: 202, nothing published again), and the same bytes replayed once
 * the tolerance has passed are refused with 401.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../../infra/embedded/engine';
import { startTestEngine, TEST_SECRET } from '../../helpers/engine';
import { post, signedRequest } from '../../helpers/webhook';

/** The clock ingest checks signatures against: set by the test, so the tolerance passes without waiting for it. */
let wallClock = Date.now();
let engine: Engine;
beforeAll(async () => {
  engine = await startTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT', signatureClock: { now: () => new Date(wallClock), sleep: () => Promise.resolve() } });
});
afterAll(() => engine.stop());

describe('a replayed webhook', () => {
  it('has no effect inside the tolerance and is refused with 401 after it, to the second', async () => {
    const signedAt = new Date(Date.parse('2026-03-02T10:00:00Z'));
    const captured = signedRequest(TEST_SECRET, { type: 'track', userId: 'rp-1', event: 'Order Completed', properties: { orderId: 'rp-o1', revenue: 5, currency: 'EUR' } }, { timestamp: signedAt });
    const onBus = () => engine.bus.log.filter((e) => e.source === 'rapport.ingest' && (e.detail as { userId?: string }).userId === 'rp-1').length;

    wallClock = signedAt.getTime() + 1_000;
    const first = await post(`${engine.url}/v1/events`, captured);
    expect(first.status).toBe(202);
    // The last second of the tolerance: 300 s old is still fresh.
    wallClock = signedAt.getTime() + 300_000;
    const replayed = await post(`${engine.url}/v1/events`, captured);
    expect(replayed.status).toBe(202);
    expect(replayed.json).toEqual({ accepted: first.json.accepted, duplicates: first.json.accepted });

    // A second later the same bytes are stale.
    wallClock = signedAt.getTime() + 301_000;
    const late = await post(`${engine.url}/v1/events`, captured);
    expect(late.status).toBe(401);
    expect(late.json).toMatchObject({ error: 'invalid_signature', message: expect.stringMatching(/301 s old; the tolerance is 300 s/) });

    await engine.settle();
    expect(onBus()).toBe(1);
    const profile = (await fetch(`${engine.url}/v1/customers/rp-1`).then((r) => r.json())) as { stats: { orderCount: number } };
    expect(profile.stats.orderCount).toBe(1);
  });
});
