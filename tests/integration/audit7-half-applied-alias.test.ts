/**
 * Audit 7 (issue 10, erasure of a customer whose alias was half applied; the join of known ids, `claimKnown`).
 *
 * Promise (issue 10; README "Joining two known customers", "Privacy: erasure"): after DELETE answers no item names
 * the customer's id; "DELETE of either id erases both"; events for either id racing the alias are all kept.
 *
 * How it breaks: `alias {previousId: W, userId: X}`: the consumer freezes W (`mergedInto: X`, W's whole profile in
 * the record), then X's profile write fails on every attempt (DynamoDB 500s): the alias is dead-lettered. DELETE X
 * answers 200: X's profile does not list W yet and erasure only follows records X is frozen into, never those
 * frozen into X, so W is not reached; the erasure's redaction takes the dead letter away, so the alias never comes
 * back to undo or finish the join. W's frozen record (W's email), `anon:W`'s and the alias item `A#W` stay, naming
 * the erased X; W's own data can no longer be read or exported, and W's next event is routed to X and starts a
 * new profile under the erased customer's id (`GET /v1/customers/W` answers with `id: X`).
 *
 * Cause: functions/profile/consumer.ts `claimKnown` writes the freeze before the survivor's profile names the
 * joined id; functions/profile/store.ts `#reach` follows `#frozenInto` from the erased id only.
 *
 * Suggested fix: record the pending join in X's partition before freezing W (read by the eraser, which then
 * erases or unfreezes W), or unfreeze W when the alias is dropped/removed (e.g. redaction of a dead letter).
 */
import { describe, expect, it } from 'vitest';
import type { DynamoCall } from '../../infra/embedded/faults';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import { profileItemsNaming, useTestEngine } from '../helpers/engine';

const x = 'a7-zombie-survivor';
const w = 'a7-zombie-joined';
let armed = false;
let failed = 0;
/** While armed: every write of X's profile item fails (a DynamoDB 500 streak). */
const failing = (call: DynamoCall) => {
  const item = (call.input.Item ?? {}) as Record<string, { S?: string }>;
  const hit = armed && call.table === PROFILE_TABLE && call.operation === 'PutItem' && item.PK?.S === `C#${x}` && item.SK?.S === 'P';
  if (hit) failed++;
  return hit ? ('InternalServerError' as const) : undefined;
};
const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT', faults: { dynamo: failing } });

describe('DELETE of a customer whose alias froze another id and then failed', () => {
  it('leaves no item naming the erased customer', async () => {
    await t.api.sendAndSettle([
      { type: 'identify', userId: x, messageId: 'a7-zb-x', traits: { email: 'a7.zombie.x@example.org' } },
      { type: 'identify', userId: w, messageId: 'a7-zb-w', traits: { email: 'a7.zombie.w@example.org' } },
    ]);

    armed = true;
    await t.api.sendAndSettle({ type: 'alias', previousId: w, userId: x, messageId: 'a7-zb-alias' });
    armed = false;
    expect(failed, 'the fault took').toBeGreaterThan(0);

    expect((await t.api.del(`/v1/customers/${x}`)).status).toBe(200);
    await t.engine.settle();

    expect((await profileItemsNaming(t.engine, [`"${x}"`, `C#${x}"`])).map((item) => item.slice(0, 120)), 'items naming the erased customer').toEqual([]);
  });
});
