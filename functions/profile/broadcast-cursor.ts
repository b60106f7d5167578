import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PROFILE_TABLE_LAYOUT as L } from '../../shared';
import type { SegmentStore } from './segment-store';

/**
 * A broadcast's page cursors (functions/broadcasts/store.ts keeps them; erasure rewinds them here).
 *
 * | item    | PK               | SK                     |
 * |---------|------------------|------------------------|
 * | cursor  | `B#<broadcast>`  | `K#<page>`             | where the page after page `page` starts: `cursor`, naming `customerId` |
 * | pointer | `C#<customerId>` | `BK#<broadcast>#<page>`| that cursor, in the partition of the customer it names |
 *
 * A cursor names the last customer a page read. It is kept in the table, not in the execution's state (Step
 * Functions history, the embedded engine's journal: neither can be rewritten), and erasure of the customer it
 * names rewinds it to the customer read before them, which resumes the listing at the same place.
 */
export interface PageCursor {
  phase: 'members' | 'deferred';
  cursor: string;
  /** The customer the cursor names (the last one the page read). */
  customerId: string;
  /** The segment listed (`members`). */
  segment?: string;
}

const CURSOR_PREFIX = 'K#';
/** The sort key prefix of a cursor's pointer in the named customer's partition (`BK#<broadcast>#<page>`). */
export const BROADCAST_CURSOR_POINTER_PREFIX = 'BK#';
/** The broadcast's deferred recipients (`B#<broadcast>` / `D#<customerId>`, functions/broadcasts/store.ts). */
export const BROADCAST_DEFERRED_PREFIX = 'D#';

export const broadcastCursorKey = (broadcastId: string, page: number) => ({ [L.partitionKey]: `B#${broadcastId}`, [L.sortKey]: `${CURSOR_PREFIX}${page}` });
export const broadcastCursorPointerKey = (broadcastId: string, page: number, customerId: string) => ({
  [L.partitionKey]: `C#${customerId}`,
  [L.sortKey]: `${BROADCAST_CURSOR_POINTER_PREFIX}${broadcastId}#${page}`,
});

/** The broadcast and page a pointer's sort key names (`BK#<broadcast>#<page>`). */
export function parseCursorPointer(sortKey: string): { broadcastId: string; page: number } | undefined {
  if (!sortKey.startsWith(BROADCAST_CURSOR_POINTER_PREFIX)) return undefined;
  const rest = sortKey.slice(BROADCAST_CURSOR_POINTER_PREFIX.length);
  const at = rest.lastIndexOf('#');
  const page = Number(rest.slice(at + 1));
  return at > 0 && Number.isInteger(page) ? { broadcastId: rest.slice(0, at), page } : undefined;
}

