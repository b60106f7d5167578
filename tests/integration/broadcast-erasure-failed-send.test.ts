/**
 * Audit (issue 10): a customer erased while their broadcast's page is recording them as failed (the provider
 * timed out on the first attempt; the retried page finds the unfinished claim and records the recipient
 * failed). functions/broadcasts/service.ts `deliver` writes that record with JourneyStore.settleMessage, an
 * upsert (`attribute_not_exists(PK) OR status IN (sending, unknown)`), and never checks the tombstone after
 * it (the journeys' recordFailure does: steps.ts undoneIfErased). The eraser's query ran before the write, so
 * `C#<id>` / `M#broadcast:<id>#send` comes back after DELETE answered and stays, naming the erased customer.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { JourneyStore } from '../../functions/journeys/store';
import { client } from '../helpers/client';
import { profileItemsNaming, startTestEngine } from '../helpers/engine';

describe('broadcast recipient recorded failed while being erased', () => {
  let engine: Engine;
  const original = JourneyStore.prototype.settleMessage;
  afterAll(async () => {
    JourneyStore.prototype.settleMessage = original;
    await engine?.stop();
  });

  it('leaves no message record naming the customer erased as the broadcast records them failed', async () => {
    // Prepare
    engine = await startTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: undefined } });
    const api = client(engine);
    const id = 'bx-erased-7731';
    await api.sendAndSettle([{ type: 'identify', userId: id, messageId: `${id}-id`, traits: { email: 'bx.erased.7731@example.org', tags: ['crm-gold'] } }]);
    // The provider times out once (the page fails after the claim; Step Functions retries it).
    const outbox = engine.outbox as unknown as { email: (m: unknown) => Promise<{ providerId: string }> };
    const email = outbox.email.bind(engine.outbox);
    let timeouts = 0;
    outbox.email = async (m) => {
      if (JSON.stringify(m).includes(id) && timeouts++ === 0) throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
      return email(m);
    };
    // The retried page's failed record is held until DELETE answered (a concurrent Lambda, in AWS).
    let reached!: () => void;
    const held = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    JourneyStore.prototype.settleMessage = async function (this: JourneyStore, customerId, record) {
      if (customerId === id && record.status === 'failed' && record.journeyId.startsWith('broadcast:')) {
        reached();
        await gate;
      }
      return original.call(this, customerId, record);
    };

    // Act
    const res = await fetch(`${engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'bx-news', segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you', kind: 'transactional' } }) });
    expect(res.status).toBe(201);
    await held;
    expect((await api.del(`/v1/customers/${id}`)).status).toBe(200);
    release();
    for (let i = 0; i < 100 && ((await api.get('/v1/broadcasts/bx-news')).json as unknown as { status: string }).status !== 'completed'; i++) await new Promise((r) => setTimeout(r, 100));
    await engine.settle();

    // Assess
    expect(((await api.get('/v1/broadcasts/bx-news')).json as unknown as { status: string }).status).toBe('completed');
    const naming = await profileItemsNaming(engine, [id]);
    expect(naming, 'items naming the erased customer after DELETE answered').toEqual([]);
  }, 60_000);
});
