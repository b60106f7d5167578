/**
 * Before a link is written the consumer marks it (`markLinks`): under the linking customer's tombstone partition, keyed
 * by a hash of the id it names, with a pointer back under that id's tombstone partition. Customer M (another person, or
 * a hostile sender) identifies with visitor V, which is customer A's; M's profile write fails for good (DynamoDB faults
 * on every attempt: a dead letter), so M's mark naming V stays. Then A is erased, V with her: the erasure follows V's
 * pointer back and deletes M's mark too, so once DELETE answers 200 no item names V or A.
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
  it('is gone once that customer (and the visitor) is erased', async () => {
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
