/**
 * Audit 8 (issue 10, the consumer's erasure of a dropped event's visitor vs the dead-letter sink): X is erased; a late
 * identify of X's erased life links visitor V (a visitor profile with an email of its own, owned by nobody else), so
 * the profile consumer erases V with X (`eraseVisitor`). That erasure fails at its deletes on every attempt of the
 * delivery (DynamoDB errors): the event is dead-lettered, and the sink, seeing it names erased ids, redacts the letter
 * at once. Nothing retries V's erasure any more (no letter to redrive; only another event of X's erased life naming V
 * would resume it): V's profile with its email, and the erasure's progress item naming `anon:V`, stay in the table.
 */
import { describe, expect, it } from 'vitest';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import type { DynamoCall } from '../../infra/embedded/faults';
import { client } from '../helpers/client';
import { profileItemsNaming, startTestEngine } from '../helpers/engine';

const X = 'aud8-ved-x-6021';
const V = 'aud8-ved-visitor-6021';
const VISITOR_EMAIL = 'aud8.ved.visitor@example.org';

describe("the consumer's erasure of a visitor that fails on every attempt", () => {
  // BREAK (audit 8): the sink redacts the letter of an event whose visitor erasure failed, and nothing resumes that erasure; fix idea: before redacting such a letter, resume every incomplete erasure it names (store.erase with resumeFrom), or keep the letter until they are complete; or resume incomplete erasures at start/sweep.
  it.fails('is not forgotten: the visitor is erased in the end', async () => {
    let armed = false;
    let hits = 0;
    const engine = await startTestEngine({
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
      const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
      await api.sendAndSettle({ type: 'identify', userId: X, traits: { email: `${X}@example.org` }, timestamp: hourAgo });
      expect((await api.del(`/v1/customers/${X}`)).status).toBe(200);

      armed = true;
      await api.sendAndSettle({ type: 'identify', userId: X, anonymousId: V, messageId: `${X}-late`, traits: {}, timestamp: hourAgo });
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
