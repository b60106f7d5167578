/**
 * Audit 8 (issue 10, parked denials vs a failed delivery): after X's erasure, X's app sends a queued `Unsubscribed`
 * (dated before the erasure) and, in the next request, the comeback identify granting email, built before the denial
 * reached Rapport: the denial must win (tests/integration/new-life-denial-next-request.test.ts). Here DynamoDB refuses
 * the parked denial's write on every attempt of its delivery: the event is dead-lettered, and the dead-letter sink,
 * seeing it names an erased customer (and is of the erased life by its date), redacts it at once. The denial is gone
 * (no parked item, no dead letter to redrive): the comeback's new life is `granted`, after Rapport accepted the
 * unsubscribe. Without the erasure the same dead letter would be kept for a redrive.
 */
import { describe, expect, it } from 'vitest';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import type { DynamoCall } from '../../infra/embedded/faults';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';

describe('a denial of an erased customer whose parking fails', () => {
  // BREAK (audit 8): a denial dead-lettered while being parked is redacted as the erased life's, and lost; fix idea: the sink keeps (or parks, reduced by denialsOnly) a letter's denials received after the erasure completed instead of dropping the whole letter.
  it.fails('still unsubscribes the new life', async () => {
    let armed = false;
    let hits = 0;
    const engine = await startTestEngine({
      sweepEveryMs: 0,
      logLevel: 'SILENT',
      sendPolicy: { quietHours: undefined },
      faults: {
        dynamo: (call: DynamoCall) => {
          const hit = armed && call.table === PROFILE_TABLE && call.operation === 'PutItem' && JSON.stringify(call.input).includes('parked-denial');
          if (hit) hits++;
          return hit ? 'InternalServerError' : undefined;
        },
      },
    });
    try {
      const api = client(engine);
      const id = 'a8-park-dlq';
      await api.sendAndSettle([{ type: 'identify', userId: id, messageId: `${id}-old`, traits: { email: `${id}@example.org` }, timestamp: new Date(Date.now() - 60_000).toISOString() }]);
      const erasureBegan = Date.now();
      expect((await api.del(`/v1/customers/${id}`)).status).toBe(200);

      const builtAt = new Date().toISOString();
      armed = true;
      await api.sendAndSettle([{ type: 'track', userId: id, messageId: `${id}-unsub`, event: 'Unsubscribed', properties: { channel: 'email' }, timestamp: new Date(erasureBegan - 1_000).toISOString() }]);
      armed = false;
      expect(hits, 'the parked denial write failed on every attempt').toBeGreaterThanOrEqual(3);
      await api.sendAndSettle([{ type: 'identify', userId: id, messageId: `${id}-new`, traits: { email: `${id}@example.org`, consent: { email: true } }, timestamp: builtAt }]);

      const letters = ((await api.get('/v1/admin/dead-letters')).json as unknown as { deadLetters: unknown[] }).deadLetters.length;
      const consent = (await api.customer(id)).consent.email.status;
      expect({ consent, letters }).toMatchObject({ consent: 'denied' });
    } finally {
      await engine.stop();
    }
  }, 60_000);
});
