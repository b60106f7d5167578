/**
 * An erasure that fails at its very last writes is finished by the sweep (found by the twelfth audit). `erase` deleted
 * the root's progress items (the root's own is the GSI1 `ERASING#<shard>` entry the sweep and the engine's start look
 * for) and only then marked the root's tombstone complete: when that UpdateItem failed (throttling or a 5xx past the
 * SDK's retries, a timeout, a crash), DELETE answered 5xx and the tombstone stayed incomplete with no entry, so the
 * sweep resumed none, and until the tombstone expired (47 days) every event of the customer was dropped: their
 * sign-up two days later created no profile and got no welcome email. Now the root's own entry goes after the
 * completion; when that last delete fails, the sweep deletes the entry (it names the id in clear). Control: the same
 * erasure failing at its item deletes is resumed by the sweep.
 */
import { describe, expect, it } from 'vitest';
import type { DynamoCall } from '../../infra/embedded/faults';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { laterOn, profileItemsNaming, startTestEngine } from '../helpers/engine';
import { outboxFor } from '../helpers/journeys';

/**
 * `at`: which write of the DELETE fails every attempt: the deletes of the customer's items, the root tombstone's
 * completion, or the delete of the root's progress entry after it.
 */
async function scenario(id: string, at: 'deletes' | 'completion' | 'entry') {
  let completed = false;
  const clock = new VirtualClock('2026-03-02T10:00:00Z');
  let failing = false;
  const engine = await startTestEngine({
    clock,
    sweepEveryMs: 0,
    logLevel: 'SILENT',
    sendPolicy: { quietHours: undefined },
    faults: {
      dynamo: (call: DynamoCall) => {
        if (!failing) return undefined;
        const text = JSON.stringify(call.input);
        if (at === 'completion') return call.operation === 'UpdateItem' && text.includes('#completedAt = :completedAt') ? 'InternalServerError' : undefined;
        if (at === 'entry') {
          if (call.operation === 'UpdateItem' && text.includes('#completedAt = :completedAt')) completed = true;
          return completed && call.operation === 'BatchWriteItem' && text.includes('DeleteRequest') && text.includes('"E#') ? 'InternalServerError' : undefined;
        }
        return call.operation === 'BatchWriteItem' && text.includes('DeleteRequest') && text.includes(`C#${id}`) ? 'InternalServerError' : undefined;
      },
    },
  });
  const later = laterOn(clock, { engine });
  try {
    const api = client(engine);
    await api.send([{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }]);
    await later(60_000);
    failing = true;
    const deleted = (await api.del(`/v1/customers/${id}`)).status;
    failing = false;
    // Nobody retries: the daily sweep, over an hour later, finishes what was left.
    await later(2 * 3_600_000);
    const left = (await profileItemsNaming(engine, [id])).length;
    const sweep = (await engine.sweep()).erasures;
    const leftAfterSweep = (await profileItemsNaming(engine, [id])).length;
    await later(2 * 86_400_000);

    // The customer comes back two days later and signs up.
    await api.send([{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Signed Up' }]);
    await later(60_000);
    return {
      deleteFailed: deleted >= 500,
      namedBeforeSweep: left > 0,
      namedAfterSweep: leftAfterSweep,
      sweepResumed: sweep?.resumed ?? 0,
      tombstoneComplete: (await engine.profiles.tombstone(id, clock.now()))?.completedAt !== undefined,
      comeback: (await api.get(`/v1/customers/${id}`)).status,
      welcomeEmails: outboxFor(engine, id).filter((m) => m.channel === 'email').length,
    };
  } finally {
    await engine.stop();
  }
}

describe('an erasure that fails at its last writes, never retried', () => {
  it('control: failed at its deletes, the sweep finishes it and the comeback gets a new life', async () => {
    expect(await scenario('a12-fail-deletes', 'deletes')).toEqual({ deleteFailed: true, namedBeforeSweep: true, namedAfterSweep: 0, sweepResumed: 1, tombstoneComplete: true, comeback: 200, welcomeEmails: 1 });
  }, 60_000);

  it('failed at the root tombstone\'s completion, the sweep finishes it and the comeback gets a new life', async () => {
    expect(await scenario('a12-fail-complete', 'completion')).toEqual({ deleteFailed: true, namedBeforeSweep: true, namedAfterSweep: 0, sweepResumed: 1, tombstoneComplete: true, comeback: 200, welcomeEmails: 1 });
  }, 60_000);

  it("failed at the delete of the root's progress entry after the completion, the sweep deletes the entry", async () => {
    // The erasure is complete (nothing to resume), but its entry names the id in clear until the sweep deletes it.
    expect(await scenario('a12-fail-entry', 'entry')).toEqual({ deleteFailed: true, namedBeforeSweep: true, namedAfterSweep: 0, sweepResumed: 0, tombstoneComplete: true, comeback: 200, welcomeEmails: 1 });
  }, 60_000);
});
