/**
 * A Segment SDK flushes a visitor's anonymous events and the identify that
 * names them in one batch: the engine applies them concurrently. Whatever the
 * interleaving, every event lands on the one known customer — none is lost to
 * the visitor profile the merge removes, and no visitor profile is left
 * collecting later events.
 */
import { describe, expect, it } from 'vitest';
import { useTestEngine } from '../helpers/engine';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT' });

const minute = (n: number) => new Date(Date.UTC(2026, 9, 1, 0, n)).toISOString();

describe('identify racing with the anonymous events it links', () => {
  it.each([0, 1, 2])('keeps every order of visitor %i on the known customer', async (round) => {
    const visitor = `race-anon-${round}`;
    const user = `race-user-${round}`;
    const order = (n: number) => ({ type: 'track', anonymousId: visitor, event: 'Order Completed', messageId: `${visitor}-${n}`, timestamp: minute(n), properties: { orderId: `${visitor}-o${n}`, revenue: 1, currency: 'EUR' } });

    // The visitor has a profile of their own before the batch.
    await t.api.sendAndSettle(order(0));
    const batch = await t.api.send([
      ...Array.from({ length: 20 }, (_, n) => order(n + 1)),
      { type: 'identify', userId: user, anonymousId: visitor, messageId: `${visitor}-identify`, timestamp: minute(5), traits: { email: `${user}@example.com` } },
      ...Array.from({ length: 20 }, (_, n) => order(n + 21)),
    ]);
    expect(batch.accepted).toHaveLength(41);
    await t.engine.settle();

    const customer = await t.api.customer(user);
    expect(customer.stats.orderCount).toBe(41);
    expect(customer.stats.totalRevenue).toBe(41);
    const timeline = await t.api.get(`/v1/customers/${user}/events?limit=1000`);
    expect((timeline.json.events as unknown as unknown[]).length).toBe(42);

    // The visitor id now answers with where its history went.
    const old = await t.api.get(`/v1/customers/${encodeURIComponent(`anon:${visitor}`)}`);
    expect(old.status).toBe(404);
    expect(old.json).toMatchObject({ error: 'customer_merged', mergedInto: user });

    // A late event under the visitor id still lands on the customer.
    await t.api.sendAndSettle(order(99));
    expect((await t.api.customer(user)).stats.orderCount).toBe(42);
    expect(t.engine.deadLetters).toEqual([]);
  }, 60_000);

  it('an identify for a visitor never seen before leaves a forwarding record, so a racing first visitor event cannot start a stray profile', async () => {
    const visitor = 'race-anon-new';
    const user = 'race-user-new';
    await t.api.send([
      { type: 'identify', userId: user, anonymousId: visitor, messageId: `${visitor}-identify`, timestamp: minute(1), traits: { email: `${user}@example.com` } },
      ...Array.from({ length: 10 }, (_, n) => ({ type: 'track', anonymousId: visitor, event: 'Product Viewed', messageId: `${visitor}-v${n}`, timestamp: minute(2 + n), properties: { productId: `p-${n}` } })),
    ]);
    await t.engine.settle();
    expect((await t.api.customer(user)).stats.eventCount).toBe(11);
    expect((await t.api.get(`/v1/customers/${encodeURIComponent(`anon:${visitor}`)}`)).json).toMatchObject({ error: 'customer_merged', mergedInto: user });

    // Erasing the customer takes the forwarding record with it.
    expect((await fetch(`${t.engine.url}/v1/customers/${user}`, { method: 'DELETE' })).status).toBe(200);
    expect((await t.api.get(`/v1/customers/${encodeURIComponent(`anon:${visitor}`)}`)).json).toMatchObject({ error: 'customer_not_found' });
    expect(await t.engine.profiles.allItems(`anon:${visitor}`)).toEqual([]);
  });
});
