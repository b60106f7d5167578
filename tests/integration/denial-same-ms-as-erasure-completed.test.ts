/**
 * A denial received in the millisecond the erasure completed is the new life's. X is erased (DELETE answers); X's
 * mail client then reports a spam complaint (`Email Marked as Spam`, dated before the erasure), received after DELETE
 * answered, in the very millisecond the erasure's `completedAt` holds (on the virtual clock time stands still between
 * two requests, so this happens every time; on a real clock whenever the two fall in one millisecond).
 * `receivedAfterErasure` counts a receipt at `completedAt` as after it: the complaint is parked beside the tombstone
 * and X, coming back with the same address, is suppressed ("nothing lifts it"). Control: one millisecond later, the
 * same.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { useTestEngine } from '../helpers/engine';

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
const later = async (ms: number) => {
  const at = clock.now().getTime() + ms;
  while (clock.advance(at)) await clock.idle();
};

async function scenario(id: string, gapMs: number) {
  const email = `${id}@example.com`;
  await t.api.send({ type: 'identify', userId: id, traits: { email } });
  await clock.idle();
  await later(60_000);
  const erasureBegan = clock.now().getTime();
  expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
  const tombstone = await t.engine.profiles.tombstone(id, clock.now());
  expect(tombstone?.completedAt).toBeDefined();
  if (gapMs > 0) await later(gapMs);
  // Received after DELETE answered (gapMs after its completion), dated before the erasure.
  await t.api.send({ type: 'track', userId: id, messageId: `${id}-spam`, event: 'Email Marked as Spam', timestamp: new Date(erasureBegan - 1_000).toISOString() });
  const onBus = t.engine.bus.log.find((e) => (e.detail as { messageId?: string }).messageId === `${id}-spam`);
  const receivedAt = (onBus?.detail as { receivedAt?: string } | undefined)?.receivedAt;
  expect(receivedAt).toBe(new Date(Date.parse(tombstone!.completedAt!) + gapMs).toISOString());
  await clock.idle();
  await t.engine.settle();
  await later(60_000);
  await t.api.send({ type: 'identify', userId: id, traits: { email, consent: { email: true } } });
  await clock.idle();
  return { suppression: (await t.api.customer(id)).suppression.email };
}

describe('a spam complaint received right after the erasure completed', () => {
  it('control: one millisecond after the completion, it is parked and suppresses the comeback', async () => {
    expect((await scenario('a9-same-ms-ctl', 1)).suppression).toMatchObject({ reason: 'complaint' });
  }, 30_000);

  it('in the same millisecond: it is parked and suppresses the comeback', async () => {
    expect((await scenario('a9-same-ms', 0)).suppression).toMatchObject({ reason: 'complaint' });
  }, 30_000);
});
