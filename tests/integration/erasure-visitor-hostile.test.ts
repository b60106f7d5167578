/**
 * Found by the second audit of issue 10: erasure reaches the visitor ids on the customer's timeline (8579e52),
 * but trusts any identify there. A hostile sender (any source: a browser's write key) sends an identify
 * with its own userId and the anonymousId of another customer's visitor. The link is refused (the visitor
 * is already B's), yet the event is on A's timeline, and erasing A erases B's visitor: B's alias record and
 * forwarding record are deleted and the visitor id is tombstoned, so B's later events from that device are
 * lost (dropped as erased) and B's export no longer lists the visitor.
 */
import { describe, expect, it } from 'vitest';
import { useTestEngine } from '../helpers/engine';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT' });

describe('erasure of a customer whose timeline names another customer’s visitor', () => {
  it('leaves the other customer’s visitor alone', async () => {
    const B = 'aud2-vh-bob';
    const A = 'aud2-vh-mallory';
    const X = 'aud2-vh-bobs-laptop';
    await t.api.sendAndSettle({ type: 'track', anonymousId: X, event: 'Product Viewed', properties: { productId: 'p-1' } });
    await t.api.sendAndSettle({ type: 'identify', userId: B, anonymousId: X, traits: { email: 'bob.vh@example.org' } });
    expect((await t.api.customer(B)).anonymousIds).toContain(X);

    // The hostile sender: its own account, the victim's visitor id.
    await t.api.sendAndSettle({ type: 'identify', userId: A, anonymousId: X, traits: { plan: 'free' } });
    // (A's profile lists X among its visitor ids although the alias is Bob's.)

    expect((await t.api.del(`/v1/customers/${A}`)).status).toBe(200);
    await t.engine.settle();

    const before = (await t.api.customer(B)).stats.eventCount;
    // Bob, on his laptop, logged out: the event is his.
    await t.api.sendAndSettle({ type: 'track', anonymousId: X, event: 'Product Viewed', properties: { productId: 'p-2' } });
    const bob = await t.api.customer(B);
    expect(bob.anonymousIds).toContain(X);
    expect(bob.stats.eventCount).toBe(before + 1);
  }, 120_000);
});
