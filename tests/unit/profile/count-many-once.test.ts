/**
 * Segment flips that settle at once are counted together (`BatchingCounter`, `countManyOnce`): one add and one settle
 * per batch instead of one each, and still exactly once per change whatever happens: a batch holding a change already
 * counted (a redelivery), a crash between the batched add and the marks, two processes settling the same changes,
 * more changes than a batch takes, and the recent ids rotating in the middle of a batch.
 */
import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchingCounter, COUNT_BATCH_MAX, COUNTED_RECENT_MAX, countManyOnce, countOnce, documentClient } from '../../../functions/profile';
import { SegmentStore } from '../../../functions/profile/segment-store';
import { PROFILE_TABLE_LAYOUT as L } from '../../../shared';
import { ensureTable, profileTableDefinition, startDynalite, type LocalDynamo } from '../../../infra/embedded/dynamo';
import { dyingAfter } from '../../helpers/dying-client';

const TABLE = 'profiles';

/**
 * A document client that records the input of every UpdateItem it sends (and which were refused: a condition failed);
 * `hold()` makes the next update of a counter item wait, once sent, until `open()`, and `memberCalls` counts the calls
 * on member items answered.
 */
function recording(doc: DynamoDBDocumentClient) {
  const updates: UpdateCommandInput[] = [];
  const refused: UpdateCommandInput[] = [];
  let gate: Promise<void> | undefined;
  let open = () => undefined as void;
  let reached = () => undefined as void;
  let memberCalls = 0;
  const client = new Proxy(doc, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver) as unknown;
      return async (command: never) => {
        const input = (command as { input: UpdateCommandInput }).input;
        const onCounter = String(input.Key?.PK).startsWith('SEGS#');
        if ((command as unknown) instanceof UpdateCommand) updates.push(input);
        if (onCounter && gate) {
          const held = gate;
          gate = undefined;
          reached();
          await held;
        }
        try {
          return (await target.send(command)) as unknown;
        } catch (error) {
          if (error instanceof ConditionalCheckFailedException) refused.push(input);
          throw error;
        } finally {
          if (String(input.Key?.PK).startsWith('C#')) memberCalls++;
        }
      };
    },
  });
  return {
    client,
    updates,
    refused,
    get memberCalls() {
      return memberCalls;
    },
    /** Hold the next counter update until `open()`; resolves once it is held. */
    hold: () =>
      new Promise<void>((resolve) => {
        reached = resolve;
        gate = new Promise<void>((release) => (open = release));
      }),
    open: () => open(),
  };
}

/** The counter items' updates among `updates`: their batched adds (many ids at once) and all of them. */
const onCounters = (updates: UpdateCommandInput[]) => updates.filter((u) => String(u.Key?.PK).startsWith('SEGS#'));
const isBatchedAdd = (u: UpdateCommandInput) => /ADD .*#g :ids/.test(String(u.UpdateExpression));
const batchSize = (u: UpdateCommandInput) => (u.ExpressionAttributeValues?.[':ids'] as Set<string>).size;

/** A document client whose calls fail (the process died) once a batched add has gone out. */
function dyingAfterBatchedAdd(doc: DynamoDBDocumentClient) {
  let dead = false;
  return new Proxy(doc, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver) as unknown;
      return async (command: never) => {
        if (dead) throw new Error('killed after the batched add');
        const out: unknown = await target.send(command);
        if ((command as unknown) instanceof UpdateCommand && isBatchedAdd((command as UpdateCommand).input)) dead = true;
        return out;
      };
    },
  });
}

/** A document client whose first batched add waits, once it went out, until `open()`: a process stalled before its marks. */
function stalledAfterBatchedAdd(doc: DynamoDBDocumentClient) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let reached!: () => void;
  const atGate = new Promise<void>((resolve) => (reached = resolve));
  let held = false;
  const client = new Proxy(doc, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver) as unknown;
      return async (command: never) => {
        const out: unknown = await target.send(command);
        if (!held && (command as unknown) instanceof UpdateCommand && isBatchedAdd((command as UpdateCommand).input)) {
          held = true;
          reached();
          await gate;
        }
        return out;
      };
    },
  });
  return { client, atGate, open: () => open() };
}

