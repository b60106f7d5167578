/**
 * Segment parity: every call valid under Segment's spec reaches the profile,
 * whatever the tracking plan says about it (the default mode is `flag`), and
 * Segment's own SDK never reports a delivery failure (it does not retry a 4xx:
 * a refused batch is gone).
 */
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { client } from '../helpers/client';
import { startTestEngine, TEST_WRITE_KEY } from '../helpers/engine';

let engine: Engine;
beforeAll(async () => {
  engine = await startTestEngine();
});
afterAll(async () => {
  await engine.stop();
});

describe("Segment's analytics-node SDK against the engine", () => {
  it('delivers spec-valid calls without a delivery failure, and every one reaches the profile', async () => {
    // Prepare
    const analytics = new Analytics({ writeKey: TEST_WRITE_KEY, host: engine.url, flushAt: 20, maxRetries: 0 });
    const failures: unknown[] = [];
    analytics.on('error', (e) => failures.push(e));

    // Act: Segment's e-commerce spec makes no property of these events mandatory.
    analytics.identify({ userId: 'par-1', traits: { email: 'par1@example.com' } });
    analytics.track({ userId: 'par-1', event: 'Product Viewed', properties: { sku: 'G-32', name: 'Monopoly' } });
    analytics.track({ userId: 'par-1', event: 'Order Completed', properties: { order_id: 'par-o-1', total: 27.5, currency: 'EUR' } });
    analytics.track({ userId: 'par-1', event: 'Order Completed', properties: { orderId: 'par-o-2', value: 12.5 } });
    analytics.page({ userId: 'par-1', name: 'Pricing', properties: { url: 'https://example.com/pricing' } });
    analytics.screen({ userId: 'par-1', name: 'Home' });
    analytics.group({ userId: 'par-1', groupId: 'acme', traits: { name: 'Acme' } });
    analytics.alias({ userId: 'par-1', previousId: 'par-visitor-1' });
    await analytics.closeAndFlush({ timeout: 10_000 });
    await engine.settle();

    // Assess
    expect(failures).toEqual([]);
    const types = engine.bus.log
      .filter((e) => e.source === 'rapport.ingest' && (e.detail as { userId?: string }).userId === 'par-1')
      .map((e) => e['detail-type']);
    expect(types.sort()).toEqual(['Alias', 'Group', 'Identify', 'Order Completed', 'Order Completed', 'Page', 'Product Viewed', 'Screen'].sort());
    const customer = await client(engine).customer('par-1');
    expect(customer.stats.orderCount).toBe(2);
    expect(customer.stats.totalRevenue).toBe(40);
    expect((customer.stats as unknown as { productsViewed: Array<{ productId: string }> }).productsViewed.map((p) => p.productId)).toEqual(['G-32']);
  });
});
