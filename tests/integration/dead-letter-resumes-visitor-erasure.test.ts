/**
 * X is erased; a late identify of X's erased life links visitor V (a visitor profile with an email of its own, owned by
 * nobody else), so the profile consumer erases V with X (`eraseVisitor`). That erasure fails at its deletes on every
 * attempt of the delivery (DynamoDB errors): the event is dead-lettered. Before the dead-letter sink redacts the letter
 * (it names erased ids), it resumes every incomplete erasure the letter names (`resumeErasures`); while DynamoDB still
 * fails the letter stays unchecked, and the next check (here: the listing) finishes V's erasure: nothing names V then.
 */
import { describe, expect, it } from 'vitest';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import type { DynamoCall } from '../../infra/embedded/faults';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { profileItemsNaming, startTestEngine } from '../helpers/engine';

const X = 'aud8-ved-x-6021';
const V = 'aud8-ved-visitor-6021';
const VISITOR_EMAIL = 'aud8.ved.visitor@example.org';

describe("the consumer's erasure of a visitor that fails on every attempt", () => {
  it('is not forgotten: the visitor is erased in the end', async () => {
    let armed = false;
    let hits = 0;
    const clock = new VirtualClock('2026-03-02T10:00:00Z');
    const engine = await startTestEngine({
      clock,
      sweepEveryMs: 0,
      logLevel: 'SILENT',
      faults: {
        dynamo: (call: DynamoCall) => {
          const text = JSON.stringify(call.input);
          const hit = armed && call.operation === 'BatchWriteItem' && text.includes(PROFILE_TABLE) && text.includes('DeleteRequest') && text.includes(`C#anon:${V}`);
          if (hit) hits++;
          return hit ? 'InternalServerError' : undefined;
        },
      },
    });
    try {
      const api = client(engine);
      await api.sendAndSettle({ type: 'identify', anonymousId: V, traits: { email: VISITOR_EMAIL } });
      const hourAgo = new Date(clock.now().getTime() - 3_600_000).toISOString();
      await api.sendAndSettle({ type: 'identify', userId: X, traits: { email: `${X}@example.org` }, timestamp: hourAgo });
      expect((await api.del(`/v1/customers/${X}`)).status).toBe(200);

      armed = true;
      await api.send({ type: 'identify', userId: X, anonymousId: V, messageId: `${X}-late`, traits: {}, timestamp: hourAgo });
      // The consumer's retries back off on the clock: a minute of it is plenty.
      await clock.run(clock.now().getTime() + 60_000);
      armed = false;
      await engine.settle();
      expect(hits, "the visitor erasure's deletes failed").toBeGreaterThan(0);

      const letters = ((await api.get('/v1/admin/dead-letters')).json as unknown as { deadLetters: unknown[] }).deadLetters.length;
      const table = await profileItemsNaming(engine, [V, VISITOR_EMAIL]);
      expect({ letters, table }).toMatchObject({ table: [] });
    } finally {
      await engine.stop();
    }
  }, 90_000);
});
