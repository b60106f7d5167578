/**
 * Found by the second audit of issue 10 ("the tombstone outlives every way an old event can come back"): a late
 * event dropped for an erased customer lengthens the tombstone to its own receipt + the lifetime
 * (`extendTombstone`: the archive keeps that event from its receipt). A retried DELETE that resumes an
 * interrupted erasure (360eb2e) writes the tombstone anew with a PutItem (functions/profile/store.ts,
 * `erase`: the tombstone round), from the erasure's first start: the lengthening is lost, the tombstone
 * expires before the archive's copy of the late event, and a replay then re-creates the customer.
 */
import { describe, expect, it } from 'vitest';
import type { DynamoCall } from '../../infra/embedded/faults';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';

const ID = 'aud2-rtb-7791';

describe('a resumed erasure', () => {
  it('keeps the tombstone as long as a late event dropped meanwhile made it', async () => {
    let failing = false;
    const clock = new VirtualClock('2026-03-02T10:00:00Z');
    const engine = await startTestEngine({
      clock,
      sweepEveryMs: 0,
      logLevel: 'SILENT',
      faults: {
        dynamo: (call: DynamoCall) => {
          const pk = ((call.input.Key as Record<string, { S?: string }> | undefined)?.PK?.S) ?? '';
          return failing && call.operation === 'UpdateItem' && pk.startsWith('X#') && String(call.input.UpdateExpression).includes('completedAt') ? 'InternalServerError' : undefined;
        },
      },
    });
    try {
      const api = client(engine);
      await api.sendAndSettle({ type: 'identify', userId: ID, traits: { email: 'aud2.rtb@example.org' } });
      failing = true;
      expect((await api.del(`/v1/customers/${ID}`)).status).toBeGreaterThanOrEqual(500);
      failing = false;
      const first = (await engine.profiles.tombstone(ID, clock.now()))!;

      // A late event, dated before the erasure, received a while after it: dropped, and the tombstone lengthened.
      clock.advance(clock.now().getTime() + 2_100);
      await clock.idle();
      await api.sendAndSettle({ type: 'track', userId: ID, event: 'Product Viewed', properties: { productId: 'p-1' }, timestamp: new Date(Date.parse(first.erasedAt) - 60_000).toISOString() });
      const lengthened = (await engine.profiles.tombstone(ID, clock.now()))!;
      expect(lengthened.expires!).toBeGreaterThan(first.expires!);

      const retry = await api.del(`/v1/customers/${ID}`);
      expect(retry).toMatchObject({ status: 200, json: { resumed: true } });
      expect((await engine.profiles.tombstone(ID, clock.now()))!.expires).toBeGreaterThanOrEqual(lengthened.expires!);
    } finally {
      await engine.stop();
    }
  }, 90_000);
});
