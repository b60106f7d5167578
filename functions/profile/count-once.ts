import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** How many recent change ids a counter item keeps (a list, oldest first): ~40 KB of ids. */
export const COUNTED_RECENT_MAX = 1000;
const RECENT = 'countedRecent';

/**
 * Add `counters` to the counter item `key` exactly once for change `id`, across crashes, redeliveries and
 * concurrent writers, without a transaction (dynalite has none):
 * 1. add the counters and append `id` to the item's list of recently counted ids, unless `id` is in it;
 * 2. `mark` the change counted where it is recorded (clear its pending flag);
 * 3. drop the oldest id once the list is longer than COUNTED_RECENT_MAX.
 * A crash before (1) counts on redelivery; one after (1) finds the id and does not. A writer that read the
 * change pending before another writer's (2) and runs its (1) later still finds the id: it stays until
 * COUNTED_RECENT_MAX later changes of this item (removing it at once, as a set would, let it count twice).
 * Ids must be unique per change and carry no customer data (a random id, or a hash).
 */
export async function countOnce(doc: DynamoDBDocumentClient, tableName: string, key: Record<string, unknown>, id: string, counters: Record<string, number>, mark: () => Promise<void>, extraSet: Record<string, unknown> = {}): Promise<void> {
  const names: Record<string, string> = { '#recent': RECENT };
  const values: Record<string, unknown> = { ':ids': [id], ':id': id, ':none': [] };
  const add = Object.entries(counters).map(([name, n], i) => {
    names[`#c${i}`] = name;
    values[`:c${i}`] = n;
    return `#c${i} :c${i}`;
  });
  const set = ['#recent = list_append(if_not_exists(#recent, :none), :ids)'];
  Object.entries(extraSet).forEach(([name, value], i) => {
    names[`#s${i}`] = name;
    values[`:s${i}`] = value;
    set.push(`#s${i} = :s${i}`);
  });
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: key,
        UpdateExpression: `${add.length > 0 ? `ADD ${add.join(', ')} ` : ''}SET ${set.join(', ')}`,
        ConditionExpression: 'attribute_not_exists(#recent) OR NOT contains(#recent, :id)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
  await mark();
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
