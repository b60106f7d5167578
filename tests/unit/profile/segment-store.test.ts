/**
 * `SegmentStore` keeps exact counts on dynalite whatever happens to the writers: a crash between any two
 * writes of a change (then a redelivery, which applies the change again), changes of one customer applied
 * in any order (EventBridge keeps none), the same change applied twice at once, and many customers
 * entering one segment concurrently.
 */
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../../functions/profile';
import { SegmentStore } from '../../../functions/profile/segment-store';
import { ensureTable, profileTableDefinition, startDynalite, type LocalDynamo } from '../../../infra/embedded/dynamo';
import { mapLimit } from '../../../shared';
import { dyingAfter } from '../../helpers/dying-client';

const TABLE = 'profiles';

/** A document client whose first count (settle's step 1) waits until `open()`: a slow Lambda between two of its calls. */
function stalledAtCount(doc: DynamoDBDocumentClient) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let reached!: () => void;
  const atGate = new Promise<void>((resolve) => (reached = resolve));
  let held = false;
  const client = new Proxy(doc, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver) as unknown;
      return async (command: never) => {
        if (!held && (command as unknown) instanceof UpdateCommand && String((command as UpdateCommand).input.UpdateExpression).startsWith('ADD #c0')) {
          held = true;
          reached();
          await gate;
        }
        return target.send(command);
      };
    },
  });
  return { client, atGate, open: () => open() };
}

