/**
 * An erasure records each id it reached in its own item under its root's tombstone partition (`X#<hash(root)>` /
 * `E#<hash(id)>`, the id in clear) before it writes the first tombstone. When a DELETE of customer ID (alias-joined
 * OLD, visitor V) fails after those items are written and before any tombstone is, the retry under OLD (an id the
 * customer answers to) is a fresh erasure rooted at OLD: it takes over the progress of every root it reaches (ID's),
 * erases the ids recorded there and deletes those items too, so once it answers 200 no item names the customer.
 */
import { describe, expect, it } from 'vitest';
import type { DynamoCall } from '../../infra/embedded/faults';
import { client } from '../helpers/client';
import { profileItemsNaming, startTestEngine } from '../helpers/engine';

const ID = 'aud8-por-4471';
const OLD = 'aud8-por-old-4471';
const VISITOR = 'aud8-por-visitor-4471';
const EMAIL = 'aud8.por.4471@example.org';

describe('an erasure interrupted before its first tombstone, retried under another id of the customer', () => {
  it('leaves no item naming the customer once the retry answers 200', async () => {
    let failing = false;
    const engine = await startTestEngine({
      sweepEveryMs: 0,
      logLevel: 'SILENT',
      faults: {
        // The first tombstone write fails: the progress items (a batch write) are in, no tombstone is.
        dynamo: (call: DynamoCall) => {
          const item = call.input.Item as Record<string, { S?: string }> | undefined;
          return failing && call.operation === 'PutItem' && item?.itemType?.S === 'tombstone' ? 'InternalServerError' : undefined;
        },
      },
    });
    try {
      const api = client(engine);
      await api.sendAndSettle({ type: 'identify', userId: OLD, anonymousId: VISITOR, traits: { email: EMAIL } });
      await api.sendAndSettle({ type: 'identify', userId: ID, traits: { plan: 'pro' } });
      await api.sendAndSettle({ type: 'alias', previousId: OLD, userId: ID });
      expect((await api.customer(OLD)).id).toBe(ID);

      failing = true;
      const first = await api.del(`/v1/customers/${ID}`);
      failing = false;
      expect(first.status).toBeGreaterThanOrEqual(500);

      const retry = await api.del(`/v1/customers/${OLD}`);
      await engine.settle();
      expect(retry.status).toBe(200);
      expect(await profileItemsNaming(engine, [EMAIL, OLD, VISITOR, ID])).toEqual([]);
    } finally {
      await engine.stop();
    }
  }, 90_000);
});
