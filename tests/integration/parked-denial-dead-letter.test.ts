/**
 * A denial of an erased customer whose delivery fails is kept for their new life (issue 10; from audit 8): after X's
 * erasure, X's app sends a queued `Unsubscribed` (dated before the erasure) and, in the next request, the comeback
 * identify granting email, built before the denial reached Rapport: the denial must win
 * (tests/integration/new-life-denial-next-request.test.ts). Here DynamoDB refuses the parked denial's write on every
 * attempt of its delivery, and the event is dead-lettered. The dead-letter sink, seeing it names an erased customer,
 * still hands on its denials (received after the erasure completed, they are not the erased life's): parked beside
 * the tombstone when it can (the comeback folds them in), or, when the park fails too, at its next check (the
 * listing) delivered, reduced to its denials, to the new life. Either way the new life ends `denied` and no letter is left.
 */
import { describe, expect, it } from 'vitest';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import type { DynamoCall } from '../../infra/embedded/faults';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';

/** `failures`: how many parked-denial writes DynamoDB refuses while the denial is delivered (Infinity: every one). */
async function scenario(id: string, failures: number, redrive = false): Promise<{ consent: string; letters: number; hits: number }> {
  let armed = false;
  let hits = 0;
  // Virtual time: each step a second after the one before (`later`); a failed delivery's retries are timers on the clock.
  const clock = new VirtualClock(Date.now());
  const later = (ms = 1_000) => clock.run(clock.now().getTime() + ms);
  const engine = await startTestEngine({
    clock,
    sweepEveryMs: 0,
    logLevel: 'SILENT',
    sendPolicy: { quietHours: undefined },
    faults: {
      dynamo: (call: DynamoCall) => {
        const hit = armed && hits < failures && call.table === PROFILE_TABLE && call.operation === 'PutItem' && JSON.stringify(call.input).includes('parked-denial');
        if (hit) hits++;
        return hit ? 'InternalServerError' : undefined;
      },
    },
  });
  try {
    const api = client(engine);
    await api.sendAndSettle([{ type: 'identify', userId: id, messageId: `${id}-old`, traits: { email: `${id}@example.org` }, timestamp: new Date(clock.now().getTime() - 60_000).toISOString() }]);
    await later();
    const erasureBegan = clock.now().getTime();
    expect((await api.del(`/v1/customers/${id}`)).status).toBe(200);
    await later();

    const builtAt = clock.now().toISOString();
    armed = true;
    await api.send([{ type: 'track', userId: id, messageId: `${id}-unsub`, event: 'Unsubscribed', properties: { channel: 'email' }, timestamp: new Date(erasureBegan - 1_000).toISOString() }]);
    // Every attempt of the delivery (the retries back off on the clock): a minute of it is plenty.
    await later(60_000);
    armed = false;
    await api.sendAndSettle([{ type: 'identify', userId: id, messageId: `${id}-new`, traits: { email: `${id}@example.org`, consent: { email: true } }, timestamp: builtAt }]);

    if (redrive) {
      // A redrive checks first without delivering anything: the letter stays, reduced to its denials, and is redriven.
      const res = await fetch(`${engine.url}/v1/admin/dead-letters/redrive`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      const body = (await res.json()) as { redriven: Array<{ outcome: string }> };
      expect(body.redriven.map((r) => r.outcome)).toEqual(['delivered']);
      await later();
    }
    const letters = ((await api.get('/v1/admin/dead-letters')).json as unknown as { deadLetters: unknown[] }).deadLetters.length;
    const consent = (await api.customer(id)).consent.email.status;
    return { consent, letters, hits };
  } finally {
    await engine.stop();
  }
}

describe('a denial of an erased customer whose parking fails', () => {
  it('is parked by the dead-letter sink, and the comeback folds it in', async () => {
    // Every write of the delivery's attempts fails (3 invocations, 3 SDK attempts each); the sink's park succeeds.
    const result = await scenario('a8-park-dlq-sink', 9);
    expect(result).toEqual({ consent: 'denied', letters: 0, hits: 9 });
  }, 60_000);

  it('still unsubscribes the new life when the sink cannot park it either', async () => {
    const result = await scenario('a8-park-dlq', Infinity);
    expect(result.hits, 'the parked denial write failed on every attempt').toBeGreaterThanOrEqual(3);
    expect({ consent: result.consent, letters: result.letters }).toEqual({ consent: 'denied', letters: 0 });
  }, 60_000);

  it('keeps its denials in the letter for a redrive', async () => {
    const result = await scenario('a8-park-dlq-redrive', Infinity, true);
    expect({ consent: result.consent, letters: result.letters }).toEqual({ consent: 'denied', letters: 0 });
  }, 60_000);
});
