/**
 * Found by the second audit of issue 10 (hostile sender): the embedded engine's redaction takes a bus-log event to
 * be the erased customer's when it names `v` with `anon:v` among the erased ids. A hostile sender's identify
 * `{userId: A, anonymousId: "<B's customer id>"}` puts `B` among A's visitor ids; erasing A then erases
 * `anon:B`, and the redaction forgets every event whose userId is `B`: another, live customer's events
 * leave the bus log (the engine's event history, what a replay re-delivers) and their messages the outbox.
 */
import { describe, expect, it } from 'vitest';
import { useTestEngine } from '../helpers/engine';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT' });

describe('erasure of a customer whose visitor id is another customer’s id', () => {
  it('keeps the other customer’s events in the bus log', async () => {
    const B = 'aud2-rd-bob';
    const A = 'aud2-rd-mallory';
    await t.api.sendAndSettle([
      { type: 'identify', userId: B, traits: { email: 'bob.rd@example.org' } },
      { type: 'track', userId: B, event: 'Product Viewed', properties: { productId: 'p-1' } },
    ]);
    const bobs = () => t.engine.bus.log.filter((e) => (e.detail as { userId?: string }).userId === B).length;
    const before = bobs();
    expect(before).toBeGreaterThan(0);

    await t.api.sendAndSettle({ type: 'identify', userId: A, anonymousId: B, traits: { plan: 'free' } });
    expect((await t.api.del(`/v1/customers/${A}`)).status).toBe(200);
    await t.engine.settle();

    expect((await t.api.customer(B)).traits.email).toBe('bob.rd@example.org');
    expect(bobs()).toBe(before);
  }, 120_000);
});
