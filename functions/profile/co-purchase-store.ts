import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, GetCommand, PutCommand, type BatchGetCommandOutput, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PROFILE_TABLE_LAYOUT as L, type Profile, type Recommendations } from '../../shared';
import { countOnce } from './count-once';
import { antecedentsOf, CO_PURCHASE_LIMITS, NO_RECOMMENDATIONS, recommend, WINDOW_MS, type Consequent, type Pair } from './co-purchases';

/** The partition of an antecedent's counts: no customer id, only the item (`CP#category:sofa`). */
const PREFIX = 'CP#';
const pairKey = (a: string, b: string) => ({ [L.partitionKey]: `${PREFIX}${a}`, [L.sortKey]: `B#${b}` });
const topKey = (a: string) => ({ [L.partitionKey]: `${PREFIX}${a}`, [L.sortKey]: 'TOP' });
/** Rounds of a lost optimistic-lock race on a top list before the write is given up (the pair's own count stands; its next count puts it in). */
const TOP_ATTEMPTS = 20;

/**
 * The "bought after" counts in the profile table (the same in both homes). Items, none naming a customer:
 *
 * | item | PK | SK | notes |
 * |------|----|----|-------|
 * | pair | `CP#<antecedent>` | `B#<consequent>` | `count` of customers who bought the consequent after the antecedent (`countOnce`, by the order's cause and the pair); `ttl` a window after its last count |
 * | top  | `CP#<antecedent>` | `TOP` | the `topMax` most counted consequents with their counts and last count (`version`-locked): what recommendations read |
 */
export class CoPurchaseStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Count each pair once for `cause` (the applied event's key): a redelivery that republishes the write's entry
   * (the consumer's outbox) finds the pair's id among those counted (`countOnce`) and counts nothing again; then the
   * antecedent's top list takes the pair's count (the larger of the two: counts only grow, so any order of writers
   * ends the same).
   */
  async count(cause: string, pairs: readonly Pair[], now: Date): Promise<void> {
    const at = now.toISOString();
    const ttl = Math.floor((now.getTime() + WINDOW_MS) / 1000);
    for (const [a, b] of pairs) {
      const id = `co-purchase:${createHash('sha256').update(`${cause}\n${a}\n${b}`).digest('hex').slice(0, 32)}`;
      await countOnce(this.doc, this.tableName, pairKey(a, b), id, { count: 1 }, async () => undefined, { at, [L.ttlAttribute]: ttl });
      const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: pairKey(a, b), ConsistentRead: true }));
      await this.#raise(a, { item: b, count: (Item?.count as number | undefined) ?? 0, at }, now);
    }
  }

  /** Put `consequent` in `a`'s top list with its count (never lowering one), keeping the `topMax` most counted within the window. */
  async #raise(a: string, consequent: Consequent, now: Date): Promise<void> {
    const cutoff = new Date(now.getTime() - WINDOW_MS).toISOString();
    for (let attempt = 0; attempt < TOP_ATTEMPTS; attempt++) {
      const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: topKey(a), ConsistentRead: true }));
      const version = (Item?.version as number | undefined) ?? 0;
      const list = ((Item?.top as Consequent[] | undefined) ?? []).filter((c) => c.at >= cutoff);
      const old = list.find((c) => c.item === consequent.item);
      if (old !== undefined && old.count >= consequent.count) return;
      const top = [...list.filter((c) => c.item !== consequent.item), consequent]
        .sort((x, y) => y.count - x.count || (x.item < y.item ? -1 : 1))
        .slice(0, CO_PURCHASE_LIMITS.topMax);
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...topKey(a), itemType: 'co-purchase-top', top, version: version + 1, [L.ttlAttribute]: Math.floor((now.getTime() + WINDOW_MS) / 1000) },
            ConditionExpression: version === 0 ? 'attribute_not_exists(#v)' : '#v = :v',
            ExpressionAttributeNames: { '#v': 'version' },
            ...(version !== 0 && { ExpressionAttributeValues: { ':v': version } }),
          }),
        );
        return;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
      // Another writer of this antecedent's list won: read it again after a short jittered pause (real time).
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 5 * 2 ** attempt)));
    }
  }

  /** The top lists of `antecedents` (at most 100), read at once; an expired list (TTL, filtered on read) is empty. */
  async tops(antecedents: readonly string[], now: Date): Promise<Map<string, Consequent[]>> {
    const out = new Map<string, Consequent[]>();
    const nowSeconds = now.getTime() / 1000;
    let keys: Array<Record<string, unknown>> | undefined = [...new Set(antecedents)].map(topKey);
    while (keys !== undefined && keys.length > 0) {
      const page: BatchGetCommandOutput = await this.doc.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys } } }));
      for (const item of page.Responses?.[this.tableName] ?? []) {
        if ((item[L.ttlAttribute] as number) <= nowSeconds) continue;
        out.set((item[L.partitionKey] as string).slice(PREFIX.length), (item.top as Consequent[] | undefined) ?? []);
      }
      keys = page.UnprocessedKeys?.[this.tableName]?.Keys;
    }
    return out;
  }

  /** What `profile` is recommended now (`recommend`): one read of the top lists of their most recent purchases. */
  async recommendations(profile: Pick<Profile, 'purchases'> | undefined, now: Date): Promise<Recommendations> {
    const antecedents = antecedentsOf(profile, now);
    if (antecedents.length === 0) return NO_RECOMMENDATIONS;
    return recommend(profile, await this.tops(antecedents, now), now);
  }
}
