/**
 * A broadcast's page cursor names the last customer its page read; erasing that customer rewinds it to the
 * one listed before them, so nothing names them and the listing resumes where it was. Both halves of the
 * erasure race on dynalite: erasure finding the cursor through its pointer, and a page keeping a cursor
 * after the erasure read the customer's partition (write, then check).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient, ProfileStore } from '../../../functions/profile';
import { BroadcastStore } from '../../../functions/broadcasts';
import { ensureTable, profileTableDefinition, startDynalite, type LocalDynamo } from '../../../infra/embedded/dynamo';
import { profileItemsOf } from '../../helpers/engine';

const TABLE = 'profiles';
const clock = { now: () => new Date('2026-03-02T10:00:00Z') };

describe('broadcast cursors and erasure', () => {
  let dynamo: LocalDynamo;
  let doc: DynamoDBDocumentClient;
  let profiles: ProfileStore;
  const erased = (id: string) => profiles.erasedNow(id, clock.now());
  const naming = async (id: string) => (await profileItemsOf(dynamo.client, TABLE)).filter((text) => text.includes(id));

  beforeAll(async () => {
    dynamo = await startDynalite();
    await ensureTable(dynamo.client, profileTableDefinition(TABLE));
    doc = documentClient(dynamo.client);
    profiles = new ProfileStore(doc, TABLE);
  });
  afterAll(async () => {
    await dynamo.close();
  });

  const members = async (segment: string, ids: string[]) => {
    for (const id of ids) await profiles.segments.change(id, segment, true, 1);
  };
  /** Page `page`'s cursor after listing `size` members from the start, as a page keeps it. */
  const pageCursor = async (broadcastId: string, segment: string, size: number) => {
    const listing = await profiles.segments.members(segment, size);
    const cursor = { phase: 'members' as const, cursor: listing.next!, customerId: listing.customers.at(-1)!, segment };
    await profiles.broadcastCursors.saveUnlessErased(broadcastId, 1, cursor, erased);
    return listing;
  };

  it('erasure rewinds a members cursor to the member before, and the listing resumes after the erased one', async () => {
    // Prepare
    await members('tag:m', ['m-a', 'm-b', 'm-c', 'm-d']);
    expect((await pageCursor('bm', 'tag:m', 2)).customers).toEqual(['m-a', 'm-b']);

    // Act
    await profiles.erase('m-b', clock);

    // Assess
    expect(await naming('m-b')).toEqual([]);
    const kept = await profiles.broadcastCursors.get('bm', 1);
    expect(kept).toMatchObject({ customerId: 'm-a', phase: 'members' });
    expect((await profiles.segments.members('tag:m', 10, kept!.cursor)).customers).toEqual(['m-c', 'm-d']);
  });

  it('erasure drops a cursor when nobody is listed before the erased one (the listing starts again)', async () => {
    // Prepare: m-x left before its turn came; the cursor names the first member.
    await members('tag:f', ['f-a', 'f-b']);
    await pageCursor('bf', 'tag:f', 1);

    // Act
    await profiles.erase('f-a', clock);

    // Assess
    expect(await profiles.broadcastCursors.get('bf', 1)).toBeUndefined();
    expect(await naming('f-a')).toEqual([]);
  });

  it('a page keeping a cursor after the erasure read the partition rewinds it itself', async () => {
    // Prepare: w-b is erased first (its partition read, nothing to rewind), while a page still lists it.
    await members('tag:w', ['w-a', 'w-b', 'w-c']);
    const listing = await profiles.segments.members('tag:w', 2);
    await profiles.erase('w-b', clock);

    // Act: the page keeps the cursor it read before the erasure.
    await profiles.broadcastCursors.saveUnlessErased('bw', 1, { phase: 'members', cursor: listing.next!, customerId: 'w-b', segment: 'tag:w' }, erased);

    // Assess
    expect(await naming('w-b')).toEqual([]);
    expect(await profiles.broadcastCursors.get('bw', 1)).toMatchObject({ customerId: 'w-a' });
  });

  it('a rewind past a customer erased too goes on to the one before them', async () => {
    // Prepare: r-b and r-c listed; r-b's erasure is under way (tombstoned, still a member) when r-c's rewind reads.
    await members('tag:r', ['r-a', 'r-b', 'r-c', 'r-d']);
    await pageCursor('br', 'tag:r', 3);
    await profiles.erase('r-b', clock, { between: () => profiles.erase('r-c', clock).then(() => undefined) });

    // Assess
    expect(await naming('r-b')).toEqual([]);
    expect(await naming('r-c')).toEqual([]);
    const kept = await profiles.broadcastCursors.get('br', 1);
    expect(kept).toMatchObject({ customerId: 'r-a' });
    expect((await profiles.segments.members('tag:r', 10, kept!.cursor)).customers).toEqual(['r-d']);
  });

  it('erasure rewinds a deferred cursor to the deferred recipient before', async () => {
    // Prepare
    const broadcasts = new BroadcastStore(doc, TABLE);
    for (const id of ['d-a', 'd-b', 'd-c']) await broadcasts.defer('bd', { customerId: id, due: '2026-03-02T12:00:00.000Z' });
    await profiles.broadcastCursors.saveUnlessErased('bd', 4, { phase: 'deferred', cursor: 'd-b', customerId: 'd-b' }, erased);

    // Act
    await profiles.erase('d-b', clock);

    // Assess
    expect(await naming('d-b')).toEqual([]);
    expect(await profiles.broadcastCursors.get('bd', 4)).toMatchObject({ phase: 'deferred', cursor: 'd-a', customerId: 'd-a' });
    expect((await broadcasts.deferred('bd', '2026-03-03T00:00:00.000Z', 10, 'd-a')).due.map((r) => r.customerId)).toEqual(['d-c']);
  });

  it('a rewind onto a customer erased meanwhile goes on to the one before them', async () => {
    // Prepare: e-b is erased, but a racing deferral wrote its D# item again (its writer has not undone it yet).
    const broadcasts = new BroadcastStore(doc, TABLE);
    for (const id of ['e-a', 'e-b', 'e-c']) await broadcasts.defer('be', { customerId: id, due: '2026-03-02T12:00:00.000Z' });
    await profiles.erase('e-b', clock);
    await broadcasts.defer('be', { customerId: 'e-b', due: '2026-03-02T12:00:00.000Z' });
    await profiles.broadcastCursors.saveUnlessErased('be', 2, { phase: 'deferred', cursor: 'e-c', customerId: 'e-c' }, erased);

    // Act
    await profiles.erase('e-c', clock);

    // Assess: rewound past e-c onto e-b, then past e-b (erased) onto e-a.
    expect(await profiles.broadcastCursors.get('be', 2)).toMatchObject({ customerId: 'e-a' });
    expect((await naming('BK#be#')).join()).not.toContain('e-b');
  });
});
