import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PROFILE_TABLE_LAYOUT as L, type TopicDefault } from '../../shared';
import type { Broadcast } from '../../shared/broadcasts';
import { BROADCAST_DEFERRED_PREFIX } from '../profile/broadcast-cursor';
import { decodePageCursor, encodePageCursor } from '../profile/page-cursor';

/**
 * Broadcasts, kept in the profile table (single table):
 *
 * | item      | PK        | SK                 |
 * |-----------|-----------|--------------------|
 * | broadcast | `B#<id>`  | `BROADCAST`        | the definition, its status, the pages counted (`page`) and the counters |
 * | deferred  | `B#<id>`  | `D#<customerId>`   | a recipient the gateway deferred (quiet hours, frequency cap) until `due` |
 * | pointer   | `C#<customerId>` | `BD#<id>`   | the same deferral, in the customer's partition: erasure finds it there |
 *
 * The broadcast item is also in GSI1 (`GSI1PK = BCAST`, `GSI1SK = <createdAt>#<id>`): the list of broadcasts,
 * newest first, read from the index (`list`), never a scan.
 *
 * Page cursors are kept beside them (`K#<page>`, functions/profile/broadcast-cursor.ts), never in the execution's state.
 *
 * A recipient's claim is its message record (`C#<customerId>` / `M#broadcast:<id>#send`, see JourneyStore):
 * the gateway's conditional put, so a broadcast sends once per customer whatever runs it again. Counters are
 * added once per page (`countPage`: conditional on the page number), in the same write as the page's number.
 */
export type BroadcastStatus = 'scheduled' | 'running' | 'completed' | 'cancelled';

export interface BroadcastRecord {
  id: string;
  definition: Broadcast;
  /** Its topic's `default` (topics.yaml) when it was created: each recipient's send decides by it (absent: subscribed by default). */
  topicDefault?: TopicDefault;
  status: BroadcastStatus;
  createdAt: string;
  startedAt?: string;
  completedAt?: string;
  cancelledAt?: string;
  /** Pages counted so far (each page's counters are added once, with its number). */
  page: number;
  counters: Record<string, number>;
}

/** The counters a page adds: `recipients`, `sent`, `failed`, `deferred` (may be negative), `skipped.<reason>`. */
export type PageCounters = Record<string, number>;

export interface DeferredRecipient {
  customerId: string;
  due: string;
}

const RECORD_SK = 'BROADCAST';
/** The deferred recipients' sort key prefix: one layout with the cursors' rewind (functions/profile/broadcast-cursor.ts). */
const DEFERRED_PREFIX = BROADCAST_DEFERRED_PREFIX;
/** The sort key prefix of a deferral's pointer in the customer's partition (`BD#<broadcast>`). */
export const BROADCAST_DEFERRAL_PREFIX = 'BD#';
const COUNTER = /^(recipients|sent|failed|deferred|skipped\..+)$/;
const pk = (id: string) => `B#${id}`;
/** The list's partition in GSI1: every broadcast, by creation time. Broadcasts are few and created rarely: one partition. */
const LIST_PK = 'BCAST';

/** A list cursor (the last index key read), opaque to clients: one of the list's keys, or nothing. */
const encodeListCursor = (key: Record<string, unknown>) => encodePageCursor(key);
const decodeListCursor = (cursor: string) =>
  decodePageCursor(cursor, (value) => {
    const key = value as Record<string, unknown>;
    const sk = key[L.dueIndex.sortKey];
    const id = typeof sk === 'string' ? sk.slice(sk.lastIndexOf('#') + 1) : undefined;
    if (key[L.dueIndex.partitionKey] !== LIST_PK || id === undefined || key[L.partitionKey] !== pk(id) || key[L.sortKey] !== RECORD_SK) return undefined;
    return { [L.partitionKey]: key[L.partitionKey], [L.sortKey]: key[L.sortKey], [L.dueIndex.partitionKey]: LIST_PK, [L.dueIndex.sortKey]: sk };
  });

/** A list cursor this listing did not return. */
export class InvalidListCursorError extends Error {
  override readonly name = 'InvalidListCursorError';
}

