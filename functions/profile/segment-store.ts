import { createHash, randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PROFILE_TABLE_LAYOUT as L } from '../../shared';
import { BatchingCounter } from './count-once';
import { queryAll } from './store';
import { decodePageCursor, encodePageCursor } from './page-cursor';

/**
 * Segment membership and exact counts, in the profiles table (no transactions: dynalite has none).
 *
 * | item    | PK               | SK              | notes |
 * |---------|------------------|-----------------|-------|
 * | member  | `C#<customerId>` | `G#<segment>`   | `in`, `seq` (the profile's `segmentSeq` of the change that decided it), `pending` while its count is not settled; GSI1 `SEG#<segment>` / `<customerId>` while `in` |
 * | count   | `SEGS#<shard>`   | `<segment>`     | `n` members; `counting`, `counted`, `countedBefore`: changes being and lately counted (`countOnce`) |
 *
 * A count is read in one GetItem whatever the segment's size, and maintained as members come and go
 * (`change`), never by scanning. Members are listed in pages from GSI1 (eventually consistent in AWS).
 *
 * Exactly once, whatever crashes and redeliveries: a change is applied to the member item only if it is
 * newer (`seq`) than what decided it, and marks it `pending` with its delta and a random id; settling it counts
 * the delta once for that id (`countOnce`) and clears `pending`. Whoever finds a member `pending` settles it first.
 * The changes of one segment that settle at once in this process are counted together (`countManyOnce`: one write
 * adds them all, one forgets their ids), each as exactly as on its own.
 */
export interface SegmentCount {
  segment: string;
  count: number;
}

interface MemberItem {
  in: boolean;
  seq: number;
  pending?: { delta: number; id: string };
}

const memberKey = (customerId: string, segment: string) => ({ [L.partitionKey]: `C#${customerId}`, [L.sortKey]: `G#${segment}` });
const countKey = (segment: string) => ({ [L.partitionKey]: `SEGS#${createHash('sha1').update(segment).digest()[0]! % L.shards}`, [L.sortKey]: segment });
/** The sort key prefix of member items. */
export const MEMBER_PREFIX = 'G#';

/** A page cursor (the last key read), opaque to clients: one of this segment's member keys, or nothing. */
const encodeCursor = (key: Record<string, unknown>) => encodePageCursor(key);
const decodeCursor = (cursor: string, segment: string) =>
  decodePageCursor(cursor, (value) => {
    const key = value as Record<string, unknown>;
    const member = key[L.dueIndex.sortKey];
    if (key[L.dueIndex.partitionKey] !== `SEG#${segment}` || typeof member !== 'string' || key[L.partitionKey] !== `C#${member}` || key[L.sortKey] !== `G#${segment}`) return undefined;
    return { [L.partitionKey]: key[L.partitionKey], [L.sortKey]: key[L.sortKey], [L.dueIndex.partitionKey]: key[L.dueIndex.partitionKey], [L.dueIndex.sortKey]: key[L.dueIndex.sortKey] };
  });

export class InvalidCursorError extends Error {}

