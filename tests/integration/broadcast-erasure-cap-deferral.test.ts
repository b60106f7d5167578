/**
 * Audit (issue 10): a customer erased while a marketing broadcast is deferring them for the frequency cap.
 * The send gateway's `held` (functions/journeys/gateway.ts) writes the deferral's message record
 * (`JourneyStore.deferMessage`, an upsert: `attribute_not_exists(PK) OR status = deferred`) and never checks
 * the tombstone after it. The broadcast's `deferUnlessErased` takes back the `B#`/`D#` item and the `BD#`
 * pointer, not this record: when the eraser's query ran before the write, `C#<id>` / `M#broadcast:<id>#send`
 * stays after DELETE answered, naming the erased customer (the same gateway path serves journey steps).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { JourneyStore } from '../../functions/journeys/store';
import { client } from '../helpers/client';
import { profileItemsNaming, startTestEngine } from '../helpers/engine';
import { broadcastAtRest } from '../helpers/journeys';

describe('broadcast frequency-cap deferral while being erased', () => {
  let engine: Engine;
  const original = JourneyStore.prototype.deferMessage;
  afterAll(async () => {
    JourneyStore.prototype.deferMessage = original;
    await engine?.stop();
  });

  it('leaves no deferred message record naming the customer erased as the broadcast defers them', async () => {
    // Prepare: the customer has had the cap's three marketing messages this week (a deferral may last 8 days).
    engine = await startTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: undefined, frequencyCapMaxDelayDays: 8 } });
    const api = client(engine);
    const id = 'bx-capped-7741';
    await api.sendAndSettle([{ type: 'identify', userId: id, messageId: `${id}-id`, traits: { email: 'bx.capped.7741@example.org', tags: ['crm-gold'] } }]);
    const post = (bid: string) =>
      fetch(`${engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: bid, segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you' } }) });
    const status = async (bid: string) => ((await api.get(`/v1/broadcasts/${bid}`)).json as unknown as { status: string; deferred: number }).status;
    for (const bid of ['cap-1', 'cap-2', 'cap-3']) {
      expect((await post(bid)).status).toBe(201);
      await broadcastAtRest(engine, bid);
      expect(await status(bid)).toBe('completed');
    }
    expect(engine.outbox.entries.filter((m) => JSON.stringify(m).includes(id))).toHaveLength(3);
    // The fourth is deferred by the cap: its deferral record is held until DELETE answered (a concurrent Lambda, in AWS).
    let reached!: () => void;
    const held = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    JourneyStore.prototype.deferMessage = async function (this: JourneyStore, customerId, record) {
      if (customerId === id && record.journeyId === 'broadcast:cap-4') {
        reached();
        await gate;
      }
      return original.call(this, customerId, record);
    };

    // Act
    expect((await post('cap-4')).status).toBe(201);
    await held;
    expect((await api.del(`/v1/customers/${id}`)).status).toBe(200);
    release();
    // The page that deferred them has returned (the broadcast waits for the deferral's due time, or has ended).
    await broadcastAtRest(engine, 'cap-4');

    // Assess
    const naming = await profileItemsNaming(engine, [id]);
    expect(naming, 'items naming the erased customer after DELETE answered').toEqual([]);
  }, 60_000);
});
