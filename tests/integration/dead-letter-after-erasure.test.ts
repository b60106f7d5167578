/**
 * Audit 6 (issue 10, erasure vs the embedded engine's dead letters).
 *
 * Promise (issue 10 "Erasure that is complete while events race it"; README "Privacy: erasure"): after DELETE
 * answers, no file of the data folder names the customer's id, email, phone or traits, "including events that
 * arrive during or after the erasure"; the engine redacts its bus log and `dead-letters.ndjson`
 * (infra/embedded/engine.ts `erasure.redact`: `deadLetters.remove(...)`).
 *
 * How it broke: after the erasure, a late identify of the customer arrives (a CRM's queued sync, with their
 * email). The profile consumer drops it — and on the way lengthens the tombstone (`extendTombstone`, an
 * UpdateItem). If that write fails (DynamoDB throttling or a 500: every retry of the delivery), the delivery
 * fails, the event is dead-lettered, and nothing redacts it: the late event, with the erased customer's id and
 * email, stays in `<data>/dead-letters.ndjson` and in the bus log (`<data>/bus/events.ndjson`) until someone
 * redrives it. Redaction runs only when a drop *succeeds* (`onErasedWrite` after the group's writes).
 *
 * Cause: functions/profile/consumer.ts:263-270 — the drop path awaits `store.extendTombstone` (and the member
 * clean-up) before `deps.onErasedWrite` runs (consumer.ts:366-367); a failure there throws out of `applyGroup`, and
 * infra/embedded/lambda-async.ts:166 adds the dead letter (the whole event) with no erasure check; the engine's
 * redaction (engine.ts:473-474) only runs at DELETE and on `onErasedWrite`.
 *
 * Suggested fix: redact before anything else can fail (call `onErasedWrite` as soon as an event is known to be of
 * an erased life), and make the dead-letter sink check the tombstone of the ids an event names (write, then
 * check: a letter of an erased customer is written redacted or not at all, and re-checked by `redact`).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROFILE_TABLE, type Engine } from '../../infra/embedded/engine';
import type { DynamoCall } from '../../infra/embedded/faults';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { filesNaming } from '../helpers/data-folder';
import { startTestEngine } from '../helpers/engine';

const dataDir = mkdtempSync(join(tmpdir(), 'rapport-a6-dlq-'));
const clock = new VirtualClock('2026-03-02T10:00:00Z');
const id = 'a6-dlq-erased-1';
const tombstonePk = `X#${createHash('sha256').update(id).digest('hex')}`;
let armed = false;
let throttled = 0;
/** DynamoDB throttles the tombstone's lengthening (UpdateItem `SET #ttl = :ttl` on its key), every attempt. */
const failing = (call: DynamoCall) => {
  const hit = armed && call.table === PROFILE_TABLE && call.operation === 'UpdateItem' && JSON.stringify(call.input).includes(tombstonePk) && JSON.stringify(call.input).includes('SET #ttl = :ttl');
  if (hit) throttled++;
  return hit ? ('ProvisionedThroughputExceededException' as const) : undefined;
};

describe('a late event of an erased customer that dead-letters', () => {
  let engine: Engine | undefined;
  afterAll(async () => {
    await engine?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('leaves no file naming the customer', async () => {
    engine = await startTestEngine({ dataDir, clock, sweepEveryMs: 0, logLevel: 'SILENT', faults: { dynamo: failing } });
    const api = client(engine);
    const hourAgo = new Date(clock.now().getTime() - 3_600_000).toISOString();
    await api.sendAndSettle([{ type: 'identify', userId: id, messageId: `${id}-old`, traits: { email: 'a6.dlq.old@example.org' }, timestamp: hourAgo }]);
    expect((await api.del(`/v1/customers/${id}`)).status).toBe(200);

    // After DELETE answered (a second later: the tombstone is lengthened in whole seconds), a late event with
    // their email; DynamoDB throttles the drop's tombstone write.
    await clock.run(clock.now().getTime() + 1_100);
    armed = true;
    await api.send([{ type: 'identify', userId: id, messageId: `${id}-late`, traits: { email: 'a6.dlq.late@example.org' }, timestamp: hourAgo }]);
    // The consumer's retries back off on the clock: a minute of it is plenty.
    await clock.run(clock.now().getTime() + 60_000);
    const letters = ((await api.get('/v1/admin/dead-letters')).json as unknown as { deadLetters: Array<{ event: { detail: { messageId: string } } }> }).deadLetters;
    // Every attempt was throttled (the event was dead-lettered), and the letter, naming an erased customer, redacted at once.
    expect(throttled, 'the fault took on every attempt').toBeGreaterThanOrEqual(3);
    expect(letters.map((l) => l.event.detail.messageId), 'dead letters naming the erased customer').toEqual([]);
    armed = false;

    await engine.stop();
    engine = undefined;
    expect(filesNaming(dataDir, [id, 'a6.dlq.late@example.org', 'a6.dlq.old@example.org']), 'files of the data folder naming the erased customer').toEqual([]);
  }, 60_000);
});
