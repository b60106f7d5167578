/**
 * A live customer's event that names an erased visitor is lost when it is dead-lettered (audit 9). Visitor V (a
 * device's anonymousId) is erased. Known customer Y then sends from that device an `Order Completed` queued by
 * analytics.js before the erasure (dated before it, received after it completed, carrying V's anonymousId as every
 * call does). The profile consumer applies it to Y without linking V (the link is V's erased life: `joinsErased`,
 * `withoutJoin`); the order is Y's and valid. Here DynamoDB refuses the profile table's writes while it is delivered,
 * so the event is dead-lettered. The dead-letter sink sees it names erased `anon:V` and, as it is not of V's new life,
 * redacts the whole letter (`handOnDenials` hands on denials only; an order is none): Y's order is gone, nothing is
 * left to redrive. Controls: without the fault the consumer applies the order to Y; the same with a visitor that was never erased keeps the letter, and its redrive applies
 * the order to Y.
 */
import { describe, expect, it } from 'vitest';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import type { DynamoCall } from '../../infra/embedded/faults';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';

async function scenario(y: string, v: string, erase: boolean, fault = true): Promise<{ letters: number; orderCount: number }> {
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
    if (erase) expect((await api.del(`/v1/customers/anon:${v}`)).status).toBe(200);
    // Queued on the device before the erasure, sent after it: Y's order, naming the visitor id of that device.
    const order = { type: 'track', userId: y, anonymousId: v, event: 'Order Completed', messageId: `${y}-order`, properties: { orderId: `${y}-o1`, revenue: 42, currency: 'EUR' }, timestamp: new Date(erasureBegan - 1_000).toISOString() };
    armed = fault;
    await api.sendAndSettle([order]);
    armed = false;
    const listed = (await api.get('/v1/admin/dead-letters')).json as unknown as { deadLetters: Array<{ id: string }> };
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

  // BREAK (audit 9): the sink redacts the whole letter of a live customer's order because it names an erased visitor (of the erased life), so the order is lost; fix idea: redact only the erased ids out of the letter (as the consumer's withoutJoin does: drop anonymousId/previousId of the erased life) and keep it when it names a live customer
  it.fails('the visitor is erased: the letter is kept (without the visitor id) and its redrive applies the order', async () => {
    expect(await scenario('a9-dlv-erased-y', 'a9-dlv-erased-v', true)).toEqual({ letters: 1, orderCount: 1 });
  }, 60_000);
});
