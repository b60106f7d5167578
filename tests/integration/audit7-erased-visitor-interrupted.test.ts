/**
 * Audit 7 (issue 10, erasure of an id whose events are not applied yet; the sixth audit's 3af0261, interrupted).
 *
 * Promise (issue 10; README "Privacy: erasure"): after DELETE no item names the customer's email, "including events
 * that arrive during or after the erasure"; the sixth audit's fix erases the unowned visitor that a dropped
 * erased-life identify links. An erasure interrupted midway is finished by a retry (README: "a retried DELETE
 * resumes it"; the tombstone lists what it reached, `erasing`).
 *
 * How it breaks: the consumer's `erasesVisitor` calls `store.erase(anon:V)`: tombstone first, then the deletes. If
 * the deletes fail (a DynamoDB 500 on the BatchWriteItem, past the SDK's retries) the invocation fails and is
 * retried; the retry finds V's (incomplete) tombstone and takes V as erased already (`erasesVisitor` answers false
 * without finishing it). V's profile and timeline, with the email, stay for good: no DELETE will ever be asked for
 * a visitor id nobody knows.
 *
 * Cause: functions/profile/consumer.ts `erasesVisitor`: `(await store.tombstone(visitor, now)) !== undefined` ->
 * `false`, whether or not that erasure completed.
 *
 * Suggested fix: resume an incomplete erasure of the visitor (`store.erase(visitor, clock, {resumeFrom:
 * tombstone.erasedAt})` when `completedAt` is missing), and name it for redaction either way.
 */
import type { DynamoCall } from '../../infra/embedded/faults';
import { describe, expect, it } from 'vitest';
import { holdConsumer, profileItemsNaming, useTestEngine } from '../helpers/engine';

const visitor = 'a7-visitor-interrupted-device-1';
let armed = false;
let failed = 0;
/** While armed: the first BatchWriteItem deleting the visitor's items fails on all three of the SDK's attempts. */
const failing = (call: DynamoCall) => {
  const hit = armed && failed < 3 && call.table === undefined && call.operation === 'BatchWriteItem' && JSON.stringify(call.input).includes(`C#anon:${visitor}`);
  if (hit) failed++;
  return hit ? ('InternalServerError' as const) : undefined;
};
const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT', faults: { dynamo: failing } });

describe('the erasure of the visitor of a dropped identify, interrupted', () => {
  it('is finished by the retry: no item names the email', async () => {
    const id = 'a7-visitor-interrupted-1';
    const email = 'a7.visitor.interrupted@example.org';
    await t.api.sendAndSettle([
      { type: 'page', anonymousId: visitor, messageId: 'a7-vi-page-1', name: 'Pricing', properties: {} },
      { type: 'identify', anonymousId: visitor, messageId: 'a7-vi-newsletter-1', traits: { email } },
    ]);
    const late = holdConsumer(t.engine, (d) => d.userId === id);
    await t.api.send({ type: 'identify', userId: id, anonymousId: visitor, messageId: 'a7-vi-account-1', traits: { email } });
    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);

    armed = true;
    await late.release();
    await t.engine.settle();
    armed = false;

    expect(failed, 'the fault took').toBe(3);
    expect(await profileItemsNaming(t.engine, [email, `C#anon:${visitor}`]), 'items of the erased customer\'s visitor').toEqual([]);
  });
});
