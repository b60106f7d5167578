import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { createHash } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { COUNT_ONCE_ATTRIBUTES, countOnce, queryAll, queryShardsBefore } from '../profile';
import { decodePageCursor, encodePageCursor } from '../profile/page-cursor';
import { PROFILE_TABLE_LAYOUT as L, type AttributionRule, type EventPattern, type EventRef } from '../../shared';

/**
 * Journey records, kept in the profile table under the customer's partition so
 * that erasure removes them with everything else:
 *
 * | item    | PK           | SK                                   |
 * |---------|--------------|--------------------------------------|
 * | run     | `C#<id>`     | `R#<journeyId>#<executionName>`      | while running (and, ended by an event, until its execution's end is known), in the sparse GSI1 (`RUN#<shard>`, `<checkAt>#<id>`): the reconciling sweep's list |
 * | lock    | `C#<id>`     | `L#<journeyId>#<key>`                | one active run per customer (or per key); TTL: the run's longest possible life |
 * | message | `C#<id>`     | `M#<executionName>#<stepId>`         | a send or skip; the conditional put is the send's idempotency |
 * | skip    | `C#<id>`     | `JS#<journeyId>`                     | why the customer's latest trigger of the journey started nothing; `ttl` |
 * | credit  | `C#<id>`     | `AT#<sourceId>/<messageId>`          | the message a conversion is credited to (attribution) |
 * | wait    | `C#<id>`     | `W#<event>#<executionName>#<stepId>` | a task token waiting for an event |
 * | cap     | `C#<id>`     | `CAP`                                | the marketing sends counted against the frequency cap (`claimCapSlot`) |
 * | stats   | `J#<journeyId>` | `STATS`                           | counters per journey and step |
 */

/** A marketing send counted against the frequency cap: its message (`capKey`) and when it was counted. */
export interface CapClaim {
  key: string;
  at: string;
}
/** The key of a send in the frequency cap's count: its execution and step (one message each). */
export const capKey = (executionName: string, stepId: string) => `${executionName}#${stepId}`;
/** The sort key of the customer's frequency cap item. */
export const CAP_SORT_KEY = 'CAP';
/** Lost races `claimCapSlot` retries before it gives up (its error is retried by the step's Retry). */
const CAP_CLAIM_ATTEMPTS = 50;

/** `holdout`: the run drew a split's holdout group (no messages); it is held until `heldUntil`, a goal meanwhile converts it (`convertedBy`). */
export type RunStatus = 'running' | 'completed' | 'converted' | 'exited' | 'stopped' | 'failed' | 'holdout';

export interface RunRecord {
  journeyId: string;
  executionName: string;
  customerId: string;
  key: string;
  status: RunStatus;
  startedAt: string;
  endedAt?: string;
  triggerMessageId: string;
  /** The source of the trigger event (a messageId is unique per source only); absent on runs started before 2026-12. */
  triggerSourceId?: string;
  /** The trigger's event time: goal and exit events dated before it do not end the run. */
  triggeredAt?: string;
  /** The messageId of the event that ended the run (a goal or exit event): its redelivery stops the execution again. */
  endedBy?: string;
  /** The source of that event (`isSameEvent`): absent on runs ended before 2026-12. */
  endedBySourceId?: string;
  /** That event's time: a run whose execution had ended before it was not ended by it (see `endedBeforeItsEvent`). */
  endedByAt?: string;
  /** A holdout run: until when a goal event still counts as its conversion. */
  heldUntil?: string;
  /**
   * A holdout run that reached the goal while held: the goal event's messageId, its source, and when. A run
   * the router ended as converted on its way to the holdout keeps the source as `endedBySourceId`.
   */
  convertedBy?: string;
  convertedBySourceId?: string;
  convertedAt?: string;
  /** Set by the starter until the run's entry is counted (`countEntry`): a redelivered trigger finishes the count. */
  entryPending?: boolean;
  /** The journey version the run started on (absent on runs started before versions were recorded). */
  version?: number;
  /** A running run: the step it is at (or about to run), and since when (`JourneyStore.moveTo`); who is where. */
  step?: string;
  stepSince?: string;
}

/** The STATS item's set of runs being counted as entered, as written before `countOnce` (ignored, kept out of the stats). */
const ENTERING = 'entering';

export interface MessageRecord {
  journeyId: string;
  stepId: string;
  executionName: string;
  channel: string;
  template: string;
  kind: 'marketing' | 'transactional';
  /**
   * `sending`: claimed by a send attempt whose outcome is not known yet (see the step runner);
   * `unknown`: it was still `sending` when its run ended (stopped, failed, a goal or exit): no attempt of
   * it will run again, it may or may not have gone out, `reason` says how the run ended (an attempt
   * that still finishes records `sent`);
   * `deferred`: held back by the frequency cap, since `deferredSince` (a later attempt claims it as usual).
   */
  status: 'deferred' | 'sending' | 'unknown' | 'sent' | 'skipped' | 'failed';
  /** The experiment variant the customer got (a send step with `variants`). */
  variant?: string;
  /** A broadcast's `topic`, kept as a label. */
  topic?: string;
  /** A broadcast's conversion rule at the time of the send (a journey's messages earn by their journey's rule). */
  attribution?: AttributionRule;
  /** The locale variant of the template the message was rendered from (`fr`, `zh-tw`); absent: the default file. */
  locale?: string;
  /** When a conversion was first credited to this message (attribution): an experiment counts it once. */
  convertedAt?: string;
  /** A send the frequency cap deferred: when it was deferred first (it waits at most the policy's maximum delay from then). */
  deferredSince?: string;
  reason?: string;
  providerId?: string;
  at: string;
  /** The send attempt that claimed it (status sending): a retried write of its own claim is recognised. */
  attempt?: string;
  /** Webhook steps: the `webhook-id` every attempt of this step posts with (the receiver's idempotency key). */
  webhookId?: string;
  /** Email feedback from SES (functions/feedback): when the message was first delivered, bounced, ... (`markFeedback`). */
  deliveredAt?: string;
  bouncedAt?: string;
  complainedAt?: string;
  openedAt?: string;
  clickedAt?: string;
  rejectedAt?: string;
  delayedAt?: string;
}