describe('SegmentStore', () => {
  let dynamo: LocalDynamo;
  let doc: DynamoDBDocumentClient;
  let store: SegmentStore;

  beforeAll(async () => {
    dynamo = await startDynalite();
    await ensureTable(dynamo.client, profileTableDefinition(TABLE));
    doc = documentClient(dynamo.client);
    store = new SegmentStore(doc, TABLE);
  });
  afterAll(async () => {
    await dynamo.close();
  });

  // A flip writes the member (conditional: no read first), then settles in three writes (four when the counted ids rotate): 4-5 calls. A crash before each, and none.
  for (const allowed of [0, 1, 2, 3, 4, 5]) {
    it(`counts an entry and a leave once each when the writer dies after ${allowed} of its calls and the change is applied again`, async () => {
      const segment = `tag:crash-${allowed}`;
      await store.change('other', segment, true, 1);

      await new SegmentStore(dyingAfter(doc, allowed), TABLE).change('c', segment, true, 1).catch(() => undefined);
      await store.change('c', segment, true, 1);
      await store.change('c', segment, true, 1);
      expect(await store.count(segment)).toBe(2);
      expect((await store.members(segment, 10)).customers).toEqual(['c', 'other']);

      await new SegmentStore(dyingAfter(doc, allowed), TABLE).change('c', segment, false, 2).catch(() => undefined);
      await store.change('c', segment, false, 2);
      expect(await store.count(segment)).toBe(1);
      expect((await store.members(segment, 10)).customers).toEqual(['other']);
    });
  }

  it('a crashed change is finished by the next change of that customer, whichever it is', async () => {
    const segment = 'tag:finished-by-next';
    // Dies after writing the member (pending), before counting it.
    await new SegmentStore(dyingAfter(doc, 1), TABLE).change('c', segment, true, 1).catch(() => undefined);
    expect(await store.count(segment)).toBe(0);
    await store.change('c', segment, false, 2);
    expect(await store.count(segment)).toBe(0);
    await store.change('c', segment, true, 3);
    expect(await store.count(segment)).toBe(1);
  });

  it('changes of one customer applied in any order end as the newest says, counted once', async () => {
    const orders = [
      [1, 2, 3, 4],
      [4, 3, 2, 1],
      [2, 4, 1, 3],
      [3, 1, 4, 2],
    ];
    for (const [i, order] of orders.entries()) {
      const segment = `tag:order-${i}`;
      // seq 1 enter, 2 leave, 3 enter, 4 leave: the newest (4) says out.
      await Promise.all(order.map((seq) => store.change('c', segment, seq % 2 === 1, seq)));
      expect(await store.count(segment)).toBe(0);
      expect((await store.members(segment, 10)).customers).toEqual([]);
      await store.change('c', segment, true, 5);
      await store.change('c', segment, true, 3);
      expect(await store.count(segment)).toBe(1);
    }
  });

  it('the same change applied by three deliveries at once counts once', async () => {
    const segment = 'tag:triple';
    await Promise.all([1, 2, 3].map(() => store.change('c', segment, true, 7)));
    expect(await store.count(segment)).toBe(1);
  });

  it('200 customers entering at once and half of them leaving: exact counts, members listed in pages', async () => {
    const segment = 'lifecycle:active';
    const ids = Array.from({ length: 200 }, (_, i) => `m-${String(i).padStart(3, '0')}`);
    await Promise.all(ids.map((id) => store.change(id, segment, true, 1)));
    await Promise.all(ids.filter((_, i) => i % 2 === 1).map((id) => store.change(id, segment, false, 2)));
    expect(await store.count(segment)).toBe(100);
    const listed: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.members(segment, 30, cursor);
      listed.push(...page.customers);
      cursor = page.next;
      pages++;
    } while (cursor !== undefined);
    expect(listed).toEqual(ids.filter((_, i) => i % 2 === 0));
    expect(pages).toBe(4);
    expect(await store.counts()).toContainEqual({ segment, count: 100 });
  });

  it('leaveAll takes a customer out of every segment once, also when run twice at once', async () => {
    await store.change('leaver', 'tag:a', true, 1);
    await store.change('leaver', 'tag:b', true, 2);
    await store.change('leaver', 'tag:c', true, 3);
    await store.change('leaver', 'tag:c', false, 4);
    await Promise.all([store.leaveAll('leaver'), store.leaveAll('leaver')]);
    expect([await store.count('tag:a'), await store.count('tag:b'), await store.count('tag:c')]).toEqual([0, 0, 0]);
    expect(await store.segmentsOfCustomer('leaver')).toEqual([]);
  });

  it('a writer stalled before counting its pending change counts nothing once another writer settled it (hostile audit F3)', async () => {
    // A: writes the member (pending +1), then stalls before counting. B, a redelivery of the same change, finds it
    // pending and settles it; then an eraser takes the customer out. A resumes: its count must find the change counted.
    const stalled = stalledAtCount(doc);
    const a = store.change.bind(new SegmentStore(stalled.client, TABLE));
    const first = a('stall-1', 'tag:stall', true, 1);
    await stalled.atGate;
    await store.change('stall-1', 'tag:stall', true, 1);
    await store.leaveAll('stall-1');
    stalled.open();
    await first;
    expect(await store.count('tag:stall')).toBe(0);
    expect((await store.members('tag:stall', 10)).customers).toEqual([]);
  });

  it('a change counted just before a crash is not counted again by a redelivery that comes after 1,100 other changes', async () => {
    const segment = 'tag:late-redelivery';
    // Dies after writing the member and counting it, before clearing pending: the id stays in the set being counted.
    await new SegmentStore(dyingAfter(doc, 2), TABLE).change('late', segment, true, 1).catch(() => undefined);
    await mapLimit(Array.from({ length: 1100 }, (_, i) => `other-${i}`), 16, (id) => store.change(id, segment, true, 1));
    await store.change('late', segment, true, 1);
    expect(await store.count(segment)).toBe(1101);
  });

  it('deleting an erased customer\'s members takes out, counted, one a racing writer put in after leaveAll', async () => {
    // The eraser takes the customer out of every segment; a writer racing the erasure then puts them in (its check
    // of the tombstone comes later), and the eraser deletes the member items it found: the count must not keep them.
    await store.change('racer', 'tag:race-in', true, 1);
    await store.leaveAll('racer');
    await store.change('racer', 'tag:race-in', true, 5);
    await new SegmentStore(dyingAfter(doc, 1), TABLE).change('racer', 'tag:race-pending', true, 1).catch(() => undefined);
    expect(await store.count('tag:race-in')).toBe(1);

    await store.deleteMembers('racer');

    expect([await store.count('tag:race-in'), await store.count('tag:race-pending')]).toEqual([0, 0]);
    expect(await store.segmentsOfCustomer('racer')).toEqual([]);
    expect((await store.members('tag:race-in', 10)).customers).toEqual([]);
    // The racing writer's own check then finds the tombstone and leaves: nothing is left to count twice.
    await store.leaveAll('racer');
    expect(await store.count('tag:race-in')).toBe(0);
  });

  it('refuses a cursor it did not hand out', async () => {
    await expect(store.members('tag:a', 10, 'bm90LWEtY3Vyc29y')).rejects.toThrow(/cursor/);
  });
});
