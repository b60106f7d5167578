/**
 * An address's restriction records the events it stands for (`causes`), bounded: on real dynalite, denials of one
 * address written one after another (each replacing the last, ingest's way: a put carrying the old causes over) keep
 * every event's mark up to the bound; past it the hold stands for "many" (`*`) and stays so, whatever is written or
 * refused over it, so no undo of one event ever takes it back and the item never nears DynamoDB's 400 KB.
 * Found by the 28th hostile audit (300 unsubscribes of one address left 300 marks, without end).
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient, ProfileStore } from '../../../functions/profile';
import { eventMark } from '../../../functions/profile/store';
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
});
