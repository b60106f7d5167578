/**
 * The second erasure of a customer who came back, interrupted before its tombstone, is finished by the sweep (audit 10).
 * X is erased (completed), and comes back: a new life with a new address. X asks to be erased again; that DELETE is
 * interrupted (DynamoDB fails the tombstone write) and nobody retries it: its progress items (X's ids in clear) and the
 * root's GSI1 entry (`ERASING#<shard>`) are in, no new tombstone. `resumeInterruptedErasures` takes X's complete
 * tombstone for done only when it is as recent as the entry: here it is the first erasure's, older, so the sweep
 * resumes the second from the entry's time, and X's new life, address and progress items go.
 */
import { describe, expect, it } from 'vitest';
import type { DynamoCall } from '../../infra/embedded/faults';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { profileItemsNaming, useTestEngine } from '../helpers/engine';

const clock = new VirtualClock('2026-03-02T10:00:00Z');
let failing = false;
const t = useTestEngine({
  clock,
  sweepEveryMs: 0,
  logLevel: 'SILENT',
  faults: {
    // Every tombstone write fails: the progress items are in, no new tombstone is.
    dynamo: (call: DynamoCall) => {
      const item = call.input.Item as Record<string, { S?: string }> | undefined;
      return failing && call.operation === 'PutItem' && item?.itemType?.S === 'tombstone' ? 'InternalServerError' : undefined;
    },
  },
});
const later = async (ms: number) => {
  const at = clock.now().getTime() + ms;
  while (clock.advance(at)) await clock.idle();
};

async function scenario(id: string, erasedBefore: boolean) {
  const email = `${id}.new@example.org`;
  const visitor = `${id}-visitor`;
  if (erasedBefore) {
    await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: `${id}.old@example.org` } });
    await clock.idle();
    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
    await later(60_000);
  }
  // X's (new) life.
  await t.api.sendAndSettle({ type: 'identify', userId: id, anonymousId: visitor, traits: { email } });
  await clock.idle();
  expect((await t.api.customer(id)).traits.email).toBe(email);

  // The DELETE is interrupted before any tombstone, and never retried.
  failing = true;
  expect((await t.api.del(`/v1/customers/${id}`)).status).toBeGreaterThanOrEqual(500);
  failing = false;

  await later(2 * 3_600_000);
  const swept = (await t.engine.sweep()).erasures;
  await t.engine.settle();
  return { swept, left: await profileItemsNaming(t.engine, [email, visitor]), status: (await t.api.get(`/v1/customers/${id}`)).status };
}

describe('an interrupted erasure nobody retried', () => {
  it('control: of a customer never erased before, the sweep finishes it', async () => {
    expect(await scenario('a10-sweep-second-ctl', false)).toEqual({ swept: { resumed: 1, failed: 0 }, left: [], status: 404 });
  }, 60_000);

  it('of a customer who came back after an earlier erasure, the sweep finishes it too', async () => {
    expect(await scenario('a10-sweep-second', true)).toEqual({ swept: { resumed: 1, failed: 0 }, left: [], status: 404 });
  }, 60_000);
});