export class BroadcastStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Create the broadcast unless one with its id exists; returns the one stored (`created`: this call made it). */
  async create(definition: Broadcast, now: Date, topicDefault?: TopicDefault): Promise<{ created: boolean; record: BroadcastRecord }> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            [L.partitionKey]: pk(definition.id),
            [L.sortKey]: RECORD_SK,
            [L.dueIndex.partitionKey]: LIST_PK,
            [L.dueIndex.sortKey]: `${now.toISOString()}#${definition.id}`,
            itemType: 'broadcast',
            id: definition.id,
            definition,
            ...(topicDefault !== undefined && { topicDefault }),
            status: 'scheduled',
            createdAt: now.toISOString(),
            page: 0,
          },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': L.partitionKey },
        }),
      );
      return { created: true, record: (await this.get(definition.id))! };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return { created: false, record: (await this.get(definition.id))! };
    }
  }

  /**
   * One page of the broadcasts, newest first, from the index (GSI1 `BCAST`), and the cursor of the next page if
   * any. The index is eventually consistent: a broadcast created a moment ago may be missing from it for a moment.
   */
  async list(limit: number, cursor?: string): Promise<{ broadcasts: BroadcastRecord[]; next?: string }> {
    const start = cursor === undefined ? undefined : decodeListCursor(cursor);
    if (cursor !== undefined && start === undefined) throw new InvalidListCursorError('cursor is not one this listing returned');
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: L.dueIndex.name,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': L.dueIndex.partitionKey },
        ExpressionAttributeValues: { ':pk': LIST_PK },
        ScanIndexForward: false,
        Limit: limit,
        ...(start && { ExclusiveStartKey: start }),
      }),
    );
    const ids = (out.Items ?? []).map((item) => (item[L.partitionKey] as string).slice('B#'.length));
    const broadcasts = (await Promise.all(ids.map((id) => this.get(id)))).filter((b): b is BroadcastRecord => b !== undefined);
    return { broadcasts, ...(out.LastEvaluatedKey && ids.length === limit && { next: encodeListCursor(out.LastEvaluatedKey) }) };
  }

  /** The broadcast, strongly consistent (a cancel is seen by the next recipient). */
  async get(id: string): Promise<BroadcastRecord | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { [L.partitionKey]: pk(id), [L.sortKey]: RECORD_SK }, ConsistentRead: true }));
    if (!Item) return undefined;
    const counters = Object.fromEntries(Object.entries(Item).filter(([key, value]) => COUNTER.test(key) && typeof value === 'number')) as Record<string, number>;
    return {
      id: Item.id as string,
      definition: Item.definition as Broadcast,
      ...(Item.topicDefault !== undefined && { topicDefault: Item.topicDefault as TopicDefault }),
      status: Item.status as BroadcastStatus,
      createdAt: Item.createdAt as string,
      ...(typeof Item.startedAt === 'string' && { startedAt: Item.startedAt }),
      ...(typeof Item.completedAt === 'string' && { completedAt: Item.completedAt }),
      ...(typeof Item.cancelledAt === 'string' && { cancelledAt: Item.cancelledAt }),
      page: (Item.page as number | undefined) ?? 0,
      counters,
    };
  }

  /** Move the broadcast from `from` to `to` (conditional on its status being one of `from`); whether it moved. */
  async transition(id: string, from: readonly BroadcastStatus[], to: BroadcastStatus, at: Date): Promise<boolean> {
    const stamp = { running: 'startedAt', completed: 'completedAt', cancelled: 'cancelledAt', scheduled: 'createdAt' }[to];
    const values: Record<string, string> = { ':to': to, ':at': at.toISOString() };
    from.forEach((status, i) => (values[`:f${i}`] = status));
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [L.partitionKey]: pk(id), [L.sortKey]: RECORD_SK },
          UpdateExpression: 'SET #s = :to, #stamp = :at',
          ConditionExpression: `#s IN (${from.map((_, i) => `:f${i}`).join(', ')})`,
          ExpressionAttributeNames: { '#s': 'status', '#stamp': stamp },
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * Complete a running broadcast, its last deferred recipient done. A recipient still counted `deferred` then
   * was erased meanwhile (erasure deletes their deferral, not the count): they move to `skipped.erased`, in
   * the same conditional write. Whether this call completed it.
   */
  async complete(id: string, at: Date): Promise<boolean> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const record = await this.get(id);
      if (record?.status !== 'running') return false;
      const left = record.counters.deferred ?? 0;
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { [L.partitionKey]: pk(id), [L.sortKey]: RECORD_SK },
            UpdateExpression: `SET #s = :completed, completedAt = :at, #deferred = :zero${left > 0 ? ' ADD #erased :left' : ''}`,
            ConditionExpression: '#s = :running AND (attribute_not_exists(#deferred) OR #deferred = :left)',
            ExpressionAttributeNames: { '#s': 'status', '#deferred': 'deferred', ...(left > 0 && { '#erased': 'skipped.erased' }) },
            ExpressionAttributeValues: { ':completed': 'completed', ':running': 'running', ':at': at.toISOString(), ':zero': 0, ':left': left },
          }),
        );
        return true;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    throw new Error(`broadcast ${id}: its deferred count kept changing while it completed`);
  }

  /**
   * Add a page's counters once: page `page` is counted only over page `page - 1`, in the same conditional
   * write as its number, so a page run again (a retry after a crash) adds nothing twice. Whether this call counted it.
   */
  async countPage(id: string, page: number, counters: PageCounters): Promise<boolean> {
    const names: Record<string, string> = { '#page': 'page' };
    const values: Record<string, number> = { ':page': page, ':prev': page - 1 };
    const adds = Object.entries(counters)
      .filter(([, n]) => n !== 0)
      .map(([name, n], i) => {
        names[`#c${i}`] = name;
        values[`:c${i}`] = n;
        return `#c${i} :c${i}`;
      });
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [L.partitionKey]: pk(id), [L.sortKey]: RECORD_SK },
          UpdateExpression: `SET #page = :page${adds.length > 0 ? ` ADD ${adds.join(', ')}` : ''}`,
          ConditionExpression: '#page = :prev',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const current = await this.get(id);
      if (current && current.page >= page) return false;
      throw new Error(`broadcast ${id}: page ${page} cannot be counted after page ${current?.page ?? 'none'}`, { cause: error });
    }
  }

  /**
   * Keep a deferred recipient (over an earlier deferral of theirs), and a pointer to it in the customer's
   * partition (`C#<customerId>` / `BD#<broadcast>`): erasure deletes the customer's partition, and the
   * pointer leads it to the deferral kept under the broadcast (ProfileStore.erase).
   */
  async defer(id: string, recipient: DeferredRecipient): Promise<void> {
    await this.doc.send(
      new PutCommand({ TableName: this.tableName, Item: { [L.partitionKey]: `C#${recipient.customerId}`, [L.sortKey]: `${BROADCAST_DEFERRAL_PREFIX}${id}`, itemType: 'broadcast-deferral', due: recipient.due } }),
    );
    await this.doc.send(
      new PutCommand({ TableName: this.tableName, Item: { [L.partitionKey]: pk(id), [L.sortKey]: `${DEFERRED_PREFIX}${recipient.customerId}`, itemType: 'broadcast-deferred', ...recipient } }),
    );
  }

  async undefer(id: string, customerId: string): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: { [L.partitionKey]: pk(id), [L.sortKey]: `${DEFERRED_PREFIX}${customerId}` } }));
    await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: { [L.partitionKey]: `C#${customerId}`, [L.sortKey]: `${BROADCAST_DEFERRAL_PREFIX}${id}` } }));
  }

  /**
   * A page of the deferred recipients due by `dueBy`, from `cursor` (a customer id; exclusive), and the
   * earliest due time among those read that are not due yet.
   */
  async deferred(id: string, dueBy: string, limit: number, cursor?: string): Promise<{ due: DeferredRecipient[]; later?: string; next?: string }> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :p)',
        ExpressionAttributeNames: { '#pk': L.partitionKey, '#sk': L.sortKey },
        ExpressionAttributeValues: { ':pk': pk(id), ':p': DEFERRED_PREFIX },
        ConsistentRead: true,
        Limit: limit,
        ...(cursor !== undefined && { ExclusiveStartKey: { [L.partitionKey]: pk(id), [L.sortKey]: `${DEFERRED_PREFIX}${cursor}` } }),
      }),
    );
    const items = (out.Items ?? []).map((item) => ({ customerId: item.customerId as string, due: item.due as string }));
    const later = items.filter((r) => r.due > dueBy).reduce<string | undefined>((min, r) => (min === undefined || r.due < min ? r.due : min), undefined);
    const last = out.LastEvaluatedKey?.[L.sortKey];
    return { due: items.filter((r) => r.due <= dueBy), ...(later !== undefined && { later }), ...(typeof last === 'string' && { next: last.slice(DEFERRED_PREFIX.length) }) };
  }
}
