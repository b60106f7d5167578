/**
 * ProfileStore.undoErasedLifeWrites: what the consumer undoes when it drops an erased life's event (no new life has a
 * profile) whose earlier attempt may have written after the erasure read the partition. On real dynalite: the
 * event's timeline item goes; a listing under the address the event brings goes with its pointer when it is the
 * erased life's late write (written after the erasure, no `life`), even while a write could still be in flight; a
 * new life's listing on its way (`life` = that erasure's `erasedAt`, in flight) stays with its pointer.
 * Found by the 22nd hostile audit (an old-life listing written after the erasure outlived it; in virtual time the
 * integration test `failed-write-listing-after-erasure` lists it at the erasure's instant, so this case is here).
 */
import { createHash } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient, ProfileStore } from '../../../functions/profile';
import { timelineSortKey, type Tombstone } from '../../../functions/profile/store';
import { ensureTable, profileTableDefinition, startDynalite, type LocalDynamo } from '../../../infra/embedded/dynamo';
import { emailAddressHash, type NormalisedEvent } from '../../../shared';

const TABLE = 'profiles';
const ERASED_AT = '2026-03-02T10:00:00.000Z';
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

const identify = (id: string, email: string): NormalisedEvent => ({
  specVersion: 1,
  type: 'identify',
  messageId: `${id}-move`,
  userId: id,
  traits: { email },
  context: {},
  properties: {},
  timestamp: '2026-03-02T09:59:00.000Z',
  receivedAt: '2026-03-02T09:59:00.000Z',
  sourceId: 'default',
});

describe('ProfileStore.undoErasedLifeWrites', () => {
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

  /** The erased life's late writes for `id` moving to `<id>@example.com`, a minute after the erasure; the items naming the id after the undo, two minutes after it. */
  async function scenario(id: string, life?: string): Promise<string[]> {
    const email = `${id}@example.com`;
    const hash = emailAddressHash(email);
    const event = identify(id, email);
    const listedAt = '2026-03-02T10:01:00.000Z';
    await doc.send(new PutCommand({ TableName: TABLE, Item: { PK: `C#${id}`, SK: `AP#${hash}`, itemType: 'address-pointer' } }));
    await doc.send(new PutCommand({ TableName: TABLE, Item: { PK: `AH#${hash}`, SK: `H#${sha(id)}`, itemType: 'address-holder', id, forVersion: 3, listedAt, ...(life !== undefined && { life }) } }));
    await doc.send(new PutCommand({ TableName: TABLE, Item: { PK: `C#${id}`, SK: timelineSortKey(event), itemType: 'event', event } }));

    await store.undoErasedLifeWrites(id, event, { erasedAt: ERASED_AT, expires: 2_000_000_000, lifetimeDays: 30 } as Tombstone, new Date('2026-03-02T10:02:00.000Z'));

    const { Items = [] } = await dynamo.client.send(new ScanCommand({ TableName: TABLE }));
    return Items.filter((item) => JSON.stringify(item).includes(id) || JSON.stringify(item).includes(sha(id)))
      .map((item) => `${item.PK!.S}|${item.SK!.S}`.replace(hash, '<X>').replace(sha(id), '<id>'))
      .sort();
  }

  it("the erased life's listing written after the erasure goes with its pointer and the timeline item", async () => {
    expect(await scenario('late-old')).toEqual([]);
  });

  it("a new life's listing on its way stays with its pointer; the erased life's timeline item goes", async () => {
    expect(await scenario('new-life', ERASED_AT)).toEqual(['AH#<X>|H#<id>', 'C#new-life|AP#<X>']);
  });
});
