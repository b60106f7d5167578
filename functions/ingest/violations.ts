import { createHash } from 'node:crypto';
import { DeleteCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { scanEach } from '../scan-each';
import { mapLimit, PROFILE_TABLE_LAYOUT, type Clock, type PlanMode, type PlanViolation } from '../../shared';

/**
 * One accepted event that broke the tracking plan of a `flag` source. It names
 * the source, the event and the fields, never a value or a customer id: the
 * list is for fixing senders and holds no personal data (erasure has nothing here).
 * The sender's messageId (which a sender may build from a customer id or an email)
 * is kept as `messageIdHash` only: the first 32 hex characters of the SHA-256 of
 * `<source>\n<messageId>` (`violationMessageHash`), which a sender can compute to find it.
 */
export interface ViolationRecord {
  receivedAt: string;
  sourceId: string;
  /** As recorded: the sender's messageId (stored and listed as its hash). */
  messageId: string;
  event: string;
  violations: PlanViolation[];
  /** The source's tracking plan mode when the event came: `flag` (accepted and applied as sent). Absent on records from before 2026-12: flag. */
  mode: PlanMode;
}

/** A violation as listed: the messageId as its hash (`violationMessageHash`). */
export type ListedViolation = Omit<ViolationRecord, 'messageId'> & { messageIdHash: string };

/** How a violation names its event: a hash of source and messageId (a messageId may hold a customer id or an email). */
export const violationMessageHash = (sourceId: string, messageId: string) => createHash('sha256').update(`${sourceId}\n${messageId}`).digest('hex').slice(0, 32);

/** Port: where flagged violations are recorded (the profile table, in AWS and in the embedded engine). */
export interface ViolationLog {
  /** Idempotent: a retried request records the same items again. */
  record(records: readonly ViolationRecord[]): Promise<void>;
  /** The most recent first, from the last `days` days. */
  recent(options: { limit: number; days: number }): Promise<ListedViolation[]>;
}

/** Partition prefix of the violation items; the ingest's IAM grant allows PutItem under it. */
export const VIOLATION_PARTITION_PREFIX = 'TPV#';
/** Write shards per day, so a flood of flagged events does not make one partition hot. */
const SHARDS = 8;
export const VIOLATION_RETENTION_DAYS = 30;
const DAY_MS = 86_400_000;

const day = (iso: string) => iso.slice(0, 10);
const shardOf = (hash: string) => Number.parseInt(hash.slice(0, 2), 16) % SHARDS;

/** A violation's key: PK `TPV#<day>#<shard>`, SK `<receivedAt>#<source>#<messageIdHash>`. */
const violationKey = (receivedAt: string, sourceId: string, messageIdHash: string) => ({
  [PROFILE_TABLE_LAYOUT.partitionKey]: `${VIOLATION_PARTITION_PREFIX}${day(receivedAt)}#${shardOf(messageIdHash)}`,
  [PROFILE_TABLE_LAYOUT.sortKey]: `${receivedAt}#${sourceId}#${messageIdHash}`,
});

/**
 * Rewrite the violation items recorded before the messageId was hashed (5e95bcb: the raw messageId in an attribute
 * and in the sort key, which a sender may build from an email or a customer id; erasure never looks at `TPV#`):
 * each is put in its hashed form (same TTL) and the old item deleted. Idempotent; returns how many it rewrote.
 * The embedded engine runs it once per data folder at start; in AWS it is a one-off (docs/operations.md), until
 * the items' TTL (30 days) has removed them all. A scan of the table, filtered to old `TPV#` items.
 */
export async function hashOldViolations(doc: DynamoDBDocumentClient, tableName: string): Promise<number> {
  const L = PROFILE_TABLE_LAYOUT;
  let rewritten = 0;
  const scan = {
    TableName: tableName,
    FilterExpression: 'begins_with(#pk, :prefix) AND attribute_exists(messageId) AND attribute_not_exists(messageIdHash)',
    ExpressionAttributeNames: { '#pk': L.partitionKey },
    ExpressionAttributeValues: { ':prefix': VIOLATION_PARTITION_PREFIX },
  };
  await scanEach(doc, scan, async (item) => {
    const { messageId, ...rest } = item;
    const sourceId = String(item.sourceId);
    const messageIdHash = violationMessageHash(sourceId, String(messageId));
    const key = violationKey(String(item.receivedAt), sourceId, messageIdHash);
    await doc.send(new PutCommand({ TableName: tableName, Item: { ...rest, ...key, messageIdHash } }));
    await doc.send(new DeleteCommand({ TableName: tableName, Key: { [L.partitionKey]: item[L.partitionKey], [L.sortKey]: item[L.sortKey] } }));
    rewritten++;
  });
  return rewritten;
}

/** The violation log in the single table: PK `TPV#<day>#<shard>`, SK `<receivedAt>#<source>#<messageIdHash>`, TTL'd after 30 days. */
export function dynamoViolationLog(doc: DynamoDBDocumentClient, tableName: string, clock: Clock): ViolationLog {
  const L = PROFILE_TABLE_LAYOUT;
  return {
    async record(records) {
      await mapLimit([...records], 16, ({ messageId, ...r }) => {
        const messageIdHash = violationMessageHash(r.sourceId, messageId);
        return doc.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              ...violationKey(r.receivedAt, r.sourceId, messageIdHash),
              itemType: 'tracking-plan-violation',
              ...r,
              messageIdHash,
              [L.ttlAttribute]: Math.ceil(new Date(r.receivedAt).getTime() / 1000) + VIOLATION_RETENTION_DAYS * 86_400,
            },
          }),
        );
      });
    },
    async recent({ limit, days }) {
      const now = clock.now().getTime();
      const nowSeconds = now / 1000;
      const out: ListedViolation[] = [];
      for (let d = 0; d < days && out.length < limit; d += 1) {
        const key = day(new Date(now - d * DAY_MS).toISOString());
        const shards = await mapLimit(
          Array.from({ length: SHARDS }, (_, s) => s),
          SHARDS,
          async (s) =>
            (
              await doc.send(
                new QueryCommand({
                  TableName: tableName,
                  KeyConditionExpression: '#pk = :pk',
                  ExpressionAttributeNames: { '#pk': L.partitionKey },
                  ExpressionAttributeValues: { ':pk': `${VIOLATION_PARTITION_PREFIX}${key}#${s}` },
                  ScanIndexForward: false,
                  Limit: limit,
                }),
              )
            ).Items ?? [],
        );
        const items = shards
          .flat()
          // TTL'd items are filtered on read (AWS deletes them late, dynalite never).
          .filter((item) => typeof item[L.ttlAttribute] !== 'number' || item[L.ttlAttribute] > nowSeconds)
          // Items from before the hash was kept carry the raw messageId: listed by its hash too.
          .map(({ receivedAt, sourceId, messageId, messageIdHash, event, violations, mode }) =>
            ({ receivedAt, sourceId, messageIdHash: typeof messageIdHash === 'string' ? messageIdHash : violationMessageHash(String(sourceId), String(messageId)), event, violations, mode: mode ?? 'flag' }) as ListedViolation,
          )
          .sort((a, b) => (a.receivedAt < b.receivedAt ? 1 : a.receivedAt > b.receivedAt ? -1 : 0));
        out.push(...items.slice(0, limit - out.length));
      }
      return out;
    },
  };
}