/** A segment's counter item's key, as SegmentStore's `countKey` makes it. */
const countKey = (segment: string) => ({ PK: `SEGS#${createHash('sha1').update(segment).digest()[0]! % L.shards}`, SK: segment });
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);

describe('counting flips in batches', () => {
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

  const counter = async (key: Record<string, unknown>) => (await doc.send(new GetCommand({ TableName: TABLE, Key: key, ConsistentRead: true }))).Item ?? {};

  it('60 customers entering one segment at once: an exact count from a few batched writes, not two each', async () => {
    // Prepare
    const segment = 'tag:batch-60';
    const { client, updates } = recording(doc);
    const writer = new SegmentStore(client, TABLE);
    const customers = ids('b60', 60);

    // Act
    await Promise.all(customers.map((c) => writer.change(c, segment, true, 1)));

    // Assess: one-by-one, each flip would take two counter updates (add, settle): 120.
    expect(await store.count(segment)).toBe(60);
    const counted = onCounters(updates);
    expect(counted.filter(isBatchedAdd).length).toBeGreaterThan(0);
    expect(counted.length).toBeLessThanOrEqual(20);
    expect((await store.members(segment, 100)).customers).toEqual(customers);
    expect((await counter(countKey(segment))).counting).toBeUndefined();
  });

  it('a batch holding a change already counted (a redelivery) counts the others once and that one not again', async () => {
    // Prepare: `late` entered and was counted, but its writer died before clearing pending (a redelivery will come).
    const segment = 'tag:batch-redelivery';
    await new SegmentStore(dyingAfter(doc, 2), TABLE).change('late', segment, true, 1).catch(() => undefined);
    expect(await store.count(segment)).toBe(1);
    const rec = recording(doc);
    const writer = new SegmentStore(rec.client, TABLE);
    const others = ids('redelivered-with', 9);
    // A first flip's count holds the counter while the redelivery and nine flips reach it: they are the next batch.
    const held = rec.hold();
    const first = writer.change('opener', segment, true, 1);
    await held;

    // Act: the redelivery settles `late`'s pending change in one batch with the nine new flips.
    const rest = Promise.all([writer.change('late', segment, true, 1), ...others.map((c) => writer.change(c, segment, true, 1))]);
    // Nine member writes, late's write (refused: pending) and read, and the opener's write.
    while (rec.memberCalls < 12) await new Promise((resolve) => setImmediate(resolve));
    rec.open();
    await Promise.all([first, rest]);

    // Assess: the batched add was refused, every change then counted on its own, `late` not again.
    expect(rec.refused.filter(isBatchedAdd).map(batchSize)).toEqual([10]);
    expect(await store.count(segment)).toBe(11);
    await Promise.all([writer.change('late', segment, true, 1), ...others.map((c) => writer.change(c, segment, true, 1))]);
    expect(await store.count(segment)).toBe(11);
    expect(await store.segmentsOfCustomer('late')).toEqual([segment]);
    expect((await counter(countKey(segment))).counting).toBeUndefined();
  });

  it('countManyOnce with one id counted before adds the others once, marks all, and leaves nothing being counted', async () => {
    // Prepare
    const key = { PK: 'COUNT', SK: 'many-redelivery' };
    await countOnce(doc, TABLE, key, 'seen', { n: 1 }, async () => undefined);
    const marked: string[] = [];
    const changes = ['seen', 'x', 'y', 'z'].map((id) => ({ id, counters: { n: 1 }, mark: async () => void marked.push(id) }));

    // Act
    const results = await countManyOnce(doc, TABLE, key, changes);
    const again = await countManyOnce(doc, TABLE, key, changes);

    // Assess
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(again.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    const item = await counter(key);
    expect(item.n).toBe(4);
    expect(item.counting).toBeUndefined();
    expect(marked.sort()).toEqual(['seen', 'seen', 'x', 'x', 'y', 'y', 'z', 'z']);
  });

  it('a change whose mark failed in a batch stays being counted: its caller fails, the others settle, its retry counts nothing', async () => {
    // Prepare
    const key = { PK: 'COUNT', SK: 'many-mark-fails' };
    const failing = { id: 'm-fails', counters: { n: 1 }, mark: () => Promise.reject(new Error('mark failed')) };
    const fine = ['m-1', 'm-2'].map((id) => ({ id, counters: { n: 1 }, mark: async () => undefined }));

    // Act
    const results = await countManyOnce(doc, TABLE, key, [failing, ...fine]);
    const item = await counter(key);
    await countManyOnce(doc, TABLE, key, [{ ...failing, mark: async () => undefined }]);

    // Assess
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(item.n).toBe(3);
    expect((item.counting as Set<string>).size).toBe(1);
    expect((item.counted as Set<string>).size).toBe(2);
    const after = await counter(key);
    expect(after.n).toBe(3);
    expect(after.counting).toBeUndefined();
  });

  it('counts of one id made at once are one change: counted and marked once, every caller answered', async () => {
    // Prepare
    const key = { PK: 'COUNT', SK: 'batcher-same-id' };
    const counter2 = new BatchingCounter(doc, TABLE);
    const marks: string[] = [];
    const count = (id: string) => counter2.count(key, id, { n: 1 }, async () => void marks.push(id));

    // Act: three deliveries of `same`, and `other`, in one turn of the event loop.
    await Promise.all([count('same'), count('same'), count('other'), count('same')]);

    // Assess
    expect((await counter(key)).n).toBe(2);
    expect(marks.sort()).toEqual(['other', 'same']);
  });

  it('a process dying between the batched add and the marks: the changes applied again count once', async () => {
    // Prepare
    const segment = 'tag:batch-crash';
    const customers = ids('crash', 12);

    // Act: the first process's batch is added, then it dies (no marks, no settle); the redelivery applies them again.
    const dying = new SegmentStore(dyingAfterBatchedAdd(doc), TABLE);
    const outcomes = await Promise.allSettled(customers.map((c) => dying.change(c, segment, true, 1)));
    const countedBeforeRetry = await store.count(segment);
    await Promise.all(customers.map((c) => store.change(c, segment, true, 1)));

    // Assess: the dead process's batch did count (so the retry had to find its ids), and nothing twice.
    expect(outcomes.some((o) => o.status === 'rejected')).toBe(true);
    expect(countedBeforeRetry).toBeGreaterThan(1);
    expect(await store.count(segment)).toBe(12);
    const item = await counter(countKey(segment));
    expect(item.counting).toBeUndefined();
  });

  it('a batch counts what a stalled process added but had not marked yet once, and the stalled one then settles', async () => {
    // Prepare: process A adds its batch, then stalls before its marks; process B gets the same changes redelivered.
    const segment = 'tag:batch-stall';
    const customers = ids('stall', 8);
    const stalled = stalledAfterBatchedAdd(doc);
    const a = new SegmentStore(stalled.client, TABLE);
    const b = new SegmentStore(doc, TABLE);

    // Act
    const first = Promise.all(customers.map((c) => a.change(c, segment, true, 1)));
    await stalled.atGate;
    await Promise.all(customers.map((c) => b.change(c, segment, true, 1)));
    await Promise.all(customers.slice(0, 4).map((c) => b.change(c, segment, false, 2)));
    stalled.open();
    await first;

    // Assess
    expect(await store.count(segment)).toBe(4);
    expect((await store.members(segment, 10)).customers).toEqual(customers.slice(4));
  });

  it('two processes settling the same segment at once, the same changes delivered to both, stay exact', async () => {
    // Prepare: two SegmentStores are two Lambda instances; customers 0-29 reach A, 10-39 reach B (10-29 both).
    const segment = 'lifecycle:race';
    const customers = ids('race', 40);
    const { client: ca, updates: ua } = recording(doc);
    const { client: cb, updates: ub } = recording(doc);
    const a = new SegmentStore(ca, TABLE);
    const b = new SegmentStore(cb, TABLE);

    // Act: everyone enters, then the odd ones leave, each change to its two processes at once.
    await Promise.all([...customers.slice(0, 30).map((c) => a.change(c, segment, true, 1)), ...customers.slice(10).map((c) => b.change(c, segment, true, 1))]);
    const odd = customers.filter((_, i) => i % 2 === 1);
    await Promise.all([...odd.map((c) => a.change(c, segment, false, 2)), ...odd.map((c) => b.change(c, segment, false, 2))]);

    // Assess
    expect(await store.count(segment)).toBe(20);
    expect((await store.members(segment, 50)).customers).toEqual(customers.filter((_, i) => i % 2 === 0));
    expect([...onCounters(ua), ...onCounters(ub)].filter(isBatchedAdd).length).toBeGreaterThan(0);
  });

  it(`more than COUNT_BATCH_MAX (${COUNT_BATCH_MAX}) flips at once: batches of at most that many, exact`, async () => {
    // Prepare
    const segment = 'rfm:batch-bound';
    const { client, updates } = recording(doc);
    const writer = new SegmentStore(client, TABLE);
    const customers = ids('bound', COUNT_BATCH_MAX * 3 + 7);

    // Act
    await Promise.all(customers.map((c) => writer.change(c, segment, true, 1)));

    // Assess
    expect(await store.count(segment)).toBe(customers.length);
    const adds = onCounters(updates).filter(isBatchedAdd);
    expect(Math.max(...adds.map(batchSize))).toBe(COUNT_BATCH_MAX);
    // DynamoDB takes expressions of at most 4 KB and 300 operators (functions, AND/OR/NOT, comparators).
    const condition = adds.map((u) => String(u.ConditionExpression)).sort((a, b) => b.length - a.length)[0]!;
    expect(condition.length).toBeLessThan(3000);
    expect(condition.match(/\b(contains|OR|AND|NOT)\b/g)!.length).toBeLessThan(250);
    await expect(countManyOnce(doc, TABLE, { PK: 'COUNT', SK: 'too-many' }, ids('x', COUNT_BATCH_MAX + 1).map((id) => ({ id, counters: { n: 1 }, mark: async () => undefined })))).rejects.toThrow(RangeError);
  });

  it('a batch crossing the rotation of the recent ids: at least COUNTED_RECENT_MAX remembered, at most that many recent', async () => {
    // Prepare: COUNTED_RECENT_MAX - 5 ids counted in batches (no rotation yet).
    const key = { PK: 'COUNT', SK: 'batch-rotation' };
    const change = (id: string) => ({ id, counters: { n: 1 }, mark: async () => undefined });
    const first = ids('r', COUNTED_RECENT_MAX - 5);
    for (let i = 0; i < first.length; i += COUNT_BATCH_MAX) await countManyOnce(doc, TABLE, key, first.slice(i, i + COUNT_BATCH_MAX).map(change));
    expect((await counter(key)).countedBefore).toBeUndefined();

    // Act: a batch of 12 finds room for 5 only, then every id counted so far is delivered again.
    const crossing = ids('crossing', 12);
    await countManyOnce(doc, TABLE, key, crossing.map(change));
    const item = await counter(key);
    const all = [...first, ...crossing];
    for (let i = 0; i < all.length; i += COUNT_BATCH_MAX) await countManyOnce(doc, TABLE, key, all.slice(i, i + COUNT_BATCH_MAX).map(change));
    await Promise.all(all.slice(-40).map((id) => countOnce(doc, TABLE, key, id, { n: 1 }, async () => undefined)));

    // Assess
    expect((item.counted as Set<string>).size).toBe(12);
    expect((item.countedBefore as Set<string>).size).toBe(COUNTED_RECENT_MAX - 5);
    const after = await counter(key);
    expect(after.n).toBe(all.length);
    expect(after.counting).toBeUndefined();
    expect((after.counted as Set<string>).size).toBeLessThanOrEqual(COUNTED_RECENT_MAX);
  });
});
