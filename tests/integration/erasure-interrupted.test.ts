/**
 * Found by the audit of issue 10 ("erasure that is complete", README: "If Step Functions refuses a stop, the API answers
 * 503 ... retry the request"). An erasure interrupted after it deleted the items but before it finished
 * (here: DynamoDB failing the tombstones' completion past the SDK's retries; in AWS equally a Lambda
 * timeout or a throttle; locally a crash) answers 5xx. The operator retries, as the docs say, but the
 * profile item is gone: the retry answers 404 customer_not_found and does nothing, so what the erasure
 * does after its deletes never happens: the embedded engine's bus log (and outbox) keep the customer's
 * events and email (infra/embedded/engine.ts `afterErase` -> `erasure.redact`, reached only from a
 * DELETE that found a live profile: functions/profile/api.ts, the DELETE branch returns notFound first).
 * Fixed: the logs are redacted before the erasure is marked complete, and a DELETE that finds an
 * incomplete tombstone resumes the erasure from its original start.
 */
import { describe, expect, it } from 'vitest';
import type { DynamoCall } from '../../infra/embedded/faults';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';

const ID = 'aud-int-7761';
const EMAIL = 'aud.int.7761@example.org';

describe('an erasure interrupted after its deletes', () => {
  it('can be retried to completion: nothing names the customer in the bus log afterwards', async () => {
    let failing = false;
    const engine = await startTestEngine({
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
      await api.sendAndSettle([
        { type: 'identify', userId: ID, traits: { email: EMAIL } },
        { type: 'track', userId: ID, event: 'Product Viewed', properties: { productId: 'p-1' } },
      ]);
      expect(engine.bus.log.some((e) => JSON.stringify(e).includes(EMAIL))).toBe(true);

      failing = true;
      const first = await api.del(`/v1/customers/${ID}`);
      expect(first.status).toBeGreaterThanOrEqual(500);
      failing = false;

      // The operator retries, as the docs say.
      const retry = await api.del(`/v1/customers/${ID}`);
      await engine.settle();
      expect((await api.get(`/v1/customers/${ID}`)).status).toBe(404);
      expect(engine.bus.log.filter((e) => JSON.stringify(e).includes(EMAIL) || JSON.stringify(e).includes(ID)), `retry answered ${retry.status} ${JSON.stringify(retry.json)}`).toEqual([]);
      expect(retry).toMatchObject({ status: 200, json: { erased: ID, resumed: true } });
      expect((await engine.profiles.tombstone(ID, new Date()))?.completedAt).toEqual(expect.any(String));
      // Complete now: a third DELETE finds nothing to delete, and the customer who comes back starts a new life.
      expect(await api.del(`/v1/customers/${ID}`)).toMatchObject({ status: 200, json: { erased: ID, itemsDeleted: 0 } });
      await api.sendAndSettle({ type: 'identify', userId: ID, traits: { email: EMAIL } });
      expect((await api.customer(ID)).traits).toEqual({ email: EMAIL });
    } finally {
      await engine.stop();
    }
  }, 90_000);
});
