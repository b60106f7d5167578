/**
 * `countOnce` counts a change once however often it is applied: repeated, after the recent ids' set rotated
 * (the last COUNTED_RECENT_MAX ids at least are remembered), and for ids an item written before digests holds.
 */
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COUNTED_RECENT_MAX, countOnce, documentClient } from '../../../functions/profile';
import { ensureTable, profileTableDefinition, startDynalite, type LocalDynamo } from '../../../infra/embedded/dynamo';
import { mapLimit } from '../../../shared';

const TABLE = 'profiles';
const noMark = async () => undefined;

describe('countOnce', () => {
  let dynamo: LocalDynamo;
  let doc: DynamoDBDocumentClient;

  beforeAll(async () => {
    dynamo = await startDynalite();
    await ensureTable(dynamo.client, profileTableDefinition(TABLE));
    doc = documentClient(dynamo.client);
  });
  afterAll(async () => {
    await dynamo.close();
  });

  const read = async (sk: string) => (await doc.send(new GetCommand({ TableName: TABLE, Key: { PK: 'COUNT', SK: sk }, ConsistentRead: true }))).Item ?? {};

  it('remembers at least the last COUNTED_RECENT_MAX ids across the rotation, concurrent writers included', async () => {
    // Prepare
    const key = { PK: 'COUNT', SK: 'rotation' };
    const ids = Array.from({ length: COUNTED_RECENT_MAX + 50 }, (_, i) => `change-${i}`);

    // Act: every id counted, 8 writers at once; then the last COUNTED_RECENT_MAX of them again, 8 at once.
    await mapLimit(ids, 8, (id) => countOnce(doc, TABLE, key, id, { n: 1 }, noMark));
    const afterFirst = await read('rotation');
    await mapLimit(ids.slice(-COUNTED_RECENT_MAX), 8, (id) => countOnce(doc, TABLE, key, id, { n: 1 }, noMark));

    // Assess
    expect((afterFirst.counted as Set<string>).size + (afterFirst.countedBefore as Set<string>).size).toBe(ids.length);
    const item = await read('rotation');
    expect(item.n).toBe(ids.length);
    expect(item.counting).toBeUndefined();
  });

  it('reads the ids an item written before digests holds: being counted, and the list of recent ones', async () => {
    // Prepare: as the earlier countOnce left it: `pending-1` counted but not settled, `done-1` settled.
    await doc.send(new PutCommand({ TableName: TABLE, Item: { PK: 'COUNT', SK: 'legacy', n: 2, counting: new Set(['pending-1']), countedRecent: ['done-1'] } }));
    const key = { PK: 'COUNT', SK: 'legacy' };

    // Act
    await countOnce(doc, TABLE, key, 'pending-1', { n: 1 }, noMark);
    await countOnce(doc, TABLE, key, 'done-1', { n: 1 }, noMark);
    await countOnce(doc, TABLE, key, 'new-1', { n: 1 }, noMark);

    // Assess
    const item = await read('legacy');
    expect(item.n).toBe(3);
    expect(item.counting).toBeUndefined();
  });

  it('keeps a fixed-size digest of an id, whatever its length', async () => {
    const key = { PK: 'COUNT', SK: 'digest' };
    await countOnce(doc, TABLE, key, `run-${'x'.repeat(300)}`, { n: 1 }, noMark);
    const item = await read('digest');
    expect([...(item.counted as Set<string>)][0]).toHaveLength(16);
  });
});
