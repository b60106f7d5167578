/**
 * Fixed (`idsNamedBy` reads the customerId of a status change's input). The break, from audit 8 (issue 10, dead
 * letters vs erasure): the dead-letter sink and erasure's redaction find the ids a letter names
 * with `idsNamedBy` (userId, previousId, properties.customerId, an SES message's customer tag). A Step Functions
 * "Execution Status Change" letter of the run-ended function names its customer only inside `detail.input` (a JSON
 * string: customerId, the trigger's messageId and properties) and `detail.name`. X's welcome run ends while DynamoDB
 * fails the run-ended function on every retry (AWS twin: status changes delivered late, as EventBridge does): a dead
 * letter. Then X is erased: DELETE answers 200, and the letter, naming X, is still kept and listed by
 * `GET /v1/admin/dead-letters` (and in `<data>/dead-letters.ndjson`).
 */
import { describe, expect, it } from 'vitest';
import type { DynamoCall } from '../../infra/embedded/faults';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { useTestEngine } from '../helpers/engine';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const clock = new VirtualClock('2026-03-02T10:00:00Z');
let armed = false;
const t = useTestEngine({
  clock,
  sweepEveryMs: 0,
  sendPolicy: { quietHours: undefined },
  logLevel: 'SILENT',
  twin: { seed: 7, maxDelayMs: 0, duplicateProbability: 0, statusChangeMaxDelayMs: 1_000 },
  // The run's record (`R#welcome#<execution>`) cannot be read or written while armed.
  faults: { dynamo: (call: DynamoCall) => (armed && JSON.stringify(call.input).includes('R#welcome#') ? 'InternalServerError' : undefined) },
});

describe("a run-ended dead letter of a customer who is then erased", () => {
  it('is not kept once the customer is erased', async () => {
    const id = 'a8-run-ended-7781';
    const t0 = clock.now().getTime();
    await t.api.sendAndSettle([{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Signed Up', messageId: `${id}-signup`, timestamp: new Date(t0).toISOString() }]);
    await clock.run(t0 + 3 * DAY - HOUR);
    armed = true;
    await clock.run(t0 + 4 * DAY);
    armed = false;
    expect(t.engine.deadLetters.filter((l) => l.functionName === 'rapport-run-ended').length, 'the run-ended function dead-lettered').toBeGreaterThan(0);

    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
    await t.engine.settle();
    const kept = t.engine.deadLetters.filter((l) => JSON.stringify(l).includes(id)).length;
    const listed = JSON.stringify((await t.api.get('/v1/admin/dead-letters')).json).includes(id);
    expect({ kept, listed }).toEqual({ kept: 0, listed: false });
  }, 30_000);
});
