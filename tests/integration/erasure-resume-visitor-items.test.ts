/**
 * Found by the second audit of issue 10: a retried DELETE resumes an interrupted erasure (360eb2e) from the id asked
 * for alone. When the first attempt stopped between deleting the customer's own partition (profile and
 * timeline: the only records of their visitor ids) and their visitor's partitions (in AWS a Lambda timeout
 * on a large customer, a throttle past the retries; locally a crash), the retry reaches nothing else, answers
 * 200 `resumed: true`, and the visitor's items, with the email the person typed before logging in, stay in the
 * profile table for good: no id leads to them any more.
 */
import { describe, expect, it } from 'vitest';
import type { DynamoCall } from '../../infra/embedded/faults';
import { client } from '../helpers/client';
import { profileItems, profileItemsNaming, startTestEngine } from '../helpers/engine';

const ID = 'aud2-rvi-7801';
const VISITOR = 'aud2-rvi-visitor-7801';
const EMAIL = 'aud2.rvi.7801@example.org';

describe('a resumed erasure interrupted between the customer’s partition and their visitor’s', () => {
  it('leaves no item naming the visitor or their email', async () => {
    let failing = false;
    const engine = await startTestEngine({
      sweepEveryMs: 0,
      logLevel: 'SILENT',
      faults: {
        dynamo: (call: DynamoCall) => {
          if (!failing || call.operation !== 'BatchWriteItem') return undefined;
          const text = JSON.stringify(call.input);
          return text.includes('"C#anon:') || text.includes('"A#') ? 'InternalServerError' : undefined;
        },
      },
    });
    try {
      const api = client(engine);
      await api.sendAndSettle({ type: 'identify', anonymousId: VISITOR, traits: { email: EMAIL } });
      await api.sendAndSettle({ type: 'identify', userId: ID, anonymousId: VISITOR, traits: { plan: 'pro' } });
      // Pad the customer's own partition to whole batches of 25 deletes, so its last batch holds none of the visitor's.
      // Segment member items (`G#`) are deleted last, on their own (SegmentStore.deleteMembers), and pointers to addresses
      // to be freed (`AP#`) once freed: not in the batches.
      const own = async () => (await profileItems(engine, (item) => item.includes(`"C#${ID}"`) && !item.includes('"G#') && !item.includes('"AP#'))).length;
      for (let i = 0; (await own()) % 25 !== 0 && i < 60; i++) {
        await api.sendAndSettle({ type: 'track', userId: ID, event: 'Product Viewed', properties: { productId: `p-${i}` } });
      }
      expect((await own()) % 25).toBe(0);

      failing = true;
      expect((await api.del(`/v1/customers/${ID}`)).status).toBeGreaterThanOrEqual(500);
      failing = false;
      expect(await own()).toBe(0);

      const retry = await api.del(`/v1/customers/${ID}`);
      expect(retry).toMatchObject({ status: 200, json: { resumed: true } });
      await engine.settle();
      expect(await profileItemsNaming(engine, [EMAIL, VISITOR])).toEqual([]);
    } finally {
      await engine.stop();
    }
  }, 120_000);
});
