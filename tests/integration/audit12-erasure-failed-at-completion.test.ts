/**
 * Audit 12: an erasure that fails at its very last write is never finished by the sweep, nor by a restart, and the
 * customer can never come back while its tombstone lives. `ProfileStore.erase` deletes the root's progress items (the
 * root's own is the GSI1 `ERASING#<shard>` entry the sweep and the engine's start look for) and only then marks the
 * root's tombstone complete. When that last UpdateItem fails (DynamoDB throttling or a 5xx past the SDK's retries, a
 * Lambda timeout, a crash), DELETE answers 5xx and the tombstone stays incomplete with no GSI1 entry: docs/operations.md
 * promises "An erasure nobody retries (a failed DELETE, ...) is finished by the daily sweep once it began over an hour
 * before", but the sweep resumes none, nor does a restart. Until the tombstone expires (47 days) every event of the
 * customer is "received while the erasure ran" and dropped: their sign-up two days later creates no profile (404) and
 * gets no welcome email. Control: the same erasure failing at its item deletes is resumed by the sweep and the comeback
 * gets a new life.
 */
import { describe, expect, it } from 'vitest';
import type { DynamoCall } from '../../infra/embedded/faults';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { outboxFor } from '../helpers/journeys';

/** `at`: which write of the DELETE fails every attempt: the deletes of the customer's items, or the root tombstone's completion. */
async function scenario(id: string, at: 'deletes' | 'completion') {
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
        return call.operation === 'BatchWriteItem' && text.includes('DeleteRequest') && text.includes(`C#${id}`) ? 'InternalServerError' : undefined;
      },
    },
  });
  const later = async (ms: number) => {
    const at = clock.now().getTime() + ms;
    while (clock.advance(at)) await clock.idle();
    await engine.settle();
  };
  try {
    const api = client(engine);
    await api.send([{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }]);
    await later(60_000);
    failing = true;
    const deleted = (await api.del(`/v1/customers/${id}`)).status;
    failing = false;
    // Nobody retries: the daily sweep, over an hour later, finishes what was left.
    await later(2 * 3_600_000);
    const sweep = (await engine.sweep()).erasures;
    await later(2 * 86_400_000);

    // The customer comes back two days later and signs up.
    await api.send([{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Signed Up' }]);
    await later(60_000);
    return {
      deleteFailed: deleted >= 500,
      sweepResumed: sweep?.resumed ?? 0,
      tombstoneComplete: (await engine.profiles.tombstone(id, clock.now()))?.completedAt !== undefined,
      comeback: (await api.get(`/v1/customers/${id}`)).status,
      welcomeEmails: outboxFor(engine, id).filter((m) => m.channel === 'email').length,
    };
  } finally {
    await engine.stop();
  }
}

describe('an erasure that fails at its last write, never retried (audit 12)', () => {
  it('control: failed at its deletes, the sweep finishes it and the comeback gets a new life', async () => {
    expect(await scenario('a12-fail-deletes', 'deletes')).toEqual({ deleteFailed: true, sweepResumed: 1, tombstoneComplete: true, comeback: 200, welcomeEmails: 1 });
  }, 60_000);

  // BREAK (audit 12): the root's GSI1 entry is deleted before its tombstone is completed; that UpdateItem failing leaves an incomplete tombstone the sweep cannot find: sweep resumed 0, tombstone incomplete, comeback 2 days later 404 with 0 welcome emails (events dropped for the tombstone's 47 days); fix idea: delete the root's own progress item (its GSI1 entry) only after its tombstone is complete.
  it.fails('failed at the root tombstone\'s completion, the sweep finishes it and the comeback gets a new life', async () => {
    expect(await scenario('a12-fail-complete', 'completion')).toEqual({ deleteFailed: true, sweepResumed: 1, tombstoneComplete: true, comeback: 200, welcomeEmails: 1 });
  }, 60_000);
});
