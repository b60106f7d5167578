/**
 * Audit (issue 10, broadcasts): README says a cancel reaches every recipient "before the message is claimed;
 * at most the sends already with the provider finish". The cancel check (`unwanted`, functions/broadcasts/service.ts
 * fanOut) runs once, at the top of the gateway's send (functions/journeys/gateway.ts:106), before the holds,
 * the cap claim and the render; nothing reads the broadcast's status again before the claim and the provider
 * call. A cancel answered while a recipient is between that check and its claim (not with the provider) still
 * sends them the message.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { JourneyStore } from '../../functions/journeys/store';
import { client } from '../helpers/client';
import { broadcastAtRest } from '../helpers/journeys';
import { startTestEngine } from '../helpers/engine';

describe('broadcast cancelled before a recipient is claimed', () => {
  let engine: Engine;
  const original = JourneyStore.prototype.recordMessage;
  afterAll(async () => {
    JourneyStore.prototype.recordMessage = original;
    await engine?.stop();
  });

  it('sends nothing to a recipient not claimed when the cancel answered', async () => {
    // Prepare
    engine = await startTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: undefined } });
    const api = client(engine);
    const id = 'bx-cancel-7751';
    await api.sendAndSettle([{ type: 'identify', userId: id, messageId: `${id}-id`, traits: { email: 'bx.cancel.7751@example.org', tags: ['crm-gold'] } }]);
    // The recipient has passed the cancel check; its claim (the `sending` record) waits until the cancel answered.
    let reached!: () => void;
    const held = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    JourneyStore.prototype.recordMessage = async function (this: JourneyStore, customerId, record) {
      if (customerId === id && record.status === 'sending' && record.journeyId === 'broadcast:bx-cancel') {
        reached();
        await gate;
      }
      return original.call(this, customerId, record);
    };

    // Act
    const res = await fetch(`${engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'bx-cancel', segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you' } }) });
    expect(res.status).toBe(201);
    await held;
    const cancel = await api.del('/v1/broadcasts/bx-cancel');
    const sentAtCancel = engine.outbox.entries.filter((m) => JSON.stringify(m).includes(id)).length;
    release();
    await broadcastAtRest(engine, 'bx-cancel');

    // Assess
    expect(cancel.status).toBe(200);
    expect((cancel.json as unknown as { status: string }).status).toBe('cancelled');
    expect(sentAtCancel).toBe(0);
    expect(engine.outbox.entries.filter((m) => JSON.stringify(m).includes(id)), 'messages sent after the cancel answered').toEqual([]);
  }, 60_000);
});