/** Page cursors of broadcasts, in the profile table. */
export class BroadcastCursors {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly segments: SegmentStore,
  ) {}

  async get(broadcastId: string, page: number): Promise<PageCursor | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: broadcastCursorKey(broadcastId, page), ConsistentRead: true }));
    if (!Item) return undefined;
    return { phase: Item.phase as PageCursor['phase'], cursor: Item.cursor as string, customerId: Item.customerId as string, ...(typeof Item.segment === 'string' && { segment: Item.segment }) };
  }

  /** Keep a cursor: its pointer first, so an erasure of the customer it names always finds it (or the writer's check finds the erasure). */
  async save(broadcastId: string, page: number, cursor: PageCursor): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { ...broadcastCursorPointerKey(broadcastId, page, cursor.customerId), itemType: 'broadcast-cursor-pointer' } }));
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { ...broadcastCursorKey(broadcastId, page), itemType: 'broadcast-cursor', ...cursor } }));
  }

  /**
   * Keep a cursor unless the customer it names is erased: erasure's writer half (write, then check). An erasure
   * that read the customer's partition before the pointer was written cannot rewind it; this check, after the
   * write, sees its tombstone and rewinds it here.
   */
  async saveUnlessErased(broadcastId: string, page: number, cursor: PageCursor, erased: (customerId: string) => Promise<boolean>): Promise<void> {
    await this.save(broadcastId, page, cursor);
    if (await erased(cursor.customerId)) await this.rewind(broadcastId, page, cursor.customerId, erased);
  }

  /** Forget a cursor and its pointer. */
  async drop(broadcastId: string, page: number): Promise<void> {
    const cursor = await this.get(broadcastId, page);
    if (!cursor) return;
    await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: broadcastCursorKey(broadcastId, page) }));
    await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: broadcastCursorPointerKey(broadcastId, page, cursor.customerId) }));
  }

  /** Forget every cursor of the broadcast (it has ended). */
  async dropAll(broadcastId: string): Promise<void> {
    for (const page of await this.pages(broadcastId)) await this.drop(broadcastId, page);
  }

  /** Page numbers of every cursor the broadcast keeps. */
  async pages(broadcastId: string): Promise<number[]> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :p)',
        ExpressionAttributeNames: { '#pk': L.partitionKey, '#sk': L.sortKey },
        ExpressionAttributeValues: { ':pk': `B#${broadcastId}`, ':p': CURSOR_PREFIX },
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []).map((item) => Number(String(item[L.sortKey]).slice(CURSOR_PREFIX.length)));
  }

  /**
   * The cursor of `page` no longer names `customerId` (being erased): it names the customer read before them
   * in the same listing (the segment's members, or the broadcast's deferred recipients) or, if none, it is
   * dropped (the listing starts at its beginning); either resumes where it was. Write, then check: if the
   * customer it now names is erased too (`erased`), it is rewound again. The pointer of `customerId` goes.
   */
  async rewind(broadcastId: string, page: number, customerId: string, erased: (customerId: string) => Promise<boolean>): Promise<void> {
    for (let named = customerId, hops = 0; hops < 100; hops++) {
      const cursor = await this.get(broadcastId, page);
      if (!cursor || cursor.customerId !== named) break;
      const before =
        cursor.phase === 'members'
          ? await this.segments.cursorBefore(cursor.segment ?? '', named)
          : await this.#deferredBefore(broadcastId, named);
      try {
        if (before) {
          await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { ...broadcastCursorPointerKey(broadcastId, page, before.customerId), itemType: 'broadcast-cursor-pointer' } }));
          await this.doc.send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: broadcastCursorKey(broadcastId, page),
              UpdateExpression: 'SET #cursor = :cursor, customerId = :to',
              ConditionExpression: 'customerId = :from',
              ExpressionAttributeNames: { '#cursor': 'cursor' },
              ExpressionAttributeValues: { ':cursor': before.cursor, ':to': before.customerId, ':from': named },
            }),
          );
        } else {
          await this.doc.send(
            new DeleteCommand({ TableName: this.tableName, Key: broadcastCursorKey(broadcastId, page), ConditionExpression: 'customerId = :from', ExpressionAttributeValues: { ':from': named } }),
          );
        }
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        // Moved meanwhile (another rewind, or the page dropped it): that writer is responsible for it.
      }
      await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: broadcastCursorPointerKey(broadcastId, page, named) }));
      if (!before || !(await erased(before.customerId))) break;
      named = before.customerId;
    }
  }

  /** The deferred recipient read just before `customerId` (the broadcast's `D#` items are in customer id order). */
  async #deferredBefore(broadcastId: string, customerId: string): Promise<{ cursor: string; customerId: string } | undefined> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
        ExpressionAttributeNames: { '#pk': L.partitionKey, '#sk': L.sortKey },
        ExpressionAttributeValues: { ':pk': `B#${broadcastId}`, ':lo': BROADCAST_DEFERRED_PREFIX, ':hi': `${BROADCAST_DEFERRED_PREFIX}${customerId}` },
        ScanIndexForward: false,
        ConsistentRead: true,
        Limit: 2,
      }),
    );
    const item = (out.Items ?? []).find((i) => i[L.sortKey] !== `${BROADCAST_DEFERRED_PREFIX}${customerId}`);
    const before = item?.customerId;
    return typeof before === 'string' ? { cursor: before, customerId: before } : undefined;
  }
}
