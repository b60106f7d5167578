/**
 * Audit 7 (issue 10, erasure of an id whose events are not applied yet; the sixth audit's 3af0261, under a failure).
 *
 * Promise (issue 10 "Done when"; README "Privacy: erasure"): after the erasure no file of the data folder (the bus
 * log) holds the customer's email; the sixth audit's fix erases the unowned visitor a dropped erased-life identify
 * links, "tombstone, partition, redaction".
 *
 * How it breaks: the visitor is erased (`erasesVisitor`: tombstone and partition) and only then, at the end of the
 * group, redacted (`erasedNamed` -> `onErasedWrite`). If anything between fails (here the drop's segment clean-up,
 * a DynamoDB 500 on its Query, past the SDK's retries) the invocation is retried; the retry finds the visitor's
 * tombstone already there, so `erasesVisitor` answers false and the visitor is never named for redaction: the
 * visitor's own events (the newsletter identify with the email) stay in the bus log for good.
 *
 * Cause: functions/profile/consumer.ts `erasesVisitor`: `(await store.tombstone(visitor, now)) !== undefined` ->
 * `false`, and the caller pushes `anon:<visitor>` to `erasedNamed` only on `true`.
 *
 * Suggested fix: treat "already tombstoned by this erasure" as erased for the redaction (push the visitor whenever
 * its tombstone exists and it is not owned by someone else), or redact right after `store.erase`.
 */
import type { DynamoCall } from '../../infra/embedded/faults';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import { describe, expect, it } from 'vitest';
import { holdConsumer, useTestEngine } from '../helpers/engine';

let failFor: string | undefined;
let failed = 0;
/** While armed: the first three Queries of that customer's segment members fail (one call, past the SDK's 3 attempts). */
const failing = (call: DynamoCall) => {
  const text = JSON.stringify(call.input);
  const hit = failFor !== undefined && failed < 3 && call.table === PROFILE_TABLE && call.operation === 'Query' && text.includes(`"C#${failFor}"`) && text.includes('"G#"');
  if (hit) failed++;
  return hit ? ('InternalServerError' as const) : undefined;
};
const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT', faults: { dynamo: failing } });

async function scenario(n: number, fail: boolean) {
  const id = `a7-visitor-redaction-${n}`;
  const visitor = `a7-visitor-redaction-device-${n}`;
  const email = `a7.visitor.redaction.${n}@example.org`;
  await t.api.sendAndSettle([
    { type: 'page', anonymousId: visitor, messageId: `a7-vr-page-${n}`, name: 'Pricing', properties: {} },
    { type: 'identify', anonymousId: visitor, messageId: `a7-vr-newsletter-${n}`, traits: { email } },
  ]);
  const late = holdConsumer(t.engine, (d) => d.userId === id);
  await t.api.send({ type: 'identify', userId: id, anonymousId: visitor, messageId: `a7-vr-account-${n}`, traits: { email } });
  expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
  if (fail) failFor = id;
  await late.release();
  await t.engine.settle();
  failFor = undefined;
  return { email, busLog: JSON.stringify((await t.api.get('/v1/bus/events?limit=10000')).json) };
}

describe('the visitor of a dropped identify, erased by a delivery that then fails and is retried', () => {
  it('control: without the failure, the bus log forgets the visitor', async () => {
    const { email, busLog } = await scenario(1, false);
    expect(busLog.includes(email)).toBe(false);
  });

  it('the bus log forgets the visitor after the retry too', async () => {
    const { email, busLog } = await scenario(2, true);
    expect(failed, 'the fault took').toBe(3);
    expect(busLog.includes(email), 'the bus log holds the erased visitor\'s email').toBe(false);
  });
});
