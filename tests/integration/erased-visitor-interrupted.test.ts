/**
 * Issue 10 (the consumer's erasure of a dropped identify's visitor, interrupted; found by the seventh audit). The
 * consumer erases visitor V (tombstone, then deletes); a DynamoDB 500 on the deletes (past the SDK's retries) fails
 * the invocation. Proves that the retry takes V's incomplete tombstone (no `completedAt`) for an erasure to finish,
 * and resumes it from its start (`resumeFrom`): no item names the email or V afterwards.
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
