/**
 * A live customer's dead-lettered alias that carries an erased visitor's anonymousId is kept, without the visitor, and
 * its redrive joins (audit 10). `alias {userId: B, previousId: P, anonymousId: V}` (Segment's SDKs add anonymousId to
 * every call), V an erased visitor, the alias dated before V's erasure, its delivery failing into a dead letter: the
 * sink strips V (`withoutErasedJoin`, for an alias as for any event with a userId) and keeps the letter; the redrive
 * joins P into B.
 */
import { describe, expect, it } from 'vitest';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import type { DynamoCall } from '../../infra/embedded/faults';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';

async function scenario(id: string, withAnonymousId: boolean) {
  let armed = false;
  let hits = 0;
  const B = `${id}-b`;
  const P = `${id}-p`;
  const V = `${id}-v`;
  const engine = await startTestEngine({
    sweepEveryMs: 0,
    logLevel: 'SILENT',
    faults: {
      // B's profile writes fail while armed: the alias's delivery fails on every attempt.
      dynamo: (call: DynamoCall) => {
        const hit = armed && call.table === PROFILE_TABLE && ['PutItem', 'UpdateItem'].includes(call.operation) && JSON.stringify(call.input).includes(`"C#${B}"`);
        if (hit) hits++;
        return hit ? 'InternalServerError' : undefined;
      },
    },
  });
  try {
    const api = client(engine);
    const t0 = Date.now() - 120_000;
    await api.sendAndSettle({ type: 'identify', userId: B, traits: { email: `${B}@example.org` }, timestamp: new Date(t0).toISOString() });
    await api.sendAndSettle({ type: 'identify', userId: P, traits: { plan: 'gold' }, timestamp: new Date(t0).toISOString() });
    await api.sendAndSettle({ type: 'page', anonymousId: V, name: 'Home', timestamp: new Date(t0).toISOString() });
    expect((await api.del(`/v1/customers/anon:${V}`)).status).toBe(200);

    const lettered: string[] = [];
    const push = engine.deadLetters.push.bind(engine.deadLetters);
    engine.deadLetters.push = (...letters) => {
      lettered.push(...letters.map((l) => String((l.event.detail as { type?: string }).type)));
      return push(...letters);
    };
    armed = true;
    await api.sendAndSettle({ type: 'alias', userId: B, previousId: P, ...(withAnonymousId && { anonymousId: V }), timestamp: new Date(t0 + 1_000).toISOString() });
    armed = false;
    expect(hits, 'the fault took').toBeGreaterThan(0);
    expect(lettered).toEqual(['alias']);

    // The operator redrives what is left, once DynamoDB is back.
    const res = await fetch(`${engine.url}/v1/admin/dead-letters/redrive`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(200);
    await engine.settle();
    return (await api.customer(B)).mergedIds ?? [];
  } finally {
    await engine.stop();
  }
}

describe("a live customer's dead-lettered alias", () => {
  it('control: without an anonymousId it is kept, and its redrive joins P into B', async () => {
    expect(await scenario('a10-dl-alias-ctl', false)).toEqual(['a10-dl-alias-ctl-p']);
  }, 60_000);

  it('with the erased visitor as its anonymousId it is kept too, and its redrive joins P into B', async () => {
    expect(await scenario('a10-dl-alias', true)).toEqual(['a10-dl-alias-p']);
  }, 60_000);
});
