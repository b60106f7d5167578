import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { itemSize } from '../../bench/cost/meter';
import { PROFILE_TABLE, type Engine } from '../../infra/embedded/engine';
import { ManualClock } from '../../shared';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';

const DAY = 86_400_000;
const clock = new ManualClock();
const ago = (days: number) => new Date(clock.now().getTime() - days * DAY).toISOString();
let engine: Engine;
let api: ReturnType<typeof client>;
beforeAll(async () => {
  engine = await startTestEngine({ clock, sweepEveryMs: 0 });
  api = client(engine);
}, 60_000);
afterAll(async () => {
  await engine.stop();
});

/** Browsing and profile updates no tag rule, branch or goal reads: the bulk of a real customer's traffic. */
function noise(userId: string, pages: number, identifies: number, fromDaysAgo: number) {
  const events: unknown[] = [];
  for (let i = 0; i < pages; i++) {
    events.push({
      type: 'page',
      userId,
      messageId: `${userId}-page-${i}`,
      timestamp: ago(fromDaysAgo - (i / pages) * fromDaysAgo * 0.99),
      name: `Page ${i}`,
      properties: { path: `/products/${i}`, url: `https://shop.example.com/products/${i}?utm_source=newsletter`, title: `A product page with a long title ${i}`, referrer: 'https://www.example.org/' },
    });
  }
  for (let i = 0; i < identifies; i++) {
    events.push({ type: 'identify', userId, messageId: `${userId}-id-${i}`, timestamp: ago(fromDaysAgo - i * 0.01), traits: { plan: i % 2 ? 'pro' : 'free', visits: i } });
  }
  return events;
}

async function sendAll(events: unknown[]) {
  for (let i = 0; i < events.length; i += 50) await api.sendAndSettle(events.slice(i, i + 50));
}

/** The stored profile item, as DynamoDB sizes it (what every write and read of it is billed on). */
async function profileItemBytes(customerId: string): Promise<number> {
  const { Item } = await engine.dynamo.client.send(new GetItemCommand({ TableName: PROFILE_TABLE, Key: { PK: { S: `C#${customerId}` }, SK: { S: 'P' } }, ConsistentRead: true }));
  if (!Item) throw new Error(`no profile item for ${customerId}`);
  return itemSize(Item);
}

describe('the profile keeps only the recent events the tag rules and journeys read', () => {
  it('tags over recent events still hold after many unrelated events, and the profile item stays small', async () => {
    const views = [3, 2, 1].map((d, n) => ({ type: 'track', userId: 'r-baby', event: 'Product Viewed', messageId: `r-baby-v${n}`, timestamp: ago(d), properties: { productId: `p${n}`, category: 'baby', price: 20 + n, name: `Pram ${n}` } }));
    await sendAll([...views, ...noise('r-baby', 200, 20, 2.5)]);
    await sendAll([
      { type: 'track', userId: 'r-quiet', event: 'Order Completed', messageId: 'r-quiet-o1', timestamp: ago(40), properties: { orderId: 'o1', revenue: 30, currency: 'EUR' } },
      { type: 'track', userId: 'r-quiet', event: 'Complaint Filed', messageId: 'r-quiet-c1', timestamp: ago(3), properties: { complaintId: 'c-1', text: 'The stroller arrived broken' } },
      ...noise('r-quiet', 200, 20, 2.9),
    ]);

    const baby = await api.customer('r-baby');
    expect(baby.tags).toContain('browsing-baby-gear');
    expect(baby.stats.eventCount).toBe(223);
    const quiet = await api.customer('r-quiet');
    expect(quiet.tags).toEqual(expect.arrayContaining(['complained-and-quiet', 'open-complaint']));

    // 220 page views and identifies are not on the profile item, and the rest is packed: one read unit (4 KB), not ~12.
    for (const id of ['r-baby', 'r-quiet']) expect(await profileItemBytes(id), id).toBeLessThan(4 * 1024);

    // The full history stays on the timeline.
    const timeline = await api.get('/v1/customers/r-baby/events?limit=1000');
    expect(timeline.status).toBe(200);
    expect(timeline.json.events as unknown as unknown[]).toHaveLength(223);

    // The tag still goes when the customer orders again: Order Completed is kept for the rule that reads it.
    await api.sendAndSettle({ type: 'track', userId: 'r-quiet', event: 'Order Completed', messageId: 'r-quiet-o2', timestamp: ago(0.5), properties: { orderId: 'o2', revenue: 20, currency: 'EUR' } });
    expect((await api.customer('r-quiet')).tags).not.toContain('complained-and-quiet');
  }, 120_000);
});
