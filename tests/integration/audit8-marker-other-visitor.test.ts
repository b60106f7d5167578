/**
 * Audit 8 (issue 10, link markers, e8541fb): before a link is written the consumer marks it in the linking customer's
 * partition (`C#<M>` / `N#anon:<V>`, the visitor id in clear, no TTL), and deletes the mark once the profile names it.
 * Customer M (another person, or a hostile sender) identifies with visitor V, which is customer A's; M's profile write
 * fails for good (DynamoDB faults on every attempt: a dead letter). Then A is erased, V with her: DELETE answers 200,
 * but M's partition still names V (`N#anon:V`), and nothing ever removes it (M's later writes unmark only their own).
 */
import { describe, expect, it } from 'vitest';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import type { DynamoCall } from '../../infra/embedded/faults';
import { client } from '../helpers/client';
import { profileItemsNaming, startTestEngine } from '../helpers/engine';

const A = 'aud8-mov-a-5123';
const M = 'aud8-mov-m-5123';
const V = 'aud8-mov-visitor-5123';

describe("a link marker naming another customer's visitor, left by a failed write", () => {
  // BREAK (audit 8): C#<M>/N#anon:<V> (V in clear, no TTL) outlives the erasure of V's owner when M's write failed for good; fix idea: key the marker by a hash of the id (resolve it through the id's own alias record), give it a TTL, and have the erasure of an id delete marks naming it (or have M's next write sweep stale marks).
  it.fails('is gone once that customer (and the visitor) is erased', async () => {
    let armed = false;
    const engine = await startTestEngine({
      sweepEveryMs: 0,
      logLevel: 'SILENT',
      faults: {
        // M's profile write fails on every attempt.
        dynamo: (call: DynamoCall) => (armed && call.table === PROFILE_TABLE && call.operation === 'PutItem' && JSON.stringify(call.input).includes(`"C#${M}"`) && JSON.stringify(call.input).includes('"P"') ? 'InternalServerError' : undefined),
      },
    });
    try {
      const api = client(engine);
      await api.sendAndSettle({ type: 'identify', userId: A, anonymousId: V, traits: { email: `${A}@example.org` } });
      await api.sendAndSettle({ type: 'identify', userId: M, traits: { plan: 'basic' } });
      armed = true;
      await api.sendAndSettle({ type: 'identify', userId: M, anonymousId: V, traits: { plan: 'pro' } });
      armed = false;
      const letters = (await api.get('/v1/admin/dead-letters')).json as unknown as { deadLetters: unknown[] };
      expect(letters.deadLetters.length, 'the identify of M was dead-lettered').toBeGreaterThan(0);

      expect((await api.del(`/v1/customers/${A}`)).status).toBe(200);
      await engine.settle();
      expect(await profileItemsNaming(engine, [V, A])).toEqual([]);
    } finally {
      await engine.stop();
    }
  }, 90_000);
});
