/**
 * A repeated erasure of an id with no new life since (a DSAR tool's retry): its tombstone keeps when the first of
 * these erasures completed (`erasedSince`), so a denial received between the two DELETEs (a click on an old email's
 * one-click link, still on its way to the profile consumer) counts as received after the erasure and is parked for
 * the person's comeback (`receivedAfterErasure`), not dropped as the erased life's. An erasure of a new life (the
 * customer came back in between) starts afresh: what that life received is erased with it. Through the customer
 * API's DELETE, which knows whether the id came back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient, ProfileStore, receivedAfterErasure } from '../../../functions/profile';
import { createCustomerApi } from '../../../functions/profile/api';
import { emptyProfile } from '../../../functions/profile/apply';
import { ensureTable, profileTableDefinition, startDynalite, type LocalDynamo } from '../../../infra/embedded/dynamo';

const TABLE = 'profiles';

describe('ProfileStore: a repeated erasure remembers when the person was first erased', () => {
  let dynamo: LocalDynamo;
  let store: ProfileStore;
  let now = Date.parse('2026-03-02T10:00:00.000Z');
  const clock = { now: () => new Date(now), sleep: async (ms: number) => void (now += ms) };
  const at = (ms: number) => new Date(ms).toISOString();

  /** DELETE /v1/customers/{id}, as the customer API answers it. */
  const del = async (id: string) => (await createCustomerApi({ store, clock })({ method: 'DELETE', path: `/v1/customers/${id}`, query: new URLSearchParams() })).statusCode;
  beforeAll(async () => {
    dynamo = await startDynalite();
    await ensureTable(dynamo.client, profileTableDefinition(TABLE));
    store = new ProfileStore(documentClient(dynamo.client), TABLE);
  });
  afterAll(async () => {
    await dynamo.close();
  });

  it('erased again with no new life: the first completion is kept, through a third erasure too', async () => {
    expect(await del('ada')).toBe(200);
    const first = (await store.tombstone('ada', clock.now()))!;
    expect(first.erasedSince).toBeUndefined();
    const clickedAt = at(now + 60_000);
    now += 120_000;
    expect(await del('ada')).toBe(200);
    const second = (await store.tombstone('ada', clock.now()))!;
    expect(second.erasedAt > first.completedAt!).toBe(true);
    expect(second.erasedSince).toBe(first.completedAt);
    // The click received between the two: after the erasure, so parked, not dropped.
    expect(receivedAfterErasure({ receivedAt: clickedAt }, second)).toBe(true);
    expect(receivedAfterErasure({ receivedAt: at(Date.parse(first.erasedAt) - 1) }, second)).toBe(false);
    now += 120_000;
    expect(await del('ada')).toBe(200);
    expect((await store.tombstone('ada', clock.now()))!.erasedSince).toBe(first.completedAt);
  });

  it('erased again after the customer came back: a fresh erasure, nothing carried', async () => {
    now += 3_600_000;
    expect(await del('bob')).toBe(200);
    const first = (await store.tombstone('bob', clock.now()))!;
    // The comeback: a profile reborn after that erasure (as the consumer writes it).
    await store.put({ profile: emptyProfile('bob', at(now)), applied: [], outbox: [], version: 1, rebornAfter: first.erasedAt }, undefined);
    now += 120_000;
    expect(await del('bob')).toBe(200);
    const second = (await store.tombstone('bob', clock.now()))!;
    expect(second.erasedSince).toBeUndefined();
    expect(receivedAfterErasure({ receivedAt: at(Date.parse(first.completedAt!) + 1) }, second)).toBe(false);
  });
});