export interface WaitRecord {
  event: string;
  executionName: string;
  stepId: string;
  journeyId: string;
  taskToken: string;
  /** Pattern on the awaited event's `detail`, trigger references already resolved. */
  pattern: EventPattern;
  expiresAt: string;
  /** The step its run goes on to when the event comes (who is where: the router moves the run there as it resumes it). */
  then?: string;
}

const pk = (customerId: string) => `C#${customerId}`;
/** The sort key of a conversion's credit in the customer's partition. */
export const attributionSortKey = (conversionKey: string) => `AT#${conversionKey}`;
const attributionKey = (customerId: string, conversionKey: string) => ({ [L.partitionKey]: pk(customerId), [L.sortKey]: attributionSortKey(conversionKey) });

/** What a settled message record no longer says unless it says it again: the claim's attempt, a run end's reason, a deferral's start. */
const SETTLE_CLEARS = ['attempt', 'reason', 'deferredSince', 'providerId'] as const satisfies ReadonlyArray<keyof MessageRecord>;

/**
 * The skip records' sort key prefix. Not `S#`: that is the suppression holds' (`S#<channel>`), and a journey
 * may well be called `email` (hostile audit F1: a skip overwrote a hard bounce's hold and the email went out).
 */
const SKIP_PREFIX = 'JS#';

/** How long a skip record is kept: a year. */
const SKIP_TTL_SECONDS = 365 * 86_400;

/** Why a customer's trigger of a journey started nothing (the latest per journey). */
export interface SkipRecord {
  journeyId: string;
  reason: string;
  at: string;
  /** The trigger: its detail-type, source and messageId. */
  event: string;
  sourceId: string;
  messageId: string;
}

/** A conversion credited to a message (last touch): under the converting customer, keyed by the conversion event. */
export interface AttributionRecord {
  journeyId: string;
  stepId: string;
  channel: string;
  executionName: string;
  /** When the credited message was sent, and when the conversion happened (its event time). */
  messageAt: string;
  convertedAt: string;
  /** What the conversion earned (its value property, else the order amount; 0 when it has none). */
  value: number;
  /** The experiment variant of the credited message, if it had one, and the id its message record is under. */
  variant?: string;
  messageOf?: string;
  /** Set until the conversion is counted in the journey's stats. */
  pending?: boolean;
}

/** The run index (GSI1, shared with the profiles' due index under its own partitions): `RUN#<shard>`. */
const RUN_INDEX_PREFIX = 'RUN';
const runIndexKeys = (run: Pick<RunRecord, 'customerId' | 'executionName'>, checkAt: string) => ({
  [L.dueIndex.partitionKey]: `${RUN_INDEX_PREFIX}#${createHash('sha256').update(run.executionName).digest().readUInt32BE(0) % L.shards}`,
  [L.dueIndex.sortKey]: `${checkAt}#${run.customerId}`,
});

/**
 * Who is where (GSI2, shared with the customers' last-order index under its own partitions): a running run's record
 * is under `AT#<journey>#<step>#<shard>`, sorted by `<since>#<executionName>`, while it is at that step.
 */
const POSITION_PREFIX = 'AT';
const positionShard = (executionName: string) => createHash('sha256').update(executionName).digest().readUInt32BE(0) % L.shards;
const positionPartition = (journeyId: string, stepId: string, shard: number) => `${POSITION_PREFIX}#${journeyId}#${stepId}#${shard}`;

/** A cursor of `runsAt` (the shard and the last key read there), opaque to clients; anything else is refused. */
const encodePositionCursor = (cursor: { shard: number; key?: Record<string, unknown> }) => encodePageCursor(cursor);
const decodePositionCursor = (cursor: string, journeyId: string, stepId: string) =>
  decodePageCursor(cursor, (value): { shard: number; key?: Record<string, unknown> } | undefined => {
    const parsed = value as { shard?: unknown; key?: unknown };
    if (typeof parsed.shard !== 'number' || !Number.isInteger(parsed.shard) || parsed.shard < 0 || parsed.shard >= L.shards) return undefined;
    if (parsed.key === undefined) return { shard: parsed.shard };
    if (parsed.key === null || typeof parsed.key !== 'object') return undefined;
    const key = parsed.key as Record<string, unknown>;
    const sk = key[L.sortKey];
    if (key[L.lastOrderIndex.partitionKey] !== positionPartition(journeyId, stepId, parsed.shard) || typeof key[L.partitionKey] !== 'string' || typeof sk !== 'string' || !sk.startsWith(`R#${journeyId}#`)) return undefined;
    return { shard: parsed.shard, key: { [L.partitionKey]: key[L.partitionKey], [L.sortKey]: sk, [L.lastOrderIndex.partitionKey]: key[L.lastOrderIndex.partitionKey], [L.lastOrderIndex.sortKey]: key[L.lastOrderIndex.sortKey] } };
  });

