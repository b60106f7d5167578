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
 * 3. move `id` from the set to the recently counted ids: one write, or two about every COUNTED_RECENT_MAX changes,
 *    when the full set of recent ids becomes the generation before (the one before that is dropped), so at
 *    least the last COUNTED_RECENT_MAX (at most twice that) are remembered (`settleIds`).
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
  const { add, set } = counterUpdate(Object.entries(counters), extraSet, names, values);
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
  await settleIds(doc, tableName, key, [digest], [id]);
}

/** Most changes one batched count takes: its condition checks five places per id (10 operators, ~110 characters), well inside DynamoDB's 300 operators and 4 KB per expression. */
export const COUNT_BATCH_MAX = 20;

/**
 * The ADD clauses of `counters` and the SET clauses of `extraSet` of a counter item's update, their names and values
 * put into `names` and `values` (`#c<i>`/`:c<i>`, `#s<i>`/`:s<i>`).
 */
function counterUpdate(counters: ReadonlyArray<readonly [string, number]>, extraSet: Record<string, unknown>, names: Record<string, string>, values: Record<string, unknown>): { add: string[]; set: string[] } {
  const add = counters.map(([name, n], i) => {
    names[`#c${i}`] = name;
    values[`:c${i}`] = n;
    return `#c${i} :c${i}`;
  });
  const set = Object.entries(extraSet).map(([name, value], i) => {
    names[`#s${i}`] = name;
    values[`:s${i}`] = value;
    return `#s${i} = :s${i}`;
  });
  return { add, set };
}

/** A change to count once (`countOnce`'s `id`, `counters` and `mark`). */
export interface CountChange {
  id: string;
  counters: Record<string, number>;
  mark: () => Promise<void>;
}

/**
 * `countOnce` for several changes of one counter item at once (distinct ids, at most COUNT_BATCH_MAX), in fewer writes:
 * 1. one write adds all their counters and puts all their ids in the set being counted, unless any of them is in that
 *    set or among the recently counted ids (a redelivery, a crash's retry, another writer settling the same change):
 *    then nothing is added, and each change is counted by `countOnce` on its own, whose steps tell for each;
 * 2. each change is marked counted (`mark`, at once);
 * 3. one write moves the ids of those marked to the recent ones (two when they rotate, see `settleIds`). An id whose
 *    mark failed stays in the set being counted, as after a crash: its change is still pending, and its redelivery
 *    finds it there however late.
 * Step 1 is one conditional write of the item, so each id is added once or not at all, as by `countOnce`'s step 1;
 * the rest is `countOnce`'s. Resolves with each change's outcome, in order (step 1 failing fails them all).
 */
export async function countManyOnce(doc: DynamoDBDocumentClient, tableName: string, key: Record<string, unknown>, changes: readonly CountChange[], extraSet: Record<string, unknown> = {}): Promise<Array<PromiseSettledResult<void>>> {
  if (changes.length > COUNT_BATCH_MAX) throw new RangeError(`countManyOnce: ${changes.length} changes, at most ${COUNT_BATCH_MAX} at once`);
  if (new Set(changes.map((c) => c.id)).size !== changes.length) throw new RangeError('countManyOnce: the same id twice');
  if (changes.length <= 1) return Promise.allSettled(changes.map((c) => countOnce(doc, tableName, key, c.id, c.counters, c.mark, extraSet)));
  const digests = changes.map((c) => digestOf(c.id));
  const names: Record<string, string> = { '#g': COUNTING, '#k': COUNTED, '#b': COUNTED_BEFORE, '#l': LEGACY_RECENT };
  const values: Record<string, unknown> = { ':ids': new Set(digests) };
  const sums = new Map<string, number>();
  for (const c of changes) for (const [name, n] of Object.entries(c.counters)) sums.set(name, (sums.get(name) ?? 0) + n);
  const { add, set } = counterUpdate([...sums], extraSet, names, values);
  // Counted, being counted, or (written before digests) its whole id being counted or among the recent list.
  const seen = changes.map((c, i) => {
    values[`:d${i}`] = digests[i];
    values[`:i${i}`] = c.id;
    return `contains(#g, :d${i}) OR contains(#k, :d${i}) OR contains(#b, :d${i}) OR contains(#g, :i${i}) OR contains(#l, :i${i})`;
  });
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: key,
        UpdateExpression: `ADD ${[...add, '#g :ids'].join(', ')}${set.length > 0 ? ` SET ${set.join(', ')}` : ''}`,
        ConditionExpression: `NOT (${seen.join(' OR ')})`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    return Promise.allSettled(changes.map((c) => countOnce(doc, tableName, key, c.id, c.counters, c.mark, extraSet)));
  }
  const results = await Promise.allSettled(changes.map((c) => c.mark()));
  const marked = changes.flatMap((c, i) => (results[i]!.status === 'fulfilled' ? [i] : []));
  if (marked.length === 0) return results;
  try {
    await settleIds(doc, tableName, key, marked.map((i) => digests[i]!), marked.map((i) => changes[i]!.id));
  } catch (error) {
    for (const i of marked) results[i] = { status: 'rejected', reason: error };
  }
  return results;
}

