/**
 * Found by the audit of issue 10 ("erasure removes everything": every item of the customer, visitor ids included).
 * A customer links at most 100 visitor ids (PROFILE_LIMITS.anonymousIds); a later visitor "keeps a visitor
 * profile of its own, erasable by that id" (README, Customer profiles). But the only record that the
 * 101st visitor is this person is the identify on the customer's timeline (userId + anonymousId), which
 * the erasure deletes, and erasure itself does not look there: after DELETE answers, the visitor profile
 * (with what the person typed before logging in, here their email) stays, and nobody can find it any more.
 * A heavy user over years (devices, cleared cookies) reaches 100 visitor ids without any hostile sender.
 * Fixed: erasure also reaches the visitor ids the customer's timeline links to them. Since then the newest visitor is
 * listed and the oldest leaves the list (still linked, marked in the customer's partition: `markEvicted`); the one
 * off the list here is the first.
 */
import { describe, expect, it } from 'vitest';
import { PROFILE_LIMITS } from '../../functions/profile/limits';
import { profileItemsNaming, useTestEngine } from '../helpers/engine';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT' });

describe('erasure of a customer past the visitor-id cap', () => {
  it('also erases the visitor profiles the customer identified from', async () => {
    const ID = 'aud-vcap-7771';
    const visitors = Array.from({ length: PROFILE_LIMITS.anonymousIds + 1 }, (_, i) => `aud-vcap-v${String(i).padStart(3, '0')}`);
    const late = visitors[0]!;
    // The first visitor (the oldest, off the list once the 101st is linked) typed their email into a newsletter box before logging in.
    await t.api.sendAndSettle({ type: 'identify', anonymousId: late, traits: { email: 'aud.vcap.7771@example.org' } });
    for (let i = 0; i < visitors.length; i += 50) {
      await t.api.sendAndSettle(visitors.slice(i, i + 50).map((v) => ({ type: 'identify', userId: ID, anonymousId: v, traits: { plan: 'pro' } })));
    }
    expect((await t.api.customer(ID)).anonymousIds).not.toContain(late);

    expect((await t.api.del(`/v1/customers/${ID}`)).status).toBe(200);
    await t.engine.settle();

    expect((await t.api.get(`/v1/customers/anon:${late}`)).status).toBe(404);
    expect(await profileItemsNaming(t.engine, [late, 'aud.vcap.7771@example.org'])).toEqual([]);
    expect(t.engine.bus.log.filter((e) => JSON.stringify(e).includes('aud.vcap.7771@example.org'))).toEqual([]);
  }, 120_000);
});
