/**
 * An address's restriction records the events it stands for (`causes`), bounded: on real dynalite, denials of one
 * address written one after another (each replacing the last, ingest's way: a put carrying the old causes over) keep
 * every event's mark up to the bound; past it the hold stands for "many" (`*`) and stays so, whatever is written or
 * refused over it, so no undo of one event ever takes it back and the item never nears DynamoDB's 400 KB.
 * Found by the 28th hostile audit (300 unsubscribes of one address left 300 marks, without end).
 * A grant keeps the items it replaced (`replaced`, nested, so the undo of each open grant of a stack can be undone
 * again: the 35th hostile audit), also bounded: past 8 levels the stack is cut to the denial under it.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient, ProfileStore } from '../../../functions/profile';
import { eventMark, keptReplaced } from '../../../functions/profile/store';
import { ensureTable, profileTableDefinition, startDynalite, type LocalDynamo } from '../../../infra/embedded/dynamo';
import { emailAddressHash } from '../../../shared';

const TABLE = 'profiles';

describe("an address's restriction and its causes", () => {
  let dynamo: LocalDynamo;
  let store: ProfileStore;
  let doc: ReturnType<typeof documentClient>;

  beforeAll(async () => {
    dynamo = await startDynalite();
    await ensureTable(dynamo.client, profileTableDefinition(TABLE));
    doc = documentClient(dynamo.client);
    store = new ProfileStore(doc, TABLE);
  });
  afterAll(async () => {
    await dynamo.close();
  });

  /** Denial `n` of `address` for customer `id` as ingest writes it (its key a second after the last), caused by event `m<n>`. */
  const deny = (id: string, address: string, n: number) => {
    const key = new Date(Date.parse('2026-03-02T10:00:00.000Z') + n * 1000).toISOString();
    return store.putAddressConsent(id, 'email', { status: 'denied', source: 'Unsubscribed', at: key, key }, address, undefined, undefined, { sourceId: 'default', messageId: `${id}-m${n}` });
  };
  const causes = async (address: string) => {
    const { Item } = await doc.send(new GetCommand({ TableName: TABLE, Key: { PK: `AH#${emailAddressHash(address)}`, SK: 'K#email' }, ConsistentRead: true }));
    return [...((Item?.causes as Set<string> | undefined) ?? [])].sort();
  };

  it('keeps the marks of the events that replaced one another', async () => {
    const address = 'few@example.com';
    for (let n = 1; n <= 3; n++) await deny('few', address, n);
    expect(await causes(address)).toEqual([1, 2, 3].map((n) => eventMark({ sourceId: 'default', messageId: `few-m${n}` })).sort());
  });

  it('past 50 causes stands for many, and stays so when written over or refused over', async () => {
    const address = 'many@example.com';
    for (let n = 1; n <= 50; n++) await deny('many', address, n);
    expect(await causes(address)).toHaveLength(50);
    await deny('many', address, 51);
    expect(await causes(address)).toEqual(['*']);
    // A later denial replaces it and carries "many" over; an older one is refused and leaves it.
    await deny('many', address, 60);
    await deny('many', address, 0);
    expect(await causes(address)).toEqual(['*']);
  });

  it('a grant keeps what it replaced, nested; a stack of grants is cut at 8 levels and keeps the denial under it', () => {
    // Grants stack only when they race (each lifts a denial it read), so the stack is built here as the writes build it.
    const denial = { PK: 'AH#x', SK: 'K#email', status: 'denied', key: 'k0', causes: new Set(['m0']), v: 'd.0' };
    let top: Record<string, unknown> = denial;
    const chainOf = (item: Record<string, unknown>) => {
      const chain: string[] = [];
      for (let below = item.replaced as Record<string, unknown> | undefined; below !== undefined; below = below.replaced as Record<string, unknown> | undefined) chain.push(`${String(below.status)}:${String(below.key)}`);
      return chain;
    };
    for (let n = 1; n <= 30; n++) {
      top = { PK: 'AH#x', SK: 'K#email', status: 'granted', key: `k${n}`, v: `g${n}.0`, replaced: keptReplaced(top) };
      if (n === 2) expect(chainOf(top)).toEqual(['granted:k1', 'denied:k0']);
    }
    expect(chainOf(top)).toEqual([...Array.from({ length: 7 }, (_, i) => `granted:k${29 - i}`), 'denied:k0']);
    // No denial at or under the cut: nothing kept past it.
    const grants = { PK: 'AH#x', SK: 'K#email', status: 'granted', key: 'a', replaced: { status: 'granted', key: 'b' } };
    let only: Record<string, unknown> = grants;
    for (let n = 1; n <= 12; n++) only = { status: 'granted', key: `c${n}`, replaced: keptReplaced(only) };
    expect(chainOf(only)).toHaveLength(7);
    expect(chainOf(only).every((level) => level.startsWith('granted'))).toBe(true);
  });
});
