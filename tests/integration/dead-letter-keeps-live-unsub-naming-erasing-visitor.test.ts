/**
 * A live customer's dead-lettered unsubscribe that names a visitor under erasure is kept, without the visitor.
 * Visitor V (Y's device) is erased; while that erasure runs, known customer Y's app sends an `Unsubscribed` carrying
 * V's anonymousId (analytics.js sends it on every call): received after the erasure began and before it completed.
 * Delivered, the profile consumer applies it to Y without the link to V (V's erased life): Y ends `denied`. Here
 * DynamoDB refuses the profile table's writes while it is delivered, and the event is dead-lettered. The sink's check
 * finds erased `anon:V` named only as the visitor to link, whatever its erasure's timing, keeps the letter without V's
 * anonymousId (`withoutErasedJoin`), and its redrive unsubscribes Y. Controls: delivered without the fault, Y ends
 * `denied`; V never erased, the letter is kept whole and its redrive unsubscribes Y. The event is put on the bus as
 * ingest put it (the erasure-new-life.test.ts way): received between the erasure's start and completion.
 */
import { describe, expect, it } from 'vitest';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import type { DynamoCall } from '../../infra/embedded/faults';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';

async function scenario(y: string, v: string, erase: boolean, fault: boolean): Promise<{ letters: number; consent: string }> {
  let armed = false;
  const engine = await startTestEngine({
    sweepEveryMs: 0,
    logLevel: 'SILENT',
    sendPolicy: { quietHours: undefined },
    faults: {
      dynamo: (call: DynamoCall) => (armed && call.table === PROFILE_TABLE && (call.operation === 'PutItem' || call.operation === 'UpdateItem') ? 'InternalServerError' : undefined),
    },
  });
  try {
    const api = client(engine);
    await api.sendAndSettle([{ type: 'page', anonymousId: v, name: 'Home', timestamp: new Date(Date.now() - 60_000).toISOString() }]);
    await api.sendAndSettle([{ type: 'identify', userId: y, traits: { email: `${y}@example.org`, consent: { email: true } }, timestamp: new Date(Date.now() - 60_000).toISOString() }]);
    // A template of what ingest puts on the bus.
    await api.sendAndSettle([{ type: 'track', userId: `${y}-template`, messageId: `${y}-template`, event: 'Unsubscribed', properties: { channel: 'email' } }]);
    const template = engine.bus.log.find((e) => (e.detail as { messageId?: string }).messageId === `${y}-template`)!;
    let receivedAt = new Date().toISOString();
    if (erase) {
      expect((await api.del(`/v1/customers/anon:${v}`)).status).toBe(200);
      const tomb = (await engine.profiles.tombstone(`anon:${v}`, new Date()))!;
      receivedAt = new Date(Math.floor((Date.parse(tomb.erasedAt) + Date.parse(tomb.completedAt!)) / 2)).toISOString();
      expect(receivedAt <= tomb.completedAt!).toBe(true);
    }
    const detail = { ...(template.detail as object), userId: y, anonymousId: v, messageId: `${y}-unsub`, timestamp: new Date(Date.parse(receivedAt) - 1_000).toISOString(), receivedAt };
    armed = fault;
    engine.bus.putEvents([{ Source: template.source, DetailType: template['detail-type'], Detail: JSON.stringify(detail), Time: new Date(detail.timestamp) }]);
    await engine.settle();
    armed = false;
    const listed = (await api.get('/v1/admin/dead-letters')).json as unknown as { deadLetters: unknown[] };
    // The kept letter names the erased visitor nowhere.
    if (erase) expect(JSON.stringify(listed)).not.toContain(v);
    const letters = listed.deadLetters.length;
    const res = await fetch(`${engine.url}/v1/admin/dead-letters/redrive`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(200);
    await engine.settle();
    return { letters, consent: (await api.customer(y)).consent.email.status };
  } finally {
    await engine.stop();
  }
}

describe("a live customer's unsubscribe naming a visitor under erasure", () => {
  it('control: delivered, it unsubscribes the customer', async () => {
    expect(await scenario('a9-dlu-nofault-y', 'a9-dlu-nofault-v', true, false)).toEqual({ letters: 0, consent: 'denied' });
  }, 60_000);

  it('control: the visitor not erased, its dead letter is kept and the redrive unsubscribes the customer', async () => {
    expect(await scenario('a9-dlu-ctl-y', 'a9-dlu-ctl-v', false, true)).toEqual({ letters: 1, consent: 'denied' });
  }, 60_000);

  it('the visitor erased: its dead letter is kept (without the visitor id) and the redrive unsubscribes the customer', async () => {
    expect(await scenario('a9-dlu-y', 'a9-dlu-v', true, true)).toEqual({ letters: 1, consent: 'denied' });
  }, 60_000);
});
