/**
 * Found by the third audit of issue 10: a DELETE that fails after some of its deletes but before the profile item's
 * (the timeline sorts first: `E#` < `P`; in AWS a throttle past the retries or a Lambda timeout on a large customer)
 * is retried as a fresh erasure, not a resumed one (the profile is still there). The fresh erasure re-puts the
 * tombstone under a new `erasedAt`, which replaces the first attempt's `erasing` list (1d0ccee), and reaches only
 * what the remaining records lead to. The identify that linked the customer's 101st visitor (past
 * PROFILE_LIMITS.anonymousIds, on the timeline alone) was among the first deletes: the retry answers 200, yet the
 * visitor profile with the email the person typed stays, readable by its id, and so does its bus-log event.
 * (Since then the newest visitor is listed and the oldest leaves the list, marked in the customer's partition
 * (`markEvicted`): here the first visitor is the one off the list, and its identify the first timeline item.)
 */
import { describe, expect, it } from 'vitest';
import { PROFILE_LIMITS } from '../../functions/profile/limits';
import type { DynamoCall } from '../../infra/embedded/faults';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';

const ID = 'aud3-rfc-7931';
const EMAIL = 'aud3.rfc.7931@example.org';

describe('a failed erasure of a customer past the visitor-id cap, retried', () => {
  it('erases the visitor linked only on the timeline', async () => {
    let failing = false;
    const engine = await startTestEngine({
      sweepEveryMs: 0,
      logLevel: 'SILENT',
      faults: {
        dynamo: (call: DynamoCall) => {
          if (!failing || call.operation !== 'BatchWriteItem') return undefined;
          const requests = Object.values((call.input.RequestItems ?? {}) as Record<string, Array<{ DeleteRequest?: { Key?: Record<string, { S?: string }> } }>>).flat();
          // The batch that deletes the customer's profile item: every batch before it went through.
          return requests.some((r) => r.DeleteRequest?.Key?.PK?.S === `C#${ID}` && r.DeleteRequest.Key.SK?.S === 'P') ? 'InternalServerError' : undefined;
        },
      },
    });
    try {
      const api = client(engine);
      const visitors = Array.from({ length: PROFILE_LIMITS.anonymousIds + 1 }, (_, i) => `aud3-rfc-v${String(i).padStart(3, '0')}`);
      // The first visitor leaves the list when the 101st is linked (the oldest goes).
      const late = visitors[0]!;
      await api.sendAndSettle({ type: 'identify', anonymousId: late, traits: { email: EMAIL } });
      for (let i = 0; i < visitors.length; i += 50) {
        await api.sendAndSettle(visitors.slice(i, i + 50).map((v) => ({ type: 'identify', userId: ID, anonymousId: v, traits: { plan: 'pro' } })));
      }
      expect((await api.customer(ID)).anonymousIds).not.toContain(late);
      // Later timeline items, so that the late visitor's identify is in an earlier batch of 25 deletes than the profile item.
      await api.sendAndSettle(Array.from({ length: 30 }, (_, i) => ({ type: 'track', userId: ID, event: 'Product Viewed', properties: { productId: `p-${i}` } })));

      failing = true;
      expect((await api.del(`/v1/customers/${ID}`)).status).toBeGreaterThanOrEqual(500);
      failing = false;

      expect((await api.del(`/v1/customers/${ID}`)).status).toBe(200);
      await engine.settle();
      const visitor = (await api.get(`/v1/customers/anon:${late}`)).status;
      const busLog = engine.bus.log.filter((e) => JSON.stringify(e).includes(EMAIL)).map((e) => JSON.stringify(e.detail));
      expect({ visitor, busLog }).toEqual({ visitor: 404, busLog: [] });
    } finally {
      await engine.stop();
    }
  }, 180_000);
});
