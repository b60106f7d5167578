import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** How many recent change ids a counter item remembers at least (two string sets of up to this many 16-character digests). */
export const COUNTED_RECENT_MAX = 1000;
/** The ids being counted (a string set): digests, and before 2026-12-06 the ids themselves. */
const COUNTING = 'counting';
/** The latest counted ids (digests, a string set of at most COUNTED_RECENT_MAX), and the generation before them. */
const COUNTED = 'counted';
const COUNTED_BEFORE = 'countedBefore';
/** The list of recently counted ids (whole ids, oldest first) written before 2026-12-06: read until the first rotation drops it. */
const LEGACY_RECENT = 'countedRecent';
/** The attributes `countOnce` keeps on a counter item besides the counters (readers of the counters leave them out). */
export const COUNT_ONCE_ATTRIBUTES: readonly string[] = [COUNTING, COUNTED, COUNTED_BEFORE, LEGACY_RECENT];

/** What a counter item remembers of a change id: a 96-bit digest (16 characters, whatever the id's length). */
const digestOf = (id: string) => createHash('sha256').update(id).digest('base64url').slice(0, 16);

/**
 * Add `counters` to the counter item `key` exactly once for change `id`, across crashes, redeliveries and
 * concurrent writers, without a transaction (dynalite has none):
 * 1. add the counters and put `id` in the item's set of changes being counted, unless `id` is in that set or
 *    among the recently counted ids;
 * 2. `mark` the change counted where it is recorded (clear its pending flag);
 * 3. move `id` from the set to the recently counted ids: one write, or two every COUNTED_RECENT_MAX changes,
 *    when the full set of recent ids becomes the generation before (the one before that is dropped), so at
 *    least the last COUNTED_RECENT_MAX (at most twice that) are remembered.
 * A crash after (1) leaves `id` in the set for as long as the change stays pending, so its redelivery, however
 * late, does not count it again. A writer that read the change pending before another writer's (2) and runs
 * its (1) after that writer's (3) finds `id` among the recent ones (removing it at once let it count twice).
 * Ids must be unique per change and carry no customer data (a random id, or a hash); the item keeps a digest.
 * Items written before digests (the whole id in the set being counted, a list of recent ids) are read as well.
 */
export async function countOnce(doc: DynamoDBDocumentClient, tableName: string, key: Record<string, unknown>, id: string, counters: Record<string, number>, mark: () => Promise<void>, extraSet: Record<string, unknown> = {}): Promise<void> {
  const digest = digestOf(id);
  const names: Record<string, string> = { '#counting': COUNTING, '#counted': COUNTED, '#before': COUNTED_BEFORE, '#legacy': LEGACY_RECENT };
  const values: Record<string, unknown> = { ':ids': new Set([digest]), ':d': digest, ':id': id };
  const add = Object.entries(counters).map(([name, n], i) => {
    names[`#c${i}`] = name;
    values[`:c${i}`] = n;
    return `#c${i} :c${i}`;
  });
  const set = Object.entries(extraSet).map(([name, value], i) => {
    names[`#s${i}`] = name;
    values[`:s${i}`] = value;
    return `#s${i} = :s${i}`;
  });
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: key,
        UpdateExpression: `ADD ${[...add, '#counting :ids'].join(', ')}${set.length > 0 ? ` SET ${set.join(', ')}` : ''}`,
        // contains() of a missing attribute is false, as in DynamoDB.
        ConditionExpression: 'NOT contains(#counting, :d) AND NOT contains(#counted, :d) AND NOT contains(#before, :d) AND NOT contains(#counting, :id) AND NOT contains(#legacy, :id)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
  await mark();
  await settleId(doc, tableName, key, digest, id);
}

/** Step 3: the id leaves the set being counted (digest and, from an old attempt, the whole id) for the recent ones. */
async function settleId(doc: DynamoDBDocumentClient, tableName: string, key: Record<string, unknown>, digest: string, id: string): Promise<void> {
  const names = { '#counting': COUNTING, '#counted': COUNTED };
  const values = { ':both': new Set([digest, id]), ':ids': new Set([digest]), ':max': COUNTED_RECENT_MAX };
  for (;;) {
    try {
      await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key,
          UpdateExpression: 'DELETE #counting :both ADD #counted :ids',
          ConditionExpression: 'attribute_not_exists(#counted) OR size(#counted) < :max OR contains(#counted, :d)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ...values, ':d': digest },
        }),
      );
      return;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    // Full: it becomes the generation before (only while still full: two writers rotating at once must not drop a generation).
    try {
      await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key,
          UpdateExpression: 'SET #before = #counted, #counted = :ids DELETE #counting :both REMOVE #legacy',
          ConditionExpression: 'size(#counted) >= :max',
          ExpressionAttributeNames: { ...names, '#before': COUNTED_BEFORE, '#legacy': LEGACY_RECENT },
          ExpressionAttributeValues: values,
        }),
      );
      return;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}
