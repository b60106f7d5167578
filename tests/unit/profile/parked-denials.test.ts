/**
 * ProfileStore's parked denials (`parkDenial`, `parkedDenials`, `unparkDenials`): a denial received after an erasure
 * completed, kept beside the tombstone for the customer's new life. Proves that the parked item names nobody (no
 * userId, anonymousId or raw messageId, nothing but the denial and its times), that only the erasure it was parked
 * under reads it back (as an event of the id asked for), and that it goes once unparked.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient, ProfileStore } from '../../../functions/profile';
import { parkedMessageId, type Tombstone } from '../../../functions/profile/store';
import { ensureTable, profileTableDefinition, startDynalite, type LocalDynamo } from '../../../infra/embedded/dynamo';
import type { NormalisedEvent } from '../../../shared';

const TABLE = 'profiles';
const NOW = new Date('2026-03-02T10:00:00.000Z');
const tombstone: Tombstone = { erasedAt: '2026-03-01T10:00:00.000Z', completedAt: '2026-03-01T10:00:01.000Z', expires: Math.floor(NOW.getTime() / 1000) + 47 * 86_400, lifetimeDays: 47 };
const denial: NormalisedEvent = {
  specVersion: 1,
  type: 'track',
  messageId: 'unsub-ada@example.org',
  userId: 'ada',
  anonymousId: 'ada-device',
  event: 'Unsubscribed',
  name: 'ada lovelace',
  properties: { channel: 'email' },
  traits: {},
  context: { ip: '192.0.2.1' },
  timestamp: '2026-02-28T10:00:00.000Z',
  receivedAt: '2026-03-02T09:00:00.000Z',
  sourceId: 'default',
  precededBy: ['ada-signup'],
};

describe('ProfileStore parked denials', () => {
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

  it('keeps no id, reads back for its erasure and later ones, and goes once unparked', async () => {
    // Act
    await store.parkDenial('ada', tombstone, denial);
    await store.parkDenial('ada', tombstone, denial);

    // Assert: one item, naming nobody.
    const { Items = [] } = await dynamo.client.send(new ScanCommand({ TableName: TABLE }));
    expect(Items).toHaveLength(1);
    const text = JSON.stringify(Items);
    for (const needle of ['ada', '192.0.2.1', 'unsub-']) expect(text, needle).not.toContain(needle);
    const [parked] = await store.parkedDenials('ada', tombstone, NOW);
    expect(parked).toEqual({
      specVersion: 1,
      type: 'track',
      event: 'Unsubscribed',
      properties: { channel: 'email' },
      traits: {},
      context: {},
      timestamp: denial.timestamp,
      receivedAt: denial.receivedAt,
      sourceId: 'default',
      messageId: parkedMessageId(denial),
      userId: 'ada',
    });
    expect(await store.parkedDenials('ada', { ...tombstone, erasedAt: '2026-03-01T08:00:00.000Z' }, NOW), 'an earlier erasure').toEqual([]);
    // A later erasure of the id (erased again before any comeback folded it in): the denial still waits for the comeback.
    expect(await store.parkedDenials('ada', { ...tombstone, erasedAt: '2026-03-02T08:00:00.000Z' }, NOW), 'a later erasure').toEqual([parked]);
    expect(await store.parkedDenials('grace', tombstone, NOW), 'another id').toEqual([]);

    await store.unparkDenials('ada', [parked!]);
    expect(await store.parkedDenials('ada', tombstone, NOW)).toEqual([]);
  });
});