/** A `runsAt` cursor the listing did not return. */
export class InvalidRunsCursorError extends Error {
  override readonly name = 'InvalidRunsCursorError';
}

/** A running run at a step, as `runsAt` lists it. */
export interface RunAtStep {
  customerId: string;
  executionName: string;
  since: string;
}

/** The counters, and with a version each also as `v<version>.<name>` (the version's share of the total). */
const perVersion = (counters: Record<string, number>, version: number | undefined): Record<string, number> =>
  version === undefined ? counters : { ...counters, ...Object.fromEntries(Object.entries(counters).map(([name, n]) => [`v${version}.${name}`, n])) };

const VERSION_COUNTER = /^v(\d+)\.(.+)$/;
/** A STATS item's counters as totals and per journey version (`v<n>.<name>` counters, kept beside the totals). */
export function splitVersions(counters: Readonly<Record<string, number>>): { total: Record<string, number>; versions: Record<string, Record<string, number>> } {
  const total: Record<string, number> = {};
  const versions: Record<string, Record<string, number>> = {};
  for (const [name, n] of Object.entries(counters)) {
    const m = VERSION_COUNTER.exec(name);
    if (m) (versions[m[1]!] ??= {})[m[2]!] = n;
    else total[name] = n;
  }
  return { total, versions };
}

/** Whether a run's record (as read, with its index keys) is in the run index: the reconciling sweep's list. */
export const inRunIndex = (run: RunRecord): boolean => (run as unknown as Record<string, unknown>)[L.dueIndex.partitionKey] !== undefined;

/** A running run the reconciling sweep is due to check: its keys, from the run index. */
export interface RunRef {
  customerId: string;
  journeyId: string;
  executionName: string;
}

