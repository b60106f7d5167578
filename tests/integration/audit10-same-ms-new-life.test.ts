/**
 * An event of the erased life received in the millisecond the erasure completes starts a "new life" with its PII.
 * X is a customer with an email address. X's app sends an identify (its address, a phone number) stamped a second
 * ahead of the ingest's clock (any timestamp up to 24 h ahead is accepted); ingest answers 202 and EventBridge is late
 * delivering it to the profile consumer. In the same millisecond (on the virtual clock time stands still between two
 * requests; on a real clock whenever the receipt falls in the erasure's completing millisecond) X is erased: DELETE
 * answers 200. The identify is then delivered.
 *
 * The identify was received before the erasure even began: it is the erased life's, and README promises a new life
 * only from events "dated after the erasure began and received after it completed". Commit 588a0b6 said
 * `belongsAfter` "stays strict", but changed it to `event.receivedAt >= tombstone.completedAt` like
 * `receivedAfterErasure`: with `erasedAt == completedAt == receivedAt` and the timestamp a second ahead, the consumer
 * takes the late identify for the comeback and re-creates X's profile with the erased address and phone.
 * Control: the same identify received one millisecond before the erasure is dropped.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { holdConsumer, profileItemsNaming, useTestEngine } from '../helpers/engine';

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
const later = async (ms: number) => {
  const at = clock.now().getTime() + ms;
  while (clock.advance(at)) await clock.idle();
};

async function scenario(id: string, gapMs: number) {
  const email = `${id}@example.com`;
  const phone = gapMs === 0 ? '+14155550199' : '+14155550198';
  await t.api.send({ type: 'identify', userId: id, traits: { email } });
  await clock.idle();
  await later(60_000);

  // The erased life's identify, stamped a second ahead, received now; its delivery to the consumer is late.
  const late = holdConsumer(t.engine, (d) => d.messageId === `${id}-racing`);
  const sent = await t.api.send({ type: 'identify', userId: id, messageId: `${id}-racing`, timestamp: new Date(clock.now().getTime() + 1_000).toISOString(), traits: { email, phone } });
  expect(sent.accepted).toHaveLength(1);
  const receivedAt = clock.now().toISOString();
  if (gapMs > 0) await later(gapMs);

  expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
  const tombstone = await t.engine.profiles.tombstone(id, clock.now());
  expect(tombstone?.completedAt).toBeDefined();
  if (gapMs === 0) expect(tombstone!.completedAt).toBe(receivedAt);
  else expect(tombstone!.completedAt! > receivedAt).toBe(true);

  await late.release();
  await clock.idle();
  await t.engine.settle();
  const res = await t.api.get(`/v1/customers/${id}`);
  return { status: res.status, items: await profileItemsNaming(t.engine, [email, phone]) };
}

describe('an identify of the erased life received as the erasure completes', () => {
  it('control: received a millisecond before the erasure, it is dropped', async () => {
    expect(await scenario('a10-same-ms-ctl', 1)).toEqual({ status: 404, items: [] });
  }, 30_000);

  // BREAK (audit 10): belongsAfter is `receivedAt >= completedAt` (588a0b6, though its message says it stays strict): an identify received in the erasure's completing ms, before DELETE, re-creates the erased profile with its email and phone; fix idea: keep belongsAfter strict (`>`), only receivedAfterErasure (denials) takes `>=`.
  it.fails('received in the millisecond the erasure completes, it is dropped too', async () => {
    expect(await scenario('a10-same-ms', 0)).toEqual({ status: 404, items: [] });
  }, 30_000);
});
