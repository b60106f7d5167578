import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { ManualClock } from '../../shared';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';

const DAY = 86_400_000;
// Starts at the real time: the webhook signature check reads this clock too.
const clock = new ManualClock();
const ago = (days: number) => new Date(clock.now().getTime() - days * DAY).toISOString();
let engine: Engine;
let api: ReturnType<typeof client>;
beforeAll(async () => {
  engine = await startTestEngine({ clock, sweepEveryMs: 0 });
  api = client(engine);
});
afterAll(async () => {
  await engine.stop();
});

const derived = (customerId: string) =>
  engine.bus.log.filter((e) => e.source === 'rapport.profile' && (e.detail as { userId: string }).userId === customerId).map((e) => ({ type: e['detail-type'], properties: (e.detail as { properties: Record<string, unknown> }).properties }));
const order = (userId: string, n: number, revenue: number, at: string) => ({ type: 'track', userId, event: 'Order Completed', messageId: `${userId}-o${n}`, timestamp: at, properties: { orderId: `${userId}-${n}`, revenue, currency: 'EUR' } });

describe('lifecycle, RFM and dynamic tags', () => {
  it('computes stage, RFM and tags from behaviour and publishes each change as a derived event without PII', async () => {
    await api.sendAndSettle([
      { type: 'identify', userId: 's-vip', messageId: 's-vip-id', timestamp: ago(200), traits: { email: 'vip@example.com' } },
      ...[150, 100, 60, 20, 5].map((d, n) => order('s-vip', n, 240, ago(d))),
    ]);
    const vip = await api.customer('s-vip');
    expect(vip.lifecycleStage).toBe('loyal');
    expect(vip.rfm).toEqual({ recency: 5, frequency: 4, monetary: 5, tier: 'high-value' });
    expect(vip.tags).toEqual(expect.arrayContaining(['vip', 'repeat-buyer']));
    expect(vip.computedTags).toContain('vip');

    const events = derived('s-vip');
    expect(events).toContainEqual({ type: 'Tag Added', properties: { customerId: 's-vip', tag: 'vip' } });
    expect(events).toContainEqual({ type: 'Lifecycle Stage Changed', properties: { customerId: 's-vip', from: expect.any(String), to: 'loyal' } });
    expect(JSON.stringify(events)).not.toContain('vip@example.com');
    // Derived events are not customer events: they never re-enter the profile (no loop, no double count).
    expect(vip.stats.eventCount).toBe(6);
  });

  it('tags "complained and went quiet", and removes the tag when the customer orders again', async () => {
    await api.sendAndSettle([
      order('s-quiet', 1, 30, ago(40)),
      { type: 'track', userId: 's-quiet', event: 'Complaint Filed', messageId: 's-quiet-c', timestamp: ago(3), properties: { complaintId: 'c-7' } },
    ]);
    expect((await api.customer('s-quiet')).tags).toEqual(expect.arrayContaining(['complained-and-quiet', 'open-complaint']));
    await api.sendAndSettle(order('s-quiet', 2, 30, ago(1)));
    expect((await api.customer('s-quiet')).tags).not.toContain('complained-and-quiet');
    expect(derived('s-quiet')).toContainEqual({ type: 'Tag Removed', properties: { customerId: 's-quiet', tag: 'complained-and-quiet' } });
  });

  it('tags a customer browsing baby gear after 3 views in 7 days', async () => {
    await api.sendAndSettle([1, 2, 3].map((n) => ({ type: 'track', userId: 's-baby', event: 'Product Viewed', messageId: `s-baby-${n}`, timestamp: ago(n), properties: { productId: `p${n}`, category: 'baby' } })));
    expect((await api.customer('s-baby')).tags).toContain('browsing-baby-gear');
  });

  it('catches a time-only change with the sweep: 90 days without an order → dormant, Customer Became Inactive published once', async () => {
    await api.sendAndSettle([order('s-sleepy', 1, 50, ago(10)), order('s-sleepy', 2, 50, ago(5))]);
    expect((await api.customer('s-sleepy')).lifecycleStage).toBe('new');

    clock.advance(30 * DAY); // first order 40 days ago, last 35: no longer new
    await engine.sweep();
    expect((await api.customer('s-sleepy')).lifecycleStage).toBe('active');
    clock.advance(15 * DAY); // last order 50 days ago
    await engine.sweep();
    expect((await api.customer('s-sleepy')).lifecycleStage).toBe('at-risk');
    clock.advance(45 * DAY); // 95 days
    const result = await engine.sweep();
    expect(result.due).toBeGreaterThanOrEqual(1);
    await engine.settle();
    expect((await api.customer('s-sleepy')).lifecycleStage).toBe('dormant');

    await engine.sweep();
    await engine.sweep();
    await engine.settle();
    const inactive = derived('s-sleepy').filter((e) => e.type === 'Customer Became Inactive');
    expect(inactive).toEqual([{ type: 'Customer Became Inactive', properties: { customerId: 's-sleepy', stage: 'dormant', lastOrderAt: expect.any(String) } }]);
  });

  it('finds customers whose last order is older than N days from the index, without a scan', async () => {
    const ids = await engine.profiles.lastOrderBefore(new Date(clock.now().getTime() - 90 * DAY));
    expect(ids).toContain('s-sleepy');
    expect(ids).not.toContain('s-quiet-never');
  });
});

describe('a broken tag file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-tags-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses to start the engine with a precise file:line:col message, and applies none of it', async () => {
    cpSync('workflows/segmentation.config.yaml', join(dir, 'segmentation.config.yaml'));
    writeFileSync(join(dir, 'tags.yaml'), ['tags:', '  - name: vip', '    description: big spenders', '    when: { stat: totalRevenue, gte: 1000 }', '  - name: lapsed', '    description: x', '    when: { event: Order Completed, within: 30 days }', ''].join('\n'));
    await expect(startTestEngine({ configDir: dir })).rejects.toThrow(/tags\.yaml:7:\d+ +tags\[1\]\.when\.within: expected a duration like "30d", "12h", "2w" or "3mo" \(a month is 30 days\), got "30 days"/);
  });
});
