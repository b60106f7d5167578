/**
 * Audit 7 (issue 10, erasure vs a hostile sender; "work per request is bounded", "erasure removes everything").
 *
 * Promise (README "Privacy: erasure"): erasure reaches every id of the customer, "and visitor ids past the profile's
 * cap of 100, found through the identify events on the customer's timeline that linked them"; a retried DELETE of an
 * interrupted erasure resumes it. ARCHITECTURE decision 9: work per request is bounded, whatever a sender sends.
 *
 * How it breaks: a sender (hostile, or an SDK minting a new anonymousId per page view) sends ~1,600 identifies for
 * customer X, each with another anonymousId of 256 characters (the longest accepted). DELETE X tombstones X and the
 * 100 visitors on the profile, then, reading the timeline, the 1,500 more, and adds the whole list of ids reached
 * (`erasing`, ~420 KB) to every tombstone: DynamoDB (and dynalite) refuse an item over 400 KB, the UpdateItem fails,
 * and DELETE answers 500 — every time it is retried. X can never be erased: their profile (email) stays.
 * (Even below the limit, each of the N tombstones is rewritten with all N ids: N² bytes per erasure.)
 *
 * Cause: functions/profile/store.ts `erase`: `for (const x of ids) ... ADD erasing :ids` (the full set on every
 * tombstone, unbounded in size).
 *
 * Suggested fix: keep the erasure's progress in items of bounded size (e.g. one `erasing` item per id reached, under
 * the requested id's hashed tombstone partition, or chunks of the list), and have each tombstone point to the
 * erasure's root instead of carrying the whole list.
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
    for (let batch = 0; batch < 4; batch++) {
      await t.api.sendAndSettle(Array.from({ length: 400 }, () => ({ type: 'identify', userId: id, anonymousId: visitor(), traits: {} })));
    }

    // An interrupted erasure is resumed by a retried DELETE: three tries.
    let res = await t.api.del(`/v1/customers/${id}`);
    for (let retry = 0; retry < 2 && res.status !== 200; retry++) res = await t.api.del(`/v1/customers/${id}`);
    expect(res.status, JSON.stringify(res.json).slice(0, 300)).toBe(200);
    expect(await profileItemsNaming(t.engine, [email, `C#${id}`]), 'items of the customer').toEqual([]);
  }, 120_000);
});
