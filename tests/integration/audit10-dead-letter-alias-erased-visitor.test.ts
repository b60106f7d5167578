/**
 * A live customer's dead-lettered alias is lost whole when it also carries an erased visitor's `anonymousId`.
 * Segment's SDKs put the device's `anonymousId` on every call, an `alias` too. Visitor V was erased
 * (DELETE /v1/customers/anon:V). Customer B's app then sends `alias {userId: B, previousId: P, anonymousId: V}`, dated
 * before V's erasure (queued on the device): delivered, the profile consumer joins P into B (V's erased life is not
 * linked). Here DynamoDB fails B's profile writes on every attempt of its delivery, and the event is dead-lettered.
 * The sink's check finds V's tombstone. `withoutErasedJoin` (b3f8ea9) strips an erased id from an alias only when it is
 * the `previousId`; V, named as the `anonymousId`, is left, so the letter counts as V's erased life's and is redacted
 * whole: there is nothing to redrive, and P is never joined into B ("nothing valid is lost": a letter is kept for a
 * redrive, README: "A live customer's event that names an erased id only as the one to join ... the letter is kept
 * without that id").
 * Control: the same dead-lettered alias without the `anonymousId` is kept, and its redrive joins P into B.
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

  // BREAK (audit 10): withoutErasedJoin strips only an alias's previousId, so an alias naming an erased visitor as its anonymousId is redacted whole from the dead letters and the live join of P into B is lost; fix idea: for every event type strip an erased anonymousId (and an erased previousId) that is not the event's own customer, keeping the letter for B.
  it.fails('with the erased visitor as its anonymousId it is kept too, and its redrive joins P into B', async () => {
    expect(await scenario('a10-dl-alias', true)).toEqual(['a10-dl-alias-p']);
  }, 60_000);
});
