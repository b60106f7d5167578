import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient, emptyProfile, ProfileStore } from '../../../functions/profile';
import { ensureTable, profileTableDefinition, startDynalite, type LocalDynamo } from '../../../infra/embedded/dynamo';

const TABLE = 'profiles';
const AT = '2026-01-01T00:00:00.000Z';
const LONG = 600_000;

describe('ProfileStore.nextWrite', () => {
  let dynamo: LocalDynamo;
  let store: ProfileStore;

  beforeAll(async () => {
    dynamo = await startDynalite();
    await ensureTable(dynamo.client, profileTableDefinition(TABLE));
    store = new ProfileStore(documentClient(dynamo.client), TABLE);
  });
  afterAll(async () => {
    await dynamo.close();
  });

  const put = (id: string, version: number, expected: number | undefined) => store.put({ profile: emptyProfile(id, AT), applied: [], outbox: [], version }, expected);

  it('wakes a waiter at the write of its customer, long before its timeout', async () => {
    // Prepare
    let woke = false;
    const waiting = store.nextWrite('ada', LONG).then(() => (woke = true));
    // Act: another customer's write, then this customer's.
    await put('grace', 1, undefined);
    await Promise.resolve();
    const wokeByOther = woke;
    await put('ada', 1, undefined);
    // Assess: resolved by the write (a timeout of 10 minutes would fail the test's 30 s limit).
    await waiting;
    expect(wokeByOther).toBe(false);
    expect(woke).toBe(true);
  });

  it('does not wake on a write that lost its version race, and still times out when nothing is written', async () => {
    let woke = false;
    const waiting = store.nextWrite('ada', 50).then(() => (woke = true));
    await expect(put('ada', 2, 7)).rejects.toThrow('changed concurrently');
    await Promise.resolve();
    expect(woke).toBe(false);
    await waiting;
    expect(woke).toBe(true);
  });
});
