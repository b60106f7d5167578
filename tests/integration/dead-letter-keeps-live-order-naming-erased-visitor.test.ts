/**
 * A live customer's dead-lettered event that names an erased visitor is kept, without the visitor. Visitor V (a
 * device's anonymousId) is erased. Known customer Y then sends from that device an `Order Completed` queued by
 * analytics.js before the erasure (dated before it, received after it completed, carrying V's anonymousId as every
 * call does). Delivered, the profile consumer applies it to Y without linking V (the link is V's erased life:
 * `joinsErased`, `withoutJoin`). Here DynamoDB refuses the profile table's writes while it is delivered, so the event
 * is dead-lettered: the dead-letter sink's check finds erased `anon:V` named only as the visitor to link, keeps the
 * letter without V's anonymousId (`withoutErasedJoin`), and its redrive applies the order to Y. So does an erasure of V
 * after the letter was written (`erasure.redact`). Controls: without the fault the consumer applies the order to Y; a
 * visitor never erased keeps the letter whole, and its redrive applies it.
 */
import { describe, expect, it } from 'vitest';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import type { DynamoCall } from '../../infra/embedded/faults';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';

async function scenario(y: string, v: string, erase: boolean | 'after', fault = true): Promise<{ letters: number; orderCount: number }> {
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
    await api.sendAndSettle([{ type: 'page', anonymousId: v, name: 'Home' }]);
    await api.sendAndSettle([{ type: 'identify', userId: y, traits: { email: `${y}@example.org` } }]);
    const erasureBegan = Date.now();
    if (erase === true) expect((await api.del(`/v1/customers/anon:${v}`)).status).toBe(200);
    // Queued on the device before the erasure, sent after it: Y's order, naming the visitor id of that device.
    const order = { type: 'track', userId: y, anonymousId: v, event: 'Order Completed', messageId: `${y}-order`, properties: { orderId: `${y}-o1`, revenue: 42, currency: 'EUR' }, timestamp: new Date(erasureBegan - 1_000).toISOString() };
    armed = fault;
    await api.sendAndSettle([order]);
    armed = false;
    // Erased once the letter was written (and checked): the erasure keeps the letter without the visitor too.
    if (erase === 'after') expect((await api.del(`/v1/customers/anon:${v}`)).status).toBe(200);
    const listed = (await api.get('/v1/admin/dead-letters')).json as unknown as { deadLetters: Array<{ id: string }> };
    // The kept letter names the erased visitor nowhere.
    if (erase) expect(JSON.stringify(listed)).not.toContain(v);
    const res = await fetch(`${engine.url}/v1/admin/dead-letters/redrive`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(200);
    await engine.settle();
    return { letters: listed.deadLetters.length, orderCount: (await api.customer(y)).stats.orderCount };
  } finally {
    await engine.stop();
  }
}

describe('a dead-lettered event of a live customer naming an erased visitor', () => {
  it('control: the visitor is not erased, the letter is kept and its redrive applies the order', async () => {
    expect(await scenario('a9-dlv-ctl-y', 'a9-dlv-ctl-v', false)).toEqual({ letters: 1, orderCount: 1 });
  }, 60_000);

  it('control: the visitor is erased and nothing fails, the consumer applies the order to the customer', async () => {
    expect(await scenario('a9-dlv-nofault-y', 'a9-dlv-nofault-v', true, false)).toEqual({ letters: 0, orderCount: 1 });
  }, 60_000);

  it('the visitor is erased: the letter is kept (without the visitor id) and its redrive applies the order', async () => {
    expect(await scenario('a9-dlv-erased-y', 'a9-dlv-erased-v', true)).toEqual({ letters: 1, orderCount: 1 });
  }, 60_000);

  it('the visitor is erased after the letter was written: it is kept (without the visitor id) and its redrive applies the order', async () => {
    expect(await scenario('a9-dlv-later-y', 'a9-dlv-later-v', 'after')).toEqual({ letters: 1, orderCount: 1 });
  }, 60_000);
});
