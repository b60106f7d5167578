/**
 * Segment parity: every call valid under Segment's spec reaches the profile,
 * whatever the tracking plan says about it (the default mode is `flag`), and
 * Segment's own SDK never reports a delivery failure (it does not retry a 4xx:
 * a refused batch is gone).
 */
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Analytics } from '@segment/analytics-node';
import { violationMessageHash } from '../../functions/ingest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { client } from '../helpers/client';
import { OTHER_SECRET, startTestEngine, TEST_SECRET, TEST_WRITE_KEY } from '../helpers/engine';
import { post, signedRequest } from '../helpers/webhook';

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

describe('tracking plan modes', () => {
  /** A config folder like workflows/ whose tracking plan makes source "shop" block and requires an order id. */
  function configDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'rapport-plan-'));
    for (const file of ['tags.yaml', 'segmentation.config.yaml', 'topics.yaml']) copyFileSync(join('workflows', file), join(dir, file));
    writeFileSync(
      join(dir, 'tracking-plan.yaml'),
      ['sources:', '  shop: { mode: block }', 'events:', '  Order Completed:', '    properties:', '      orderId: { type: id, required: true }', '      revenue: { type: money }', ''].join('\n'),
    );
    return dir;
  }
  let planned: Engine;
  beforeAll(async () => {
    planned = await startTestEngine({ configDir: configDir() });
  });
  afterAll(async () => {
    await planned.stop();
  });
  const order = (messageId: string, properties: Record<string, unknown>) => ({ type: 'track', userId: 'plan-1', event: 'Order Completed', messageId, properties });

  it('refuses, for a block source, an event breaking the plan with a 400 naming the event and field', async () => {
    const res = await post(`${planned.url}/v1/events`, signedRequest(OTHER_SECRET, order('plan-block-1', { total: 5 })));
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({
      error: 'invalid_events',
      rejected: [{ index: 0, problems: [{ path: '$.properties.orderId', message: 'Order Completed: required: expected a string or a number' }] }],
    });
    expect(planned.bus.log.some((e) => (e.detail as { messageId?: string }).messageId === 'plan-block-1')).toBe(false);
  });

  it('accepts and applies, for a flag source, an event breaking the plan, and lists the violation', async () => {
    const res = await post(`${planned.url}/v1/events`, signedRequest(TEST_SECRET, order('plan-flag-1', { total: 5, revenue: 'lots' })));
    expect(res.status).toBe(202);
    await planned.settle();
    // Applied as sent: revenue is not an amount, so the order's amount is its total.
    expect((await client(planned).customer('plan-1')).stats).toMatchObject({ orderCount: 1, totalRevenue: 5 });
    const listed = await client(planned).get('/v1/tracking-plan/violations');
    expect(listed.status).toBe(200);
    expect(listed.json).toMatchObject({
      count: 1,
      violations: [
        {
          sourceId: 'default',
          messageIdHash: violationMessageHash('default', 'plan-flag-1'),
          event: 'Order Completed',
          mode: 'flag',
          violations: expect.arrayContaining([
            { path: '$.properties.orderId', message: 'Order Completed: required: expected a string or a number' },
            { path: '$.properties.revenue', message: 'Order Completed: expected an amount (a number >= 0)' },
          ]),
        },
      ],
    });
    // No value the sender sent is kept in the list.
    expect(JSON.stringify(listed.json)).not.toContain('lots');
    expect((await client(planned).get('/v1/tracking-plan/violations?limit=0')).status).toBe(400);
  });
});