type Queued = CountChange & { done: Array<(result: PromiseSettledResult<void>) => void> };

/**
 * Counts changes once (`countOnce`), together with the others of their counter item in this process: the counts of
 * an item made in one turn of the event loop, and those made while a batch of the item is being counted, are
 * counted by `countManyOnce` together, COUNT_BATCH_MAX at a time, once the item's batches in flight are done (one
 * round of an item's batches in flight at once, a group commit: its writes of the item wait their turn in DynamoDB
 * anyway, and the changes that settle meanwhile fill the next round). Counts of one id made at once, or while it is
 * in flight, are of one change (the same counters and mark): counted once, and each caller gets its outcome. One
 * per table and process; exactness across processes is `countOnce`'s and `countManyOnce`'s. Only changes settling
 * in one process at once are batched: the embedded engine's (its invocations share the process), not those of
 * Lambda instances that each take one event at a time.
 */
export class BatchingCounter {
  readonly #items = new Map<string, { key: Record<string, unknown>; extraSet: Record<string, unknown>; waiting: Map<string, Queued>; inFlight?: Map<string, Queued> }>();

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Count change `id` of the counter item `key` once (as `countOnce`); `extraSet` is the same for every change of an item. */
  count(key: Record<string, unknown>, id: string, counters: Record<string, number>, mark: () => Promise<void>, extraSet: Record<string, unknown> = {}): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const itemId = JSON.stringify(key);
      let item = this.#items.get(itemId);
      if (!item) {
        this.#items.set(itemId, (item = { key, extraSet, waiting: new Map() }));
        setImmediate(() => void this.#flush(itemId));
      }
      let change = item.inFlight?.get(id) ?? item.waiting.get(id);
      if (!change) item.waiting.set(id, (change = { id, counters, mark, done: [] }));
      change.done.push((result) => (result.status === 'fulfilled' ? resolve() : reject(result.reason as Error)));
    });
  }

  /** Count what waits for the item, then what came meanwhile, until nothing does. */
  async #flush(itemId: string): Promise<void> {
    const item = this.#items.get(itemId)!;
    while (item.waiting.size > 0) {
      const all = [...item.waiting.values()];
      item.inFlight = item.waiting;
      item.waiting = new Map();
      await Promise.all(
        Array.from({ length: Math.ceil(all.length / COUNT_BATCH_MAX) }, async (_, i) => {
          const changes = all.slice(i * COUNT_BATCH_MAX, (i + 1) * COUNT_BATCH_MAX);
          let results: Array<PromiseSettledResult<void>>;
          try {
            results = await countManyOnce(this.doc, this.tableName, item.key, changes, item.extraSet);
          } catch (error) {
            results = changes.map(() => ({ status: 'rejected', reason: error }));
          }
          // Done: a count of one of these ids from now on is a new one (a redelivery), not this batch's.
          for (const change of changes) item.inFlight!.delete(change.id);
          changes.forEach((change, j) => change.done.forEach((done) => done(results[j]!)));
        }),
      );
      item.inFlight = undefined;
    }
    this.#items.delete(itemId);
  }
}

/**
 * Step 3 for the ids of one count (one, or a batch's): they leave the set being counted (digests and, from an old
 * attempt, whole ids) for the recent ones, in one write while the recent ones have room for all of them. Else the
 * recent ones become the generation before and these alone the recent ones (only while still without room: two
 * writers rotating at once must not drop a generation). A rotation happens with more than COUNTED_RECENT_MAX - k
 * in the recent ones, so at least COUNTED_RECENT_MAX + 1 are remembered after it, and the recent ones never hold
 * more than COUNTED_RECENT_MAX.
 */
async function settleIds(doc: DynamoDBDocumentClient, tableName: string, key: Record<string, unknown>, digests: readonly string[], ids: readonly string[]): Promise<void> {
  const names = { '#counting': COUNTING, '#counted': COUNTED };
  const values = { ':both': new Set([...digests, ...ids]), ':ids': new Set(digests), ':room': COUNTED_RECENT_MAX - digests.length };
  for (;;) {
    try {
      await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key,
          UpdateExpression: 'DELETE #counting :both ADD #counted :ids',
          // One id already among the recent ones (another writer settled it) adds nothing: no room needed.
          ConditionExpression: `attribute_not_exists(#counted) OR size(#counted) <= :room${digests.length === 1 ? ' OR contains(#counted, :d)' : ''}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: digests.length === 1 ? { ...values, ':d': digests[0] } : values,
        }),
      );
      return;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    try {
      await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key,
          UpdateExpression: 'SET #before = #counted, #counted = :ids DELETE #counting :both REMOVE #legacy',
          ConditionExpression: 'size(#counted) > :room',
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
