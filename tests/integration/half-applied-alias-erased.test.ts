/**
 * Issue 10 (a half-applied alias; found by the seventh audit). `alias {previousId: W, userId: X}`: the consumer
 * freezes W into X (and W's visitor records), then X's profile write fails on every attempt and the alias is
 * dead-lettered. Proves that the join is marked in X's partition before the freeze (`markLinks`) and that DELETE X
 * follows the mark to W, frozen into X (as DELETE of either id of a join erases both): no item names X afterwards.
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
