/**
 * Found by the second audit of issue 10: a retried DELETE resumes an interrupted erasure (360eb2e), but only from
 * the id asked for: the profile and the timeline are gone, so the resumed erasure reaches that id alone, and
 * redacts the logs for it alone. What the customer typed as a visitor before logging in (an identify with
 * their anonymousId only: their email) stays in the bus log after the retry answered 200 `resumed: true`.
 * Here the first attempt fails after its deletes, in the redaction (a DynamoDB fault on the tombstone reads
 * it makes; equally a Lambda timeout, a crash).
 */
import { describe, expect, it } from 'vitest';
import type { DynamoCall } from '../../infra/embedded/faults';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';

const ID = 'aud2-res-7781';
const VISITOR = 'aud2-res-visitor-7781';
const EMAIL = 'aud2.res.7781@example.org';

describe('a resumed erasure of a customer who was a visitor first', () => {
  it('leaves nothing of the visitor in the bus log', async () => {
    let failing = false;
    let tombstoneReads = 0;
    const engine = await startTestEngine({
      sweepEveryMs: 0,
      logLevel: 'SILENT',
      faults: {
        dynamo: (call: DynamoCall) => {
          const pk = ((call.input.Key as Record<string, { S?: string }> | undefined)?.PK?.S) ?? '';
          // The DELETE's first tombstone read (is an erasure under way?) passes; those of the redaction fail.
          return failing && call.operation === 'GetItem' && pk.startsWith('X#') && ++tombstoneReads > 1 ? 'InternalServerError' : undefined;
        },
      },
    });
    try {
      const api = client(engine);
      await api.sendAndSettle({ type: 'identify', anonymousId: VISITOR, traits: { email: EMAIL } });
      await api.sendAndSettle({ type: 'identify', userId: ID, anonymousId: VISITOR, traits: { plan: 'pro' } });
      expect((await api.customer(ID)).anonymousIds).toContain(VISITOR);

      failing = true;
      const first = await api.del(`/v1/customers/${ID}`);
      failing = false;
      expect(first.status).toBeGreaterThanOrEqual(500);

      const retry = await api.del(`/v1/customers/${ID}`);
      await engine.settle();
      expect(retry).toMatchObject({ status: 200, json: { erased: ID, resumed: true } });
      expect(engine.bus.log.filter((e) => JSON.stringify(e).includes(EMAIL) || JSON.stringify(e).includes(VISITOR))).toEqual([]);
    } finally {
      await engine.stop();
    }
  }, 90_000);
});
