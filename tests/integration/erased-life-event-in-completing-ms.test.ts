/**
 * An event of the erased life received in the millisecond the erasure completes never starts a new life (audit 10).
 * X's app sends an identify (its address, a phone number) stamped a second ahead of the ingest's clock; ingest answers
 * 202 and EventBridge is late delivering it. In the same millisecond (always on the virtual clock) X is erased: DELETE
 * answers 200. The identify is then delivered: it was received before the erasure began, so it is the erased life's and
 * dropped (`belongsAfter` is strict: a new life starts only from events received after the erasure completed, while a
 * denial received in that millisecond counts as after, `receivedAfterErasure`). Control: received a millisecond
 * before the erasure, the same identify is dropped too.
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

  it('received in the millisecond the erasure completes, it is dropped too', async () => {
    expect(await scenario('a10-same-ms', 0)).toEqual({ status: 404, items: [] });
  }, 30_000);
});
