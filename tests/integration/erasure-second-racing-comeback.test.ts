/**
 * Found by the seventh audit of issue 10 ( "erasure that is complete while events race it", for a customer who came back).
 *
 * Promise (README "Privacy: erasure"): "every writer ... writes, then reads the tombstone strongly consistently and
 * deletes what it wrote if the customer is erased. Either the writer sees the tombstone, or its write came before
 * the eraser's query, which deletes it." A customer who came back is a customer like any other: DELETE erases
 * their new life too.
 *
 * How it broke: customer X is erased (erasure 1). Later their comeback `identify` (new email) arrives; the profile
 * consumer reads no profile and erasure 1's tombstone, so it starts X's new life, and is slow to write it (a paused
 * Lambda, a slow DynamoDB call). Meanwhile X asks again to be erased: DELETE X (erasure 2) tombstones X anew, finds
 * no items yet and answers 200. Then the consumer's write lands (profile item `rebornAfter` = erasure 1), and its
 * check reads erasure 2's tombstone: it undoes its write, but the profile item's delete is conditional on
 * `attribute_not_exists(rebornAfter)`, so it fails silently. The new life's profile, email included, outlives
 * the DELETE that answered 200: GET answers 200 with it.
 *
 * Was: functions/profile/store.ts `undoWrites`: `sk === 'P'` deleted only without `rebornAfter` ("a profile begun
 * after the erasure is kept") — right for erasure 1's tombstone, wrong once a newer erasure's tombstone is the one
 * the writer found (functions/profile/consumer.ts `undoneIfErased` calls it when `tombstone.erasedAt !== rebornAfter`).
 *
 * Fix: `undoWrites` reads the customer's latest tombstone and deletes the profile item unless it was reborn after
 * that erasure (`attribute_not_exists(rebornAfter) OR rebornAfter <> :erasedAt`); consumer.ts is unchanged.
 */
import type { FinalizeRequestMiddleware } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { profileItemsNaming, useTestEngine } from '../helpers/engine';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT' });

describe('a second erasure racing the write of the new life', () => {
  it('leaves no profile of the customer', async () => {
    const id = 'a7-second-erasure-1';
    const newEmail = 'a7.second.erasure.new@example.org';
    await t.api.sendAndSettle({ type: 'identify', userId: id, messageId: `${id}-old`, traits: { email: 'a7.second.erasure.old@example.org' }, timestamp: new Date(Date.now() - 60_000).toISOString() });
    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);

    // The consumer's first write of the new life's profile is slow: held until released.
    let hit!: () => void;
    const reached = new Promise<void>((r) => (hit = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let held = false;
    const gate: FinalizeRequestMiddleware<object, object> = (next, context) => async (args) => {
      const input = args.input as { Item?: { PK?: { S?: string }; SK?: { S?: string } } };
      if (!held && context.commandName === 'PutItemCommand' && input.Item?.PK?.S === `C#${id}` && input.Item?.SK?.S === 'P') {
        held = true;
        hit();
        await released;
      }
      return next(args);
    };
    t.engine.dynamo.client.middlewareStack.add(gate as never, { step: 'finalizeRequest', name: 'a7SlowProfileWrite' });

    // The comeback, dated and received after erasure 1.
    await t.api.send({ type: 'identify', userId: id, messageId: `${id}-new`, traits: { email: newEmail } });
    await reached;

    // Erasure 2, while the new life's write is under way.
    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
    release();
    await t.engine.settle();

    const res = await fetch(`${t.engine.url}/v1/customers/${id}`);
    expect(res.status, 'GET after the second erasure').toBe(404);
    expect(await profileItemsNaming(t.engine, [id, newEmail]), 'items naming the twice-erased customer').toEqual([]);
  }, 30_000);
});
