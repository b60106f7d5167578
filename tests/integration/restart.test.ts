import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestEngine, TEST_SECRET } from '../helpers/engine';
import { post, signedRequest } from '../helpers/webhook';

const dataDir = mkdtempSync(join(tmpdir(), 'rapport-restart-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('embedded engine restart', () => {
  it('keeps idempotency records (dynalite on disk) and the bus log across a restart', async () => {
    const event = { type: 'track', userId: 'r-1', event: 'Signed Up', messageId: 'restart-1' };
    const first = await startTestEngine({ dataDir });
    expect((await post(`${first.url}/v1/events`, signedRequest(TEST_SECRET, event))).status).toBe(202);
    await first.stop();

    const second = await startTestEngine({ dataDir });
    try {
      const again = await post(`${second.url}/v1/events`, signedRequest(TEST_SECRET, event));
      expect(again.json).toEqual({ accepted: ['restart-1'], duplicates: ['restart-1'] });
      const listed = (await fetch(`${second.url}/v1/bus/events`).then((r) => r.json())) as { events: Array<{ detail: { messageId: string } }> };
      expect(listed.events.filter((e) => e.detail.messageId === 'restart-1')).toHaveLength(1);
    } finally {
      await second.stop();
    }
  });

  it('keeps profiles, their stats and their tags across a restart, and goes on from them', async () => {
    const at = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString();
    const events = [
      { type: 'identify', userId: 'r-2', traits: { email: 'r-2@example.com', plan: 'pro' }, timestamp: at(3) },
      { type: 'track', userId: 'r-2', event: 'Order Completed', properties: { orderId: 'r-2-1', revenue: 700, currency: 'EUR' }, timestamp: at(2) },
      { type: 'track', userId: 'r-2', event: 'Order Completed', properties: { orderId: 'r-2-2', revenue: 450.5, currency: 'EUR' }, timestamp: at(1) },
      { type: 'track', userId: 'r-2', event: 'Complaint Filed', properties: { complaintId: 'r-2-k1', category: 'delivery', severity: 'low' }, timestamp: at(1) },
    ];
    const first = await startTestEngine({ dataDir, sweepEveryMs: 0 });
    let before: Record<string, unknown>;
    try {
      expect((await post(`${first.url}/v1/events`, signedRequest(TEST_SECRET, { batch: events }))).status).toBe(202);
      await first.settle();
      before = (await fetch(`${first.url}/v1/customers/r-2`).then((r) => r.json())) as Record<string, unknown>;
      expect(before).toMatchObject({ traits: { plan: 'pro' }, stats: { orderCount: 2, totalRevenue: 1150.5, openComplaints: ['r-2-k1'] } });
      expect(before.tags).toEqual(expect.arrayContaining(['vip', 'repeat-buyer']));
    } finally {
      await first.stop();
    }

    const second = await startTestEngine({ dataDir, sweepEveryMs: 0 });
    try {
      const after = (await fetch(`${second.url}/v1/customers/r-2`).then((r) => r.json())) as Record<string, unknown>;
      expect(after).toEqual(before);
      // And the restarted engine goes on from there: one more order counts on top.
      const more = { type: 'track', userId: 'r-2', event: 'Order Completed', properties: { orderId: 'r-2-3', revenue: 10, currency: 'EUR' } };
      expect((await post(`${second.url}/v1/events`, signedRequest(TEST_SECRET, more))).status).toBe(202);
      await second.settle();
      const view = (await fetch(`${second.url}/v1/customers/r-2`).then((r) => r.json())) as { stats: { orderCount: number; totalRevenue: number } };
      expect(view.stats).toMatchObject({ orderCount: 3, totalRevenue: 1160.5 });
    } finally {
      await second.stop();
    }
  });
});