export class JourneyStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  /**
   * Take the run lock for (journey, key); false when another run holds it. The lock expires (TTL) at
   * `expiresAt`, when its run has ended whatever happened to the news of its end; a lock past its expiry
   * that DynamoDB has not deleted yet (it deletes expired items up to days late; dynalite never) is free.
   */
  async lock(customerId: string, journeyId: string, key: string, executionName: string, { now, expiresAt }: { now: Date; expiresAt: Date }): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { [L.partitionKey]: pk(customerId), [L.sortKey]: `L#${journeyId}#${key}`, itemType: 'lock', executionName, [L.ttlAttribute]: Math.ceil(expiresAt.getTime() / 1000) },
          ConditionExpression: 'attribute_not_exists(#pk) OR executionName = :e OR #ttl <= :now',
          ExpressionAttributeNames: { '#pk': L.partitionKey, '#ttl': L.ttlAttribute },
          ExpressionAttributeValues: { ':e': executionName, ':now': Math.floor(now.getTime() / 1000) },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async unlock(customerId: string, journeyId: string, key: string, executionName: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { [L.partitionKey]: pk(customerId), [L.sortKey]: `L#${journeyId}#${key}` },
          ConditionExpression: 'executionName = :e',
          ExpressionAttributeValues: { ':e': executionName },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /** Record a run; a running one joins the run index, to be checked by the reconciling sweep from `checkAt` on. */
  async putRun(run: RunRecord, checkAt?: Date): Promise<void> {
    const index = run.status === 'running' ? runIndexKeys(run, (checkAt ?? new Date(run.startedAt)).toISOString()) : {};
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { [L.partitionKey]: pk(run.customerId), [L.sortKey]: `R#${run.journeyId}#${run.executionName}`, itemType: 'run', ...run, ...index } }));
  }

  /**
   * Running runs due for a check by `now` (the run index, every shard, oldest first): at most `limitPerShard`
   * of each shard, the rest at the next sweep. The index is eventually consistent: check each run's record.
   */
  async runsToCheck(now: Date, limitPerShard = 1000): Promise<RunRef[]> {
    const items = await queryShardsBefore(this.doc, this.tableName, L.dueIndex, RUN_INDEX_PREFIX, now.toISOString(), limitPerShard, { exactLimit: true });
    return items.map((item) => {
      const sk = item[L.sortKey] as string;
      const at = sk.lastIndexOf('#');
      return { customerId: (item[L.partitionKey] as string).slice(2), journeyId: sk.slice(2, at), executionName: sk.slice(at + 1) };
    });
  }

  /** A checked run whose execution is still running: check it again from `checkAt` (only while it is in the run index). */
  async checkRunAgain(run: Pick<RunRecord, 'customerId' | 'journeyId' | 'executionName'>, checkAt: Date): Promise<void> {
    const { [L.dueIndex.sortKey]: sortKey } = runIndexKeys(run, checkAt.toISOString());
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [L.partitionKey]: pk(run.customerId), [L.sortKey]: `R#${run.journeyId}#${run.executionName}` },
          UpdateExpression: 'SET #gsk = :sk',
          ConditionExpression: 'attribute_exists(#gpk)',
          ExpressionAttributeNames: { '#gsk': L.dueIndex.sortKey, '#gpk': L.dueIndex.partitionKey },
          ExpressionAttributeValues: { ':sk': sortKey },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /**
   * Who is where: a running run is at `stepId` from `since` (the step handler, as a step runs or is left for the
   * next). Only while the run is running (an ended or erased run's record is not touched) and never back to an
   * earlier `since` (a late retry of an earlier step does not move it back).
   */
  async moveTo(customerId: string, journeyId: string, executionName: string, stepId: string, since: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [L.partitionKey]: pk(customerId), [L.sortKey]: `R#${journeyId}#${executionName}` },
          UpdateExpression: 'SET step = :step, stepSince = :since, #ppk = :ppk, #psk = :psk',
          ConditionExpression: '#s = :running AND (attribute_not_exists(stepSince) OR stepSince <= :since)',
          ExpressionAttributeNames: { '#s': 'status', '#ppk': L.lastOrderIndex.partitionKey, '#psk': L.lastOrderIndex.sortKey },
          ExpressionAttributeValues: { ':step': stepId, ':since': since, ':running': 'running', ':ppk': positionPartition(journeyId, stepId, positionShard(executionName)), ':psk': `${since}#${executionName}` },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /**
   * The running runs at a step, a page at a time (shard by shard, each oldest first), and the next page's cursor.
   * The index is eventually consistent: a run that just moved may still be listed at its previous step a moment.
   */
  async runsAt(journeyId: string, stepId: string, limit: number, cursor?: string): Promise<{ runs: RunAtStep[]; next?: string }> {
    const start = cursor === undefined ? { shard: 0 } : decodePositionCursor(cursor, journeyId, stepId);
    if (start === undefined) throw new InvalidRunsCursorError('cursor is not one this listing returned');
    const runs: RunAtStep[] = [];
    let shard = start.shard;
    let key = start.key;
    while (shard < L.shards) {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: L.lastOrderIndex.name,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': L.lastOrderIndex.partitionKey },
          ExpressionAttributeValues: { ':pk': positionPartition(journeyId, stepId, shard) },
          Limit: limit - runs.length,
          ...(key && { ExclusiveStartKey: key }),
        }),
      );
      for (const item of out.Items ?? []) {
        const sk = item[L.lastOrderIndex.sortKey] as string;
        const at = sk.indexOf('#');
        runs.push({ customerId: (item[L.partitionKey] as string).slice(2), executionName: sk.slice(at + 1), since: sk.slice(0, at) });
      }
      key = out.LastEvaluatedKey;
      if (runs.length >= limit) {
        if (key) return { runs, next: encodePositionCursor({ shard, key }) };
        return shard + 1 < L.shards ? { runs, next: encodePositionCursor({ shard: shard + 1 }) } : { runs };
      }
      if (!key) shard++;
    }
    return { runs };
  }

  /**
   * End a run once: only a running run changes status (a stop after completion changes nothing). An ended run
   * leaves the run index (the reconciling sweep's list), but one ended by an event with its time (`endedBy`'s
   * `timestamp`, a goal or exit) while its execution's end is unknown: it stays, due at `checkEndAt`, until that
   * end is heard of (`leaveRunIndex`), because an execution that had ended before the event was not ended by it.
   */
  async endRun(
    customerId: string,
    journeyId: string,
    executionName: string,
    status: Exclude<RunStatus, 'running'>,
    at: string,
    endedBy?: EventRef & { timestamp?: string },
    heldUntil?: string,
    checkEndAt?: Date,
  ): Promise<RunRecord | undefined> {
    const staysIndexed = endedBy?.timestamp !== undefined && checkEndAt !== undefined;
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [L.partitionKey]: pk(customerId), [L.sortKey]: `R#${journeyId}#${executionName}` },
          // An ended run is at no step: it leaves who-is-where (GSI2) whatever else it keeps.
          UpdateExpression: `SET #s = :s, endedAt = :at${endedBy !== undefined ? ', endedBy = :by' : ''}${endedBy?.sourceId !== undefined ? ', endedBySourceId = :bySource' : ''}${endedBy?.timestamp !== undefined ? ', endedByAt = :byAt' : ''}${heldUntil !== undefined ? ', heldUntil = :held' : ''}${staysIndexed ? ', #gsk = :checkAt REMOVE #ppk, #psk' : ' REMOVE #gpk, #gsk, #ppk, #psk'}`,
          ConditionExpression: '#s = :running',
          ExpressionAttributeNames: { '#s': 'status', '#gsk': L.dueIndex.sortKey, '#ppk': L.lastOrderIndex.partitionKey, '#psk': L.lastOrderIndex.sortKey, ...(!staysIndexed && { '#gpk': L.dueIndex.partitionKey }) },
          ExpressionAttributeValues: {
            ':s': status,
            ':at': at,
            ':running': 'running',
            ...(staysIndexed && { ':checkAt': runIndexKeys({ customerId, executionName }, checkEndAt.toISOString())[L.dueIndex.sortKey] }),
            ...(endedBy !== undefined && { ':by': endedBy.messageId }),
            ...(endedBy?.sourceId !== undefined && { ':bySource': endedBy.sourceId }),
            ...(endedBy?.timestamp !== undefined && { ':byAt': endedBy.timestamp }),
            ...(heldUntil !== undefined && { ':held': heldUntil }),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes as RunRecord;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /**
   * A run the router ended by a goal or exit event (`converted`, `exited`) whose execution had in fact ended on its
   * own before that event's time (`stoppedAt`, from the late news of its end): record the end it had instead, once.
   * Returns the status it replaced, or undefined (not such a run, or corrected already).
   */
  async endedBeforeItsEvent(customerId: string, journeyId: string, executionName: string, stoppedAt: string, status: 'completed' | 'exited' | 'converted'): Promise<'converted' | 'exited' | undefined> {
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [L.partitionKey]: pk(customerId), [L.sortKey]: `R#${journeyId}#${executionName}` },
          // Its end is known now: it leaves the run index too.
          UpdateExpression: 'SET #s = :s, endedAt = :stopped REMOVE endedBy, endedBySourceId, endedByAt, #gpk, #gsk',
          ConditionExpression: '#s IN (:converted, :exited) AND #s <> :s AND endedByAt > :stopped',
          ExpressionAttributeNames: { '#s': 'status', '#gpk': L.dueIndex.partitionKey, '#gsk': L.dueIndex.sortKey },
          ExpressionAttributeValues: { ':s': status, ':stopped': stoppedAt, ':converted': 'converted', ':exited': 'exited' },
          ReturnValues: 'UPDATED_OLD',
        }),
      );
      return (Attributes as { status?: 'converted' | 'exited' } | undefined)?.status;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /** An ended run whose execution's end is now known leaves the run index (never a running run). */
  async leaveRunIndex(customerId: string, journeyId: string, executionName: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [L.partitionKey]: pk(customerId), [L.sortKey]: `R#${journeyId}#${executionName}` },
          UpdateExpression: 'REMOVE #gpk, #gsk',
          ConditionExpression: 'attribute_exists(#gpk) AND #s <> :running',
          ExpressionAttributeNames: { '#s': 'status', '#gpk': L.dueIndex.partitionKey, '#gsk': L.dueIndex.sortKey },
          ExpressionAttributeValues: { ':running': 'running' },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /** Record a held holdout run's conversion once: false when it has one already, or its holding time is over. */
  async convertHeld(customerId: string, journeyId: string, executionName: string, by: Required<EventRef>, at: string): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [L.partitionKey]: pk(customerId), [L.sortKey]: `R#${journeyId}#${executionName}` },
          UpdateExpression: 'SET convertedBy = :by, convertedBySourceId = :bySource, convertedAt = :at',
          ConditionExpression: '#s = :holdout AND attribute_not_exists(convertedBy) AND heldUntil >= :at',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':by': by.messageId, ':bySource': by.sourceId, ':at': at, ':holdout': 'holdout' },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * A run that completed (its last step done, often a send) converts on a goal event that comes within its
   * journey's attribution window after it ended: it becomes `converted` once (`convertedBy`, `convertedAt`; its
   * `endedAt` stays when it completed). Whether this call converted it.
   */
  async convertCompleted(customerId: string, journeyId: string, executionName: string, by: Required<EventRef>, at: string): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [L.partitionKey]: pk(customerId), [L.sortKey]: `R#${journeyId}#${executionName}` },
          UpdateExpression: 'SET #s = :converted, convertedBy = :by, convertedBySourceId = :bySource, convertedAt = :at',
          ConditionExpression: '#s = :completed AND attribute_not_exists(convertedBy)',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':by': by.messageId, ':bySource': by.sourceId, ':at': at, ':completed': 'completed', ':converted': 'converted' },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * A run the goal router ended as converted while its execution was on its way to the holdout
   * (the execution's own end came after): make it the holdout run it was, converted while held. Once.
   */
  async convertedToHeld(customerId: string, journeyId: string, executionName: string, heldUntil: string): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [L.partitionKey]: pk(customerId), [L.sortKey]: `R#${journeyId}#${executionName}` },
          UpdateExpression: 'SET #s = :holdout, heldUntil = :held, convertedBy = endedBy, convertedAt = endedAt',
          ConditionExpression: '#s = :converted AND attribute_exists(endedBy)',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':holdout': 'holdout', ':held': heldUntil, ':converted': 'converted' },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** One run, read consistently (a send checks that its run is still running). */
  async getRun(customerId: string, journeyId: string, executionName: string): Promise<RunRecord | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { [L.partitionKey]: pk(customerId), [L.sortKey]: `R#${journeyId}#${executionName}` }, ConsistentRead: true }));
    return Item as RunRecord | undefined;
  }

  /**
   * Record why the customer's latest trigger of a journey started nothing (one item per journey, the latest
   * wins: `GET /v1/customers/{id}/journeys` shows it). Ids and the reason only. Expires with the idempotency
   * window's multiple it is useful for: a year.
   */
  async putSkip(customerId: string, skip: SkipRecord): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { [L.partitionKey]: pk(customerId), [L.sortKey]: `${SKIP_PREFIX}${skip.journeyId}`, itemType: 'skip', ...skip, [L.ttlAttribute]: Math.ceil(Date.parse(skip.at) / 1000) + SKIP_TTL_SECONDS },
      }),
    );
  }

  /** Why the customer's latest trigger of each journey started nothing, where one did. */
  async skips(customerId: string): Promise<SkipRecord[]> {
    return (await this.#query(customerId, SKIP_PREFIX)) as unknown as SkipRecord[];
  }

  async runs(customerId: string, journeyId?: string): Promise<RunRecord[]> {
    return (await this.#query(customerId, journeyId ? `R#${journeyId}#` : 'R#')) as unknown as RunRecord[];
  }

  /** Record a send/skip once per execution and step (over a deferral of it); returns the record already there on a retry. */
  async recordMessage(customerId: string, record: MessageRecord): Promise<{ recorded: boolean; existing?: MessageRecord }> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { [L.partitionKey]: pk(customerId), [L.sortKey]: `M#${record.executionName}#${record.stepId}`, itemType: 'message', ...record },
          ConditionExpression: 'attribute_not_exists(#pk) OR #s = :deferred',
          ExpressionAttributeNames: { '#pk': L.partitionKey, '#s': 'status' },
          ExpressionAttributeValues: { ':deferred': 'deferred' },
        }),
      );
      return { recorded: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { [L.partitionKey]: pk(customerId), [L.sortKey]: `M#${record.executionName}#${record.stepId}` }, ConsistentRead: true }));
      return { recorded: false, existing: Item as MessageRecord };
    }
  }

  /**
   * Record provider feedback on a message (`attribute`, e.g. `deliveredAt`, set to `at`): the earliest time of
   * each kind is kept, whatever order the feedback arrives in, and a message record that does not exist (never
   * sent, or erased) is not created. Whether it changed the record.
   */
  async markFeedback(customerId: string, executionName: string, stepId: string, attribute: `${string}At`, at: string): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [L.partitionKey]: pk(customerId), [L.sortKey]: `M#${executionName}#${stepId}` },
          UpdateExpression: 'SET #a = :at',
          ConditionExpression: 'attribute_exists(#pk) AND (attribute_not_exists(#a) OR #a > :at)',
          ExpressionAttributeNames: { '#pk': L.partitionKey, '#a': attribute },
          ExpressionAttributeValues: { ':at': at },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Drop a send's claim (the provider refused it, nothing was sent): a retry may claim and send again. */
  async releaseMessage(customerId: string, executionName: string, stepId: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { [L.partitionKey]: pk(customerId), [L.sortKey]: `M#${executionName}#${stepId}` },
          ConditionExpression: '#s = :sending',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':sending': 'sending' },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /**
   * Give a send its final status (sent, failed) unless it already has one; false when it had. A send
   * whose run ended while it was under way (`unknown`) takes the status its attempt finally knows.
   */
  async settleMessage(customerId: string, record: MessageRecord): Promise<boolean> {
    // An update, not a put: provider feedback (`markFeedback`: deliveredAt, bouncedAt, ...) that came while the
    // send was still `sending` stays. What the claim or a run's end wrote and the settled record does not say goes.
    const names: Record<string, string> = { '#pk': L.partitionKey, '#s': 'status' };
    const values: Record<string, unknown> = { ':sending': 'sending', ':unknown': 'unknown', ':type': 'message' };
    const set = ['itemType = :type'];
    Object.entries(record).forEach(([name, value], i) => {
      if (value === undefined) return;
      names[`#f${i}`] = name;
      values[`:f${i}`] = value;
      set.push(`#f${i} = :f${i}`);
    });
    const remove = SETTLE_CLEARS.filter((name) => record[name] === undefined);
    remove.forEach((name, i) => (names[`#r${i}`] = name));
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [L.partitionKey]: pk(customerId), [L.sortKey]: `M#${record.executionName}#${record.stepId}` },
          UpdateExpression: `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.map((_, i) => `#r${i}`).join(', ')}` : ''}`,
          ConditionExpression: 'attribute_not_exists(#pk) OR #s IN (:sending, :unknown)',
          ExpressionAttributeNames: names,
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
   * A run ended: its sends still claimed (`sending`: an attempt died, timed out or is still waiting on its
   * channel, and no retry will come) become `unknown`, with why, so a claim never reads as in progress
   * forever. Conditional on `sending`: one that settled meanwhile keeps its status. How many changed.
   */
  async abandonClaims(customerId: string, executionName: string, reason: string, at: string): Promise<number> {
    const claimed = ((await this.#query(customerId, `M#${executionName}#`)) as unknown as MessageRecord[]).filter((m) => m.status === 'sending');
    let changed = 0;
    for (const m of claimed) {
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { [L.partitionKey]: pk(customerId), [L.sortKey]: `M#${executionName}#${m.stepId}` },
            UpdateExpression: 'SET #s = :unknown, reason = :reason, abandonedAt = :at',
            ConditionExpression: '#s = :sending',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':unknown': 'unknown', ':sending': 'sending', ':reason': reason, ':at': at },
          }),
        );
        changed++;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    return changed;
  }

  async getMessage(customerId: string, executionName: string, stepId: string): Promise<MessageRecord | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { [L.partitionKey]: pk(customerId), [L.sortKey]: `M#${executionName}#${stepId}` }, ConsistentRead: true }));
    return Item as MessageRecord | undefined;
  }

  async messages(customerId: string): Promise<MessageRecord[]> {
    const items = (await this.#query(customerId, 'M#')) as unknown as MessageRecord[];
    return items.sort((a, b) => (a.at < b.at ? 1 : -1));
  }

  /** The marketing messages sent to the customer since `since` (for the frequency cap): which send, and when it went out. */
  async marketingSentSince(customerId: string, since: Date): Promise<CapClaim[]> {
    const items = (await this.#query(customerId, 'M#')) as unknown as MessageRecord[];
    const from = since.toISOString();
    return items.filter((m) => m.kind === 'marketing' && m.status === 'sent' && m.at >= from).map((m) => ({ key: capKey(m.executionName, m.stepId), at: m.at }));
  }

  /** The sends counted against the customer's frequency cap since `since` (`claimCapSlot`). */
  async capClaims(customerId: string, since: Date): Promise<CapClaim[]> {
    return (await this.#capItem(customerId)).claims.filter((c) => c.at >= since.toISOString());
  }

  async #capItem(customerId: string): Promise<{ claims: CapClaim[]; version?: number }> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { [L.partitionKey]: pk(customerId), [L.sortKey]: CAP_SORT_KEY }, ConsistentRead: true }));
    return Item ? { claims: (Item.claims as CapClaim[] | undefined) ?? [], version: Item.version as number } : { claims: [] };
  }

  /**
   * Count a marketing send against the customer's frequency cap, as one atomic check-and-count: the
   * customer's `CAP` item lists the sends counted in the window, and a send joins it by a write
   * conditional on the item's version, only while fewer than `cap` are counted (with `sent`: the sends
   * the message records show, e.g. from before this list, or under another id of the customer). Of two
   * sends at one instant only one can take the last place: the other's write fails, it reads again and
   * finds the cap reached. A send counted already (a retry of its step) is counted once. The item lives
   * (TTL) until its newest send leaves the window. Returns every send counted when the cap is reached.
   */
  async claimCapSlot(customerId: string, claim: CapClaim, window: { since: Date; days: number }, cap: number, sent: readonly CapClaim[] = []): Promise<{ claimed: true } | { claimed: false; counted: CapClaim[] }> {
    const since = window.since.toISOString();
    for (let attempt = 1; ; attempt++) {
      const item = await this.#capItem(customerId);
      const claims = item.claims.filter((c) => c.at >= since);
      if (claims.some((c) => c.key === claim.key)) return { claimed: true };
      const counted = [...claims, ...sent.filter((s) => s.at >= since && !claims.some((c) => c.key === s.key))];
      if (counted.length >= cap) return { claimed: false, counted };
      const newest = [...claims.map((c) => c.at), claim.at].sort().at(-1)!;
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              [L.partitionKey]: pk(customerId),
              [L.sortKey]: CAP_SORT_KEY,
              itemType: 'frequency-cap',
              claims: [...claims, claim],
              version: (item.version ?? 0) + 1,
              [L.ttlAttribute]: Math.ceil(Date.parse(newest) / 1000) + window.days * 86_400,
            },
            ConditionExpression: item.version === undefined ? 'attribute_not_exists(#pk)' : '#ver = :v',
            ExpressionAttributeNames: item.version === undefined ? { '#pk': L.partitionKey } : { '#ver': 'version' },
            ...(item.version !== undefined && { ExpressionAttributeValues: { ':v': item.version } }),
          }),
        );
        return { claimed: true };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException) || attempt >= CAP_CLAIM_ATTEMPTS) throw error;
        // Another send of this customer counted itself first: read again (jittered, so a crowd spreads out).
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 2 ** attempt)));
      }
    }
  }

  /**
   * Mark a send deferred by the frequency cap, keeping the time of its first deferral; returns that time.
   * Only an absent or deferred record changes (a send that was claimed, sent or skipped meanwhile stays).
   */
  async deferMessage(customerId: string, record: Omit<MessageRecord, 'status' | 'deferredSince'>): Promise<string | undefined> {
    const names: Record<string, string> = { '#pk': L.partitionKey, '#s': 'status', '#since': 'deferredSince' };
    const values: Record<string, unknown> = { ':deferred': 'deferred', ':at': record.at, ':type': 'message' };
    const sets = ['#s = :deferred', '#since = if_not_exists(#since, :at)', 'itemType = :type'];
    for (const [i, [key, value]] of Object.entries(record).entries()) {
      if (value === undefined) continue;
      names[`#f${i}`] = key;
      values[`:f${i}`] = value;
      sets.push(`#f${i} = :f${i}`);
    }
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [L.partitionKey]: pk(customerId), [L.sortKey]: `M#${record.executionName}#${record.stepId}` },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: 'attribute_not_exists(#pk) OR #s = :deferred',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes?.deferredSince as string | undefined;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  async putWait(customerId: string, wait: WaitRecord): Promise<void> {
    await this.doc.send(
      new PutCommand({ TableName: this.tableName, Item: { [L.partitionKey]: pk(customerId), [L.sortKey]: `W#${wait.event}#${wait.executionName}#${wait.stepId}`, itemType: 'wait', ...wait } }),
    );
  }

  async waitsFor(customerId: string, event: string): Promise<WaitRecord[]> {
    return (await this.#query(customerId, `W#${event}#`)) as unknown as WaitRecord[];
  }

  /** Delete a wait; true if this call removed it (so only one resumer sends the task token). */
  async takeWait(customerId: string, wait: Pick<WaitRecord, 'event' | 'executionName' | 'stepId'>): Promise<boolean> {
    const { Attributes } = await this.doc.send(
      new DeleteCommand({ TableName: this.tableName, Key: { [L.partitionKey]: pk(customerId), [L.sortKey]: `W#${wait.event}#${wait.executionName}#${wait.stepId}` }, ReturnValues: 'ALL_OLD' }),
    );
    return Attributes !== undefined;
  }

  /** Add to a journey's counters (entered, goal, exited, holdout, `holdout.goal`, `<stepId>.sent`, `<stepId>.skipped.<reason>`, ...). */
  /**
   * Add to a journey's counters (its STATS item); with the run's `version`, each also under `v<version>.<name>` in
   * the same write (stats per version and in total: `splitVersions`).
   */
  async count(journeyId: string, counters: Record<string, number>, version?: number): Promise<void> {
    const names: Record<string, string> = {};
    const values: Record<string, number> = {};
    const parts = Object.entries(perVersion(counters, version)).map(([name, n], i) => {
      names[`#c${i}`] = name;
      values[`:c${i}`] = n;
      return `#c${i} :c${i}`;
    });
    if (parts.length === 0) return;
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [L.partitionKey]: `J#${journeyId}`, [L.sortKey]: 'STATS' },
        UpdateExpression: `ADD ${parts.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  /**
   * Count a run as entered exactly once, across a crash, the trigger's redelivery and a concurrent starter
   * (`countOnce` on the STATS item, by the run's name), then clear the run's `entryPending`.
   */
  async countEntry(run: Pick<RunRecord, 'journeyId' | 'customerId' | 'executionName' | 'version'>): Promise<void> {
    await this.#countOnce(run.journeyId, run.executionName, perVersion({ entered: 1 }, run.version), async () => {
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { [L.partitionKey]: pk(run.customerId), [L.sortKey]: `R#${run.journeyId}#${run.executionName}` },
            UpdateExpression: 'REMOVE entryPending',
            ConditionExpression: `attribute_exists(${L.partitionKey})`,
          }),
        );
      } catch (error) {
        // The run was deleted meanwhile (erasure): nothing to mark.
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    });
  }

  /**
   * The conversion an event was credited to (`creditConversion`), if any: `pending` until it is counted.
   */
  async attribution(customerId: string, conversionKey: string): Promise<AttributionRecord | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: attributionKey(customerId, conversionKey), ConsistentRead: true }));
    return Item as AttributionRecord | undefined;
  }

  /**
   * Credit a conversion to a message once, across crashes and redeliveries of the conversion event: the record
   * is written first (pending, conditional: the first credit stands), then counted once (`#countOnce`: the
   * journey's `attribution.*`, its step's and its channel's), then marked counted. A redelivery finds the
   * record and finishes a pending count. Returns the record that stands.
   */
  async creditConversion(customerId: string, conversionKey: string, record: AttributionRecord): Promise<AttributionRecord> {
    let stands = await this.attribution(customerId, conversionKey);
    if (!stands) {
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...attributionKey(customerId, conversionKey), itemType: 'attribution', ...record, pending: true },
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': L.partitionKey },
          }),
        );
        stands = { ...record, pending: true };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        stands = (await this.attribution(customerId, conversionKey))!;
      }
    }
    if (stands.pending) {
      const { pending: _pending, ...counted } = stands;
      const increments: Record<string, number> = {};
      for (const prefix of ['attribution', `${counted.stepId}.attribution`, `channel.${counted.channel}.attribution`, ...(counted.variant !== undefined ? [`${counted.stepId}.variant.${counted.variant}.attribution`] : [])]) {
        increments[`${prefix}.conversions`] = 1;
        increments[`${prefix}.revenue`] = counted.value;
      }
      // A hash: the STATS item keeps recent ids for a while, never a customer id.
      await this.#countOnce(counted.journeyId, `attribution:${createHash('sha256').update(`${customerId}\n${conversionKey}`).digest('hex').slice(0, 32)}`, increments, async () => {
        try {
          await this.doc.send(
            new UpdateCommand({ TableName: this.tableName, Key: attributionKey(customerId, conversionKey), UpdateExpression: 'REMOVE pending', ConditionExpression: `attribute_exists(${L.partitionKey})` }),
          );
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
      });
      stands = counted;
    }
    // An experiment's trial is a message: its first conversion counts once as `converted` (its rate's numerator).
    if (stands.variant !== undefined && stands.messageOf !== undefined) await this.#countConvertedMessage(stands.messageOf, stands);
    return stands;
  }

  async #countConvertedMessage(messageOf: string, credit: AttributionRecord): Promise<void> {
    const message = await this.getMessage(messageOf, credit.executionName, credit.stepId);
    if (!message || message.convertedAt !== undefined) return;
    const id = `converted:${createHash('sha256').update(`${messageOf}\n${credit.executionName}\n${credit.stepId}`).digest('hex').slice(0, 32)}`;
    await this.#countOnce(credit.journeyId, id, { [`${credit.stepId}.variant.${credit.variant!}.converted`]: 1 }, async () => {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [L.partitionKey]: pk(messageOf), [L.sortKey]: `M#${credit.executionName}#${credit.stepId}` },
          UpdateExpression: 'SET convertedAt = if_not_exists(convertedAt, :at)',
          ConditionExpression: `attribute_exists(${L.partitionKey})`,
          ExpressionAttributeValues: { ':at': credit.convertedAt },
        }),
      ).catch((error: unknown) => {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      });
    });
  }

  /**
   * Add `counters` to a journey's STATS exactly once for `id`, across a crash and a redelivery, without a
   * transaction (dynalite has none): (1) add them and `id` to the STATS item's `entering` set, unless `id` is
   * there already (an earlier attempt counted it); (2) `mark` the source as counted (clear its pending flag);
   * (3) take `id` out of the set. A crash before (1) counts on redelivery, one after (1) finds `id` and does
   * not; one between (2) and (3) leaves an id in the set, which nothing reads.
   */
  async #countOnce(journeyId: string, id: string, counters: Record<string, number>, mark: () => Promise<void>): Promise<void> {
    await countOnce(this.doc, this.tableName, { [L.partitionKey]: `J#${journeyId}`, [L.sortKey]: 'STATS' }, id, counters, mark);
  }


  /** A journey's counters in total (every version). */
  async stats(journeyId: string): Promise<Record<string, number>> {
    return (await this.statsByVersion(journeyId)).total;
  }

  /** A journey's counters in total and per version (`v<n>.<name>`, counted beside the totals: `count`). */
  async statsByVersion(journeyId: string): Promise<{ total: Record<string, number>; versions: Record<string, Record<string, number>> }> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { [L.partitionKey]: `J#${journeyId}`, [L.sortKey]: 'STATS' } }));
    const { [L.partitionKey]: _pk, [L.sortKey]: _sk, [ENTERING]: _entering, ...counters } = Item ?? {};
    for (const name of COUNT_ONCE_ATTRIBUTES) delete counters[name];
    return splitVersions(counters as Record<string, number>);
  }

  #query(customerId: string, prefix: string): Promise<Array<Record<string, unknown>>> {
    return queryAll(this.doc, {
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :p)',
      ExpressionAttributeNames: { '#pk': L.partitionKey, '#sk': L.sortKey },
      ExpressionAttributeValues: { ':pk': pk(customerId), ':p': prefix },
      ConsistentRead: true,
    });
  }
}
