/**
 * Found by the seventh audit of issue 10 (erasure vs the embedded engine's dead letters; the sixth audit's 65a7ca3).
 *
 * Promise (issue 10 "Erasure that is complete while events race it"; README "Privacy: erasure"): after DELETE
 * answers no file of the data folder names the customer's id, email or traits, "including events that arrive
 * during or after the erasure". The sixth audit's fix: the dead-letter sink checks the tombstones of the ids a
 * letter names and redacts a letter of an erased customer at once.
 *
 * How it broke: the sink reads the ids from `detail.userId`, `previousId` and `anonymousId` only. An SES event
 * (simulated feedback; in AWS on the default bus) names its customer in the message's tags (`mail.tags.customer`)
 * and carries their address (`mail.destination`, the headers). A complaint on the welcome email reaches the SES
 * feedback function after the customer was erased (EventBridge delivers late); its profile read fails on every
 * attempt (DynamoDB throttling), so the event is dead-lettered whole, and the sink keeps it: `/v1/admin/dead-letters`
 * and `<data>/dead-letters.ndjson` hold the erased customer's id and address until someone redrives it. (The
 * engine's `erasure.redact` already knows the SES tag; the sink does not.)
 *
 * Was: infra/embedded/engine.ts `deadLetterSink.add` built `named` from userId/previousId/anonymousId only.
 *
 * Fix: one function, `idsNamedBy` (infra/embedded/dead-letters.ts), names the ids of an event for both the sink's
 * tombstone check and `erasure.redact` (the SES `customer` tag and `properties.customerId` included).
 */
import { describe, expect, it } from 'vitest';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import type { DynamoCall } from '../../infra/embedded/faults';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { useTestEngine } from '../helpers/engine';
import { outboxFor } from '../helpers/journeys';

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const id = 'a7-ses-dlq-1';
const email = `${id}@example.com`;
let armed = false;
let throttled = 0;
/** DynamoDB throttles every read of the customer's profile item while armed (the feedback function's first read). */
const failing = (call: DynamoCall) => {
  const text = JSON.stringify(call.input);
  const hit = armed && call.table === PROFILE_TABLE && call.operation === 'GetItem' && text.includes(`C#${id}"`) && text.includes('"P"');
  if (hit) throttled++;
  return hit ? ('ProvisionedThroughputExceededException' as const) : undefined;
};
const t = useTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT', faults: { dynamo: failing } });

describe('SES feedback on an erased customer that dead-letters', () => {
  it('leaves no dead letter naming the customer or their address', async () => {
    await t.api.send([{ type: 'identify', userId: id, traits: { email } }, { type: 'track', userId: id, event: 'Signed Up' }]);
    await clock.idle();
    const [welcome] = outboxFor(t.engine, id);
    expect(welcome?.step).toBe('send-welcome');

    // SES reports a complaint; EventBridge is late delivering it to the feedback function.
    const rule = t.engine.bus.rules.find((r) => r.name === 'ses-feedback')!;
    const deliver = rule.target;
    const held: Array<Parameters<typeof deliver>> = [];
    rule.target = (...args) => void held.push(args);
    t.engine.feedback(welcome!.outboxId, { type: 'complaint' });
    await clock.idle();
    expect(held).toHaveLength(1);

    // The customer is erased; then the complaint arrives, and every read of the profile is throttled.
    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
    rule.target = deliver;
    armed = true;
    const delivered = Promise.all(held.map((args) => Promise.resolve(deliver(...args))));
    // The function's retries back off on the clock: a minute of it is plenty.
    await clock.run(clock.now().getTime() + 60_000);
    await delivered;
    armed = false;

    expect(throttled, 'the fault took').toBeGreaterThan(0);
    const letters = JSON.stringify((await t.api.get('/v1/admin/dead-letters')).json);
    expect(letters.includes(email), 'a dead letter holds the erased customer\'s address').toBe(false);
    expect(letters.includes(id), 'a dead letter names the erased customer').toBe(false);
  }, 30_000);
});
