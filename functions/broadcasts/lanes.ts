import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PROFILE_TABLE_LAYOUT as L, type Clock } from '../../shared';
import type { BroadcastChannel, BroadcastRates } from '../../shared/broadcasts';

/** What a page may send now: `granted` messages; none granted, wait `waitSeconds` before asking again. */
export interface LaneGrant {
  granted: number;
  waitSeconds?: number;
}

/** How many times a take retries when another page took tokens between its read and its write. */
const TAKE_ATTEMPTS = 8;

/**
 * One token bucket per channel, shared by every broadcast (all pages, all executions, both homes), kept in the
 * profile table (`LANE#<channel>` / `BUCKET`: `tokens`, `at` in ms, `v`). It fills at the channel's rate up to one
 * second of sending (at least one message); a page takes what it will send before it lists its recipients and gives
 * back what it did not send (skipped, deferred, cancelled). So broadcasts together never send faster than the
 * rate, however many run at once, and the provider's remaining throughput is left to triggered journeys and
 * transactional messages (which never take from it).
 *
 * A take reads the bucket and writes it back on condition that nobody wrote it meanwhile (`v`): concurrent pages
 * never take the same token. A page that fails after taking loses its tokens (never over the rate).
 */
export class BroadcastLanes {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly rates: BroadcastRates,
    private readonly clock: Pick<Clock, 'now'>,
  ) {}

  /** The rate of a channel, if it is limited. */
  rateOf(channel: BroadcastChannel): number | undefined {
    return this.rates[channel];
  }

  /** Up to `wanted` tokens of `channel`'s bucket; a channel without a rate grants everything. */
  async take(channel: BroadcastChannel, wanted: number): Promise<LaneGrant> {
    const rate = this.rates[channel];
    if (rate === undefined || wanted <= 0) return { granted: Math.max(0, wanted) };
    const capacity = Math.max(1, rate);
    for (let attempt = 0; attempt < TAKE_ATTEMPTS; attempt++) {
      const now = this.clock.now().getTime();
      const item = (await this.doc.send(new GetCommand({ TableName: this.tableName, Key: key(channel), ConsistentRead: true }))).Item;
      const before = item === undefined ? undefined : { tokens: Number(item.tokens), at: Number(item.at), v: Number(item.v) };
      // Clocks of two Lambdas may disagree: time never runs backwards for the bucket.
      const at = Math.max(now, before?.at ?? now);
      const tokens = before === undefined ? capacity : Math.min(capacity, before.tokens + (Math.max(0, now - before.at) / 1000) * rate);
      const granted = Math.min(wanted, Math.floor(tokens + 1e-9));
      if (granted === 0) {
        // Wait until a page's worth is there (as much as it wanted, at most a full bucket).
        return { granted: 0, waitSeconds: Math.max(1, Math.ceil((Math.min(wanted, capacity) - tokens) / rate)) };
      }
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...key(channel), tokens: tokens - granted, at, v: (before?.v ?? 0) + 1 },
            ConditionExpression: before === undefined ? 'attribute_not_exists(#pk)' : '#v = :v',
            ExpressionAttributeNames: before === undefined ? { '#pk': L.partitionKey } : { '#v': 'v' },
            ...(before !== undefined && { ExpressionAttributeValues: { ':v': before.v } }),
          }),
        );
        return { granted };
      } catch (error) {
        if (!conditionFailed(error)) throw error;
      }
    }
    // Pages racing for the bucket: this one waits a second rather than spin.
    return { granted: 0, waitSeconds: 1 };
  }

  /** Gives back tokens a page took and did not send (the next take caps the bucket at its capacity). */
  async giveBack(channel: BroadcastChannel, count: number): Promise<void> {
    if (this.rates[channel] === undefined || count <= 0) return;
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key(channel),
        UpdateExpression: 'ADD tokens :n, v :one',
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: { '#pk': L.partitionKey },
        ExpressionAttributeValues: { ':n': count, ':one': 1 },
      }),
    ).catch((error: unknown) => {
      if (!conditionFailed(error)) throw error;
    });
  }
}

/** Another page wrote the bucket first (or it does not exist yet, for a give-back). */
const conditionFailed = (error: unknown) => error instanceof ConditionalCheckFailedException || (error as Error).name === 'ConditionalCheckFailedException';

const key = (channel: BroadcastChannel) => ({ [L.partitionKey]: `LANE#${channel}`, [L.sortKey]: 'BUCKET' });