export class SegmentStore {
  /** Counts the changes of a segment that settle at once in this process together (one write, not one each). */
  readonly #counter: BatchingCounter;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {
    this.#counter = new BatchingCounter(doc, tableName);
  }

  /**
   * Record that `customerId` is (`into`) or is not a member of `segment` as of change `seq` (increasing per
   * customer), counting the change once. An older change than the one recorded does nothing.
   */
  async change(customerId: string, segment: string, into: boolean, seq: number): Promise<void> {
    // The common case without a read: the member flips (new, or the other way before) and nothing is pending.
    if (await this.#write(customerId, segment, into, seq, true)) return;
    for (;;) {
      const item = await this.#member(customerId, segment);
      if (item?.pending) {
        await this.#settle(customerId, segment, item.pending);
        continue;
      }
      if (item && item.seq >= seq) return;
      if (await this.#write(customerId, segment, into, seq, (item?.in ?? false) !== into)) return;
    }
  }

  /**
   * Write change `seq` to the member item if it is newer than what decided it and nothing is pending: as a flip
   * (`flips`: only if its `in` is the other way, or it is new; marked pending, then settled) or as the same
   * membership seen again (only `seq` moves). False when the conditions did not hold (read, then decide).
   */
  async #write(customerId: string, segment: string, into: boolean, seq: number, flips: boolean): Promise<boolean> {
    // A random id: the count item's set never holds a customer id, and a new life never reuses an old one.
    const pending = flips ? { delta: into ? 1 : -1, id: randomUUID() } : undefined;
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: memberKey(customerId, segment),
          UpdateExpression: `SET #in = :in, #seq = :seq, itemType = :type, #segment = :segment${pending ? ', #pending = :pending' : ''}${into ? ', #gpk = :gpk, #gsk = :gsk' : ' REMOVE #gpk, #gsk'}`,
          // A flip: in now, out (or no item) before; out now, in before. Not a flip: the same as before (no item = out).
          ConditionExpression: `(attribute_not_exists(#seq) OR #seq < :seq) AND attribute_not_exists(#pending) AND ${flips === into ? '(attribute_not_exists(#in) OR #in = :false)' : '#in = :true'}`,
          ExpressionAttributeNames: { '#in': 'in', '#seq': 'seq', '#segment': 'segment', '#pending': 'pending', '#gpk': L.dueIndex.partitionKey, '#gsk': L.dueIndex.sortKey },
          ExpressionAttributeValues: { ':in': into, ':seq': seq, ':type': 'segment-member', ':segment': segment, ...(flips === into ? { ':false': false } : { ':true': true }), ...(pending && { ':pending': pending }), ...(into && { ':gpk': `SEG#${segment}`, ':gsk': customerId }) },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
    if (pending) await this.#settle(customerId, segment, pending);
    return true;
  }

  /** Take the customer out of every segment (erasure, a customer joined into another), counting each once. */
  async leaveAll(customerId: string): Promise<string[]> {
    const left: string[] = [];
    for (const item of await this.#members(customerId)) {
      const segment = (item[L.sortKey] as string).slice(MEMBER_PREFIX.length);
      const member = item as unknown as MemberItem;
      // `change` settles a pending change first, then takes them out.
      if (member.in || member.pending?.delta === 1) left.push(segment);
      await this.change(customerId, segment, false, member.seq + 1);
    }
    return left;
  }

  /**
   * Delete the customer's member items (erasure, and a write undone for an erased customer), after `leaveAll`. Each is
   * deleted only while it is out of its segment with nothing pending: a member a racing writer put in (or left
   * pending) after `leaveAll` read the members is taken out, counted, first. Deleted while in, its count would keep
   * it for ever: the racing writer's own check would find no member left to take out.
   */
  async deleteMembers(customerId: string): Promise<void> {
    for (const item of await this.#members(customerId)) {
      const segment = (item[L.sortKey] as string).slice(MEMBER_PREFIX.length);
      for (;;) {
        try {
          await this.doc.send(
            new DeleteCommand({
              TableName: this.tableName,
              Key: memberKey(customerId, segment),
              ConditionExpression: '(attribute_not_exists(#in) OR #in = :false) AND attribute_not_exists(#pending)',
              ExpressionAttributeNames: { '#in': 'in', '#pending': 'pending' },
              ExpressionAttributeValues: { ':false': false },
            }),
          );
          break;
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
        const member = await this.#member(customerId, segment);
        if (member === undefined) break;
        // `change` settles a pending change first, then takes them out.
        await this.change(customerId, segment, false, member.seq + 1);
      }
    }
  }

  /** The segments the customer is a member of, sorted. */
  async segmentsOfCustomer(customerId: string): Promise<string[]> {
    return (await this.#members(customerId))
      .filter((item) => item.in === true)
      .map((item) => (item[L.sortKey] as string).slice(MEMBER_PREFIX.length))
      .sort();
  }

  /** A segment's member count (0 for one nobody ever entered). */
  async count(segment: string): Promise<number> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: countKey(segment), ConsistentRead: true, ProjectionExpression: 'n' }));
    return (Item?.n as number | undefined) ?? 0;
  }

  /** Every segment anyone ever entered, with its count, sorted by id (one query per shard). */
  async counts(): Promise<SegmentCount[]> {
    const shards = await Promise.all(
      Array.from({ length: L.shards }, (_, shard) =>
        queryAll(this.doc, {
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': L.partitionKey, '#n': 'n', '#sk': L.sortKey },
          ExpressionAttributeValues: { ':pk': `SEGS#${shard}` },
          ProjectionExpression: '#sk, #n',
          ConsistentRead: true,
        }),
      ),
    );
    return shards
      .flat()
      .map((item) => ({ segment: item[L.sortKey] as string, count: (item.n as number | undefined) ?? 0 }))
      .sort((a, b) => (a.segment < b.segment ? -1 : 1));
  }

  /** One page of a segment's members (customer ids, sorted), and the cursor of the next page if any. */
  async members(segment: string, limit: number, cursor?: string): Promise<{ customers: string[]; next?: string }> {
    const start = cursor === undefined ? undefined : decodeCursor(cursor, segment);
    if (cursor !== undefined && start === undefined) throw new InvalidCursorError(`cursor is not one this segment's listing returned`);
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: L.dueIndex.name,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': L.dueIndex.partitionKey },
        ExpressionAttributeValues: { ':pk': `SEG#${segment}` },
        Limit: limit,
        ...(start && { ExclusiveStartKey: start }),
      }),
    );
    const customers = (out.Items ?? []).map((item) => item[L.dueIndex.sortKey] as string);
    return { customers, ...(out.LastEvaluatedKey && customers.length === limit && { next: encodeCursor(out.LastEvaluatedKey) }) };
  }

  /**
   * The listing cursor of the member listed just before `customerId` (the key a page ending on that member
   * returns), or undefined when none is: resuming from it lists what resuming after `customerId` would,
   * without naming them (a broadcast's cursor, rewound when the customer it names is erased).
   */
  async cursorBefore(segment: string, customerId: string): Promise<{ cursor: string; customerId: string } | undefined> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: L.dueIndex.name,
        KeyConditionExpression: '#pk = :pk AND #sk < :member',
        ExpressionAttributeNames: { '#pk': L.dueIndex.partitionKey, '#sk': L.dueIndex.sortKey },
        ExpressionAttributeValues: { ':pk': `SEG#${segment}`, ':member': customerId },
        ScanIndexForward: false,
        Limit: 1,
      }),
    );
    const item = out.Items?.[0];
    if (!item) return undefined;
    const before = item[L.dueIndex.sortKey] as string;
    const key = { [L.partitionKey]: item[L.partitionKey], [L.sortKey]: item[L.sortKey], [L.dueIndex.partitionKey]: item[L.dueIndex.partitionKey], [L.dueIndex.sortKey]: before };
    return { cursor: encodeCursor(key), customerId: before };
  }

  async #member(customerId: string, segment: string): Promise<MemberItem | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: memberKey(customerId, segment), ConsistentRead: true }));
    return Item as MemberItem | undefined;
  }

  #members(customerId: string): Promise<Array<Record<string, unknown>>> {
    return queryAll(this.doc, {
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :p)',
      ExpressionAttributeNames: { '#pk': L.partitionKey, '#sk': L.sortKey },
      ExpressionAttributeValues: { ':pk': `C#${customerId}`, ':p': MEMBER_PREFIX },
      ConsistentRead: true,
    });
  }

  /**
   * Count a pending change once: (1) add it unless counted, (2) clear `pending`, (3) forget its id; with the other
   * changes of the segment settling at once in this process, (1) and (3) are one write for all (`BatchingCounter`).
   */
  async #settle(customerId: string, segment: string, pending: { delta: number; id: string }): Promise<void> {
    await this.#counter.count(countKey(segment), pending.id, { n: pending.delta }, async () => {
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: memberKey(customerId, segment),
            UpdateExpression: 'REMOVE #pending',
            ConditionExpression: '#pending.#id = :id',
            ExpressionAttributeNames: { '#pending': 'pending', '#id': 'id' },
            ExpressionAttributeValues: { ':id': pending.id },
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }, { itemType: 'segment-count' });
  }
}
