/**
 * Audit 5 (issue 10, the "came back" rule vs segments).
 *
 * Promise (README "Privacy: erasure"): while the tombstone lives, an event dated before the erasure (a late
 * one, a redelivery, an archive replay) is dropped; "a customer who really comes back gets a new, clean profile
 * from events dated after the erasure began and received after it completed; no other event reaches it".
 * README "Segments": members are the known customers whose profile is in the segment; counts are exact.
 *
 * How it breaks: a late event of the erased life (dated before the erasure) arrives after the customer came
 * back. The profile consumer drops it, as promised, but on the way (functions/profile/consumer.ts:246-250) it
 * calls `store.segments.leaveAll(customerId)` and `deleteMembers(customerId)` for the customer's id without
 * asking whether the profile it found is a new life (`current.rebornAfter`). Those calls are meant to take
 * out members an earlier attempt wrote for the erased life; here they take the new life out of every segment
 * (`tag:crm-gold`, its lifecycle stage, ...): counts drop, `GET /v1/segments/{id}/customers` no longer lists
 * them, and a broadcast to the segment skips them, while their profile still shows the tag. An event of the
 * erased life reached the new one. (The same holds for every dropped event: a stale redelivery, an archive
 * replay within the tombstone's life.)
 *
 * Suggested fix: in the drop branch, leave and delete members only when no live profile of a new life exists
 * (`current === undefined`, or `current.rebornAfter` is not this tombstone's `erasedAt`); for a new life,
 * a dropped event changes nothing.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';

describe('a late event of the erased life, after the customer came back', () => {
  let engine: Engine | undefined;
  afterAll(() => engine?.stop());

  it('is dropped without taking the new life out of its segments', async () => {
    engine = await startTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT' });
    const api = client(engine);
    const id = 'a5-late-evict-5512';
    const email = 'a5.late.evict.5512@example.org';
    const members = async () => ((await api.get('/v1/segments/tag:crm-gold/customers')).json as unknown as { customers: Array<{ id: string }> }).customers.map((c) => c.id);
    const count = async () => ((await api.get('/v1/segments/tag:crm-gold')).json as unknown as { count: number }).count;

    await api.sendAndSettle([{ type: 'identify', userId: id, messageId: `${id}-old`, traits: { email }, timestamp: new Date(Date.now() - 60_000).toISOString() }]);
    const erasureBegan = Date.now();
    expect((await api.del(`/v1/customers/${id}`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 20));
    // They come back, and a CRM marks them gold.
    await api.sendAndSettle([{ type: 'identify', userId: id, messageId: `${id}-new`, traits: { email, tags: ['crm-gold'] } }]);
    expect(await members()).toEqual([id]);
    expect(await count()).toBe(1);

    // A late event of the old life: dated before the erasure, dropped.
    const res = await api.sendAndSettle([{ type: 'track', userId: id, messageId: `${id}-late`, event: 'Product Viewed', properties: { productId: 'p-1' }, timestamp: new Date(erasureBegan - 5_000).toISOString() }]);
    expect(res.accepted).toEqual([`${id}-late`]);
    const profile = await api.customer(id);
    expect(profile.stats.eventCount, 'the late event was dropped, not applied').toBe(1);
    expect(profile.tags).toContain('crm-gold');

    // The new life is still a member of its segments.
    expect.soft(await members(), 'tag:crm-gold members after a dropped late event').toEqual([id]);
    expect.soft(await count(), 'tag:crm-gold count after a dropped late event').toBe(1);
    const stage = ((await api.get(`/v1/segments/lifecycle:${profile.lifecycleStage}/customers`)).json as unknown as { customers: Array<{ id: string }> }).customers.map((c) => c.id);
    expect(stage, `lifecycle:${profile.lifecycleStage} members after a dropped late event`).toContain(id);
  }, 60_000);
});
