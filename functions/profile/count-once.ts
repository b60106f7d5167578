import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** How many recent change ids a counter item keeps (a list, oldest first): ~40 KB of ids. */
export const COUNTED_RECENT_MAX = 1000;
const RECENT = 'countedRecent';
const COUNTING = 'counting';

/**
 * Add `counters` to the counter item `key` exactly once for change `id`, across crashes, redeliveries and
 * concurrent writers, without a transaction (dynalite has none):
 * 1. add the counters and put `id` in the item's set of changes being counted, unless `id` is in that set or
 *    among the recently counted ids;
 * 2. `mark` the change counted where it is recorded (clear its pending flag);
 * 3. move `id` from the set to the list of recently counted ids, dropping the oldest beyond COUNTED_RECENT_MAX.
 * A crash after (1) leaves `id` in the set for as long as the change stays pending, so its redelivery, however
 * late, does not count it again. A writer that read the change pending before another writer's (2) and runs
 * its (1) after that writer's (3) finds `id` among the recent ones (removing it at once let it count twice).
 * Ids must be unique per change and carry no customer data (a random id, or a hash).
 */
export async function countOnce(doc: DynamoDBDocumentClient, tableName: string, key: Record<string, unknown>, id: string, counters: Record<string, number>, mark: () => Promise<void>, extraSet: Record<string, unknown> = {}): Promise<void> {
  const names: Record<string, string> = { '#counting': COUNTING, '#recent': RECENT };
  const values: Record<string, unknown> = { ':ids': new Set([id]), ':id': id };
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
        ConditionExpression: '(attribute_not_exists(#counting) OR NOT contains(#counting, :id)) AND (attribute_not_exists(#recent) OR NOT contains(#recent, :id))',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
  await mark();
  await doc.send(
    new UpdateCommand({
      TableName: tableName,
      Key: key,
      UpdateExpression: 'DELETE #counting :ids SET #recent = list_append(if_not_exists(#recent, :none), :list)',
      ExpressionAttributeNames: { '#counting': COUNTING, '#recent': RECENT },
      ExpressionAttributeValues: { ':ids': new Set([id]), ':none': [], ':list': [id] },
    }),
  );
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: key,
        UpdateExpression: 'REMOVE #recent[0]',
        ConditionExpression: 'size(#recent) > :max',
        ExpressionAttributeNames: { '#recent': RECENT },
        ExpressionAttributeValues: { ':max': COUNTED_RECENT_MAX },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}
