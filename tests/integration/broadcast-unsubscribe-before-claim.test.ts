/**
 * Audit (issue 10, broadcasts vs consent): docs/operations.md ("Consent: which change wins") says ingest writes
 * each denial before it answers "and send steps read it, so nothing goes out between the 202 and the profile
 * consumer applying the event"; the issue asks that "no marketing send happens after a denial's receipt".
 * The gateway reads consent and the holds once (functions/journeys/gateway.ts:120 withHolds), before the cap
 * claim, the render and the message claim, and never again before the provider call. An `Unsubscribed`
 * answered 202 while a broadcast recipient is between that read and their claim is still sent the marketing
 * message, after the denial's receipt (the same window in journey send steps).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { JourneyStore } from '../../functions/journeys/store';
import { client } from '../helpers/client';
import { broadcastAtRest } from '../helpers/journeys';
import { startTestEngine } from '../helpers/engine';

describe('broadcast recipient unsubscribed before their claim', () => {
  let engine: Engine;
  const original = JourneyStore.prototype.recordMessage;
  afterAll(async () => {
    JourneyStore.prototype.recordMessage = original;
    await engine?.stop();
  });

  it('sends no marketing message after the Unsubscribed was answered 202', async () => {
    // Prepare
    engine = await startTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: undefined } });
    const api = client(engine);
    const id = 'bx-unsub-7761';
    await api.sendAndSettle([{ type: 'identify', userId: id, messageId: `${id}-id`, traits: { email: 'bx.unsub.7761@example.org', tags: ['crm-gold'] } }]);
    // The recipient has passed the consent check; its claim (the `sending` record) waits until ingest answered the Unsubscribed.
    let reached!: () => void;
    const held = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    JourneyStore.prototype.recordMessage = async function (this: JourneyStore, customerId, record) {
      if (customerId === id && record.status === 'sending' && record.journeyId === 'broadcast:bx-unsub') {
        reached();
        await gate;
      }
      return original.call(this, customerId, record);
    };

    // Act
    const res = await fetch(`${engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'bx-unsub', segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you' } }) });
    expect(res.status).toBe(201);
    await held;
    const unsub = await api.send({ type: 'track', userId: id, messageId: `${id}-unsub`, event: 'Unsubscribed', properties: { channel: 'email' } });
    const sentAtDenial = engine.outbox.entries.filter((m) => JSON.stringify(m).includes(id)).length;
    release();
    await broadcastAtRest(engine, 'bx-unsub');

    // Assess
    expect(unsub.accepted).toHaveLength(1);
    expect(sentAtDenial).toBe(0);
    expect(engine.outbox.entries.filter((m) => JSON.stringify(m).includes(id)), 'marketing sent after the denial was answered 202').toEqual([]);
  }, 60_000);
});
