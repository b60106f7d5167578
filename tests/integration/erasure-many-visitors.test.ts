/**
 * Found by the seventh audit of issue 10 ( erasure vs a hostile sender; "work per request is bounded", "erasure removes everything").
 *
 * Promise (README "Privacy: erasure"): erasure reaches every id of the customer, "and visitor ids past the profile's
 * cap of 100, found through the identify events on the customer's timeline that linked them"; a retried DELETE of an
 * interrupted erasure resumes it. ARCHITECTURE decision 9: work per request is bounded, whatever a sender sends.
 *
 * How it broke: a sender (hostile, or an SDK minting a new anonymousId per page view) sends ~1,600 identifies for
 * customer X, each with another anonymousId of 256 characters (the longest accepted). DELETE X tombstones X and the
 * 100 visitors on the profile, then, reading the timeline, the 1,500 more, and adds the whole list of ids reached
 * (`erasing`, ~420 KB) to every tombstone: DynamoDB (and dynalite) refuse an item over 400 KB, the UpdateItem fails,
 * and DELETE answers 500 — every time it is retried. X can never be erased: their profile (email) stays.
 * (Even below the limit, each of the N tombstones is rewritten with all N ids: N² bytes per erasure.)
 *
 * Was: functions/profile/store.ts `erase`: `for (const x of ids) ... ADD erasing :ids` (the full set on every
 * tombstone, unbounded in size).
 *
 * Fix: the erasure records each id it reached once, in its own item under the root's tombstone partition (`E#<hash>`,
 * before the id's tombstone); each tombstone carries only the root's hash (`erasingRoot`). The items go when the
 * erasure completes (before the root's tombstone is marked complete), so a retry finds them until then.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { profileItemsNaming, useTestEngine } from '../helpers/engine';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT' });

describe('DELETE of a customer a sender linked to many long visitor ids', () => {
  it('erases them', async () => {
    const id = 'a7-many-visitors-1';
    const email = 'a7.many.visitors@example.org';
    await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email } });
    const visitor = () => `v-${randomBytes(200).toString('hex')}`.slice(0, 256);
    const visitors: string[] = [];
    for (let batch = 0; batch < 4; batch++) {
      const some = Array.from({ length: 400 }, visitor);
      visitors.push(...some);
      await t.api.sendAndSettle(some.map((anonymousId) => ({ type: 'identify', userId: id, anonymousId, traits: {} })));
    }

    // An interrupted erasure is resumed by a retried DELETE: three tries.
    let res = await t.api.del(`/v1/customers/${id}`);
    for (let retry = 0; retry < 2 && res.status !== 200; retry++) res = await t.api.del(`/v1/customers/${id}`);
    expect(res.status, JSON.stringify(res.json).slice(0, 300)).toBe(200);
    expect(await profileItemsNaming(t.engine, [email, `C#${id}`]), 'items of the customer').toEqual([]);
    // The erasure's progress (one item per id reached) went with it: no item names a visitor, the first or the last.
    expect(await profileItemsNaming(t.engine, [visitors[0]!, visitors.at(-1)!]), 'items naming a visitor').toEqual([]);
  }, 120_000);
});
