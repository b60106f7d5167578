/**
 * Found by the seventh audit of issue 10 (erasure vs the embedded engine's dead letters; the sixth audit's 65a7ca3).
 *
 * Promise (issue 10 "Erasure that is complete while events race it"; README "Privacy: erasure"): after DELETE
 * answers no file of the data folder names the customer's id, email or traits, "including events that arrive
 * during or after the erasure". The sixth audit's fix: the dead-letter sink checks the tombstones of the ids a
 * letter names and redacts a letter of an erased customer at once ("write, then check").
 *
 * How it broke: the check is a DynamoDB read made once, right after the failure that dead-lettered the event.
 * What dead-letters a late event of an erased customer is typically DynamoDB failing (throttling, a 500 streak):
 * here every read of the customer's tombstone fails for a while. The consumer fails on every attempt (it reads the
 * tombstone first), the event is dead-lettered, and the sink's own tombstone read fails the same way: the letter
 * (the erased customer's id and email) is kept, and once DynamoDB is back nothing ever checks it again. It stays
 * in `/v1/admin/dead-letters` and `<data>/dead-letters.ndjson` until someone redrives it.
 *
 * Was: infra/embedded/engine.ts `deadLetterSink.add`: `deadLetters.add(letter)` first, then one
 * `profiles.tombstone(id)` per id; a failing read threw out of the sink, and nothing retried the check.
 *
 * Fix: the letter is written marked `unchecked`; the check is retried with backoff, and a letter it could not check
 * keeps the mark and is checked again before a listing or redrive, at stop and at start; until
 * then `/v1/admin/dead-letters` lists it without its event's detail and its error.
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

const dataDir = mkdtempSync(join(tmpdir(), 'rapport-a7-dlq-check-'));
const clock = new VirtualClock('2026-03-02T10:00:00Z');
const id = 'a7-dlq-check-1';
const tombstonePk = `X#${createHash('sha256').update(id).digest('hex')}`;
let armed = false;
let failed = 0;
/** DynamoDB fails every read of the customer's tombstone while armed (an outage of that partition). */
const failing = (call: DynamoCall) => {
  const hit = armed && call.table === PROFILE_TABLE && (call.operation === 'GetItem' || call.operation === 'BatchGetItem') && JSON.stringify(call.input).includes(tombstonePk);
  if (hit) failed++;
  return hit ? ('InternalServerError' as const) : undefined;
};

describe('a late event of an erased customer dead-lettered during a DynamoDB outage', () => {
  let engine: Engine | undefined;
  afterAll(async () => {
    await engine?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('leaves no dead letter naming the customer once DynamoDB is back', async () => {
    engine = await startTestEngine({ dataDir, clock, sweepEveryMs: 0, logLevel: 'SILENT', faults: { dynamo: failing } });
    const api = client(engine);
    const hourAgo = new Date(clock.now().getTime() - 3_600_000).toISOString();
    await api.sendAndSettle([{ type: 'identify', userId: id, messageId: `${id}-old`, traits: { email: 'a7.dlq.check.old@example.org' }, timestamp: hourAgo }]);
    expect((await api.del(`/v1/customers/${id}`)).status).toBe(200);

    // A late event with their email, while reads of their tombstone fail.
    armed = true;
    await api.send([{ type: 'identify', userId: id, messageId: `${id}-late`, traits: { email: 'a7.dlq.check.late@example.org' }, timestamp: hourAgo }]);
    // The consumer's retries back off on the clock: a minute of it is plenty.
    await clock.run(clock.now().getTime() + 60_000);
    expect(failed, 'the fault took').toBeGreaterThan(0);
    // Still failing: the letter is listed, its event and error withheld until the check can be made.
    const during = (await api.get('/v1/admin/dead-letters')).json as unknown as { deadLetters: Array<{ unchecked?: boolean; event: { detail: unknown } }> };
    expect(JSON.stringify(during).includes('a7.dlq.check.late@example.org'), 'listed during the outage, with the email').toBe(false);
    expect(during.deadLetters.some((l) => l.unchecked === true && l.event.detail === null), 'a letter withheld').toBe(true);
    armed = false;

    // DynamoDB is back.
    await api.sendAndSettle([{ type: 'identify', userId: 'a7-dlq-check-other', traits: { email: 'someone.else@example.org' } }]);
    const letters = JSON.stringify((await api.get('/v1/admin/dead-letters')).json);
    expect(letters.includes('a7.dlq.check.late@example.org'), 'a dead letter holds the erased customer\'s email').toBe(false);

    await engine.stop();
    engine = undefined;
    expect(filesNaming(dataDir, [id, 'a7.dlq.check.late@example.org']), 'files of the data folder naming the erased customer').toEqual([]);
  }, 60_000);
});
