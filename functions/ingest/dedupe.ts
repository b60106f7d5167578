import { IdempotencyConfig, IdempotencyItemAlreadyExistsError, IdempotencyRecordStatus, PERSISTENCE_ATTRIBUTE_KEY_MAPPINGS as ATTR } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { BasePersistenceLayer, IdempotencyRecord } from '@aws-lambda-powertools/idempotency/persistence';
import { BatchWriteItemCommand, type BatchWriteItemCommandOutput, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { eventKey, IDEMPOTENCY_WINDOW_SECONDS } from '../../shared';

/**
 * What a claim on an event key found:
 * - `new`: nobody has it; this request publishes it;
 * - `duplicate`: published before within the window; acknowledge, don't publish;
 * - `in-flight`: another request is publishing it right now; the sender should retry.
 */
export type ClaimOutcome = 'new' | 'duplicate' | 'in-flight';

/** The key of an event's idempotency record: its source and messageId. */
export const ingestClaimKey = eventKey;

/** Port: at-most-once publication per key (source + messageId) within the idempotency window. */
export interface EventDeduplicator {
  claim(key: string, lockMs: number): Promise<ClaimOutcome>;
  /** Mark a claimed key as published (kept for the whole window). */
  complete(key: string): Promise<void>;
  /** `complete` for every key of a request at once (the layer may write them together). */
  completeAll?(keys: readonly string[]): Promise<void>;
  /** Give a claimed key back after a failed publish, so a retry can publish it. */
  release(key: string): Promise<void>;
}

/**
 * The deduplicator on Powertools' idempotency persistence layer (DynamoDB in AWS,
 * the same layer against dynalite in the embedded engine): a conditional put of an
 * INPROGRESS record per key, turned COMPLETED after PutEvents succeeded, deleted
 * if it failed. A crash between claim and publish leaves an INPROGRESS record that
 * expires after `lockMs`, so a retry then publishes: nothing is lost.
 */
export function powertoolsDeduplicator(layer: BasePersistenceLayer, keyPrefix = 'rapport-ingest'): EventDeduplicator {
  layer.configure({
    config: new IdempotencyConfig({ eventKeyJmesPath: 'key', expiresAfterSeconds: IDEMPOTENCY_WINDOW_SECONDS }),
    keyPrefix,
  });
  return {
    async claim(key, lockMs) {
      try {
        await layer.saveInProgress({ key }, lockMs);
        return 'new';
      } catch (error) {
        if (!(error instanceof IdempotencyItemAlreadyExistsError)) throw error;
        const existing = error.existingRecord ?? (await layer.getRecord({ key }));
        return existing.getStatus() === IdempotencyRecordStatus.COMPLETED ? 'duplicate' : 'in-flight';
      }
    },
    complete: (key) => layer.saveSuccess({ key }, { published: true }),
    // All at once: a `BatchingPersistenceLayer` writes each BATCH_WRITE_MAX of them in one call.
    completeAll: (keys) => Promise.all(keys.map((key) => layer.saveSuccess({ key }, { published: true }))).then(() => undefined),
    release: (key) => layer.deleteRecord({ key }),
  };
}


/** Most items one BatchWriteItem takes. */
const BATCH_WRITE_MAX = 25;

/**
 * Powertools' DynamoDB persistence layer whose COMPLETED records go out together: every `saveSuccess` made in
 * one turn of the event loop is written by one BatchWriteItem per 25 records, not one UpdateItem each. The
 * write is the same as Powertools' own, unconditional, of the key's whole record (status COMPLETED, expiry,
 * response data); a claim's INPROGRESS lock is simply replaced. A record left unwritten fails its caller's
 * `saveSuccess` (as a failed UpdateItem does), and its claim's lock expires as after a crash.
 */
export class BatchingPersistenceLayer extends DynamoDBPersistenceLayer {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;
  #queue: Array<{ record: IdempotencyRecord; done: (error?: unknown) => void }> = [];

  /** The layer takes the default attribute names (Powertools' `PERSISTENCE_ATTRIBUTE_KEY_MAPPINGS`) and a partition key only. */
  constructor(config: { tableName: string; awsSdkV3Client: DynamoDBClient }) {
    super(config);
    this.#client = config.awsSdkV3Client;
    this.#tableName = config.tableName;
  }

  protected override _updateRecord(record: IdempotencyRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#queue.length === 0) setImmediate(() => void this.#flush());
      this.#queue.push({ record, done: (error) => (error === undefined ? resolve() : reject(error as Error)) });
    });
  }

  async #flush(): Promise<void> {
    const queued = this.#queue;
    this.#queue = [];
    for (let i = 0; i < queued.length; i += BATCH_WRITE_MAX) {
      const chunk = queued.slice(i, i + BATCH_WRITE_MAX);
      try {
        await this.#write(chunk.map(({ record }) => ({ PutRequest: { Item: this.#item(record) } })));
        for (const { done } of chunk) done();
      } catch (error) {
        for (const { done } of chunk) done(error);
      }
    }
  }

  #item(record: IdempotencyRecord) {
    return {
      ...this.getKey(record.idempotencyKey),
      ...marshall({ [ATTR.statusAttr]: record.getStatus(), [ATTR.expiryAttr]: record.expiryTimestamp, ...(record.responseData !== undefined && { [ATTR.dataAttr]: record.responseData }) }),
    };
  }

  /** One BatchWriteItem, then what DynamoDB left unprocessed again (with backoff), as its documentation asks. */
  async #write(requests: WriteRequest[]): Promise<void> {
    let left: WriteRequest[] | undefined = requests;
    for (let attempt = 0; left && left.length > 0; attempt++) {
      if (attempt > 8) throw new Error(`idempotency records: DynamoDB kept ${left.length} write(s) unprocessed`);
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 2 ** attempt * 10));
      const { UnprocessedItems }: BatchWriteItemCommandOutput = await this.#client.send(new BatchWriteItemCommand({ RequestItems: { [this.#tableName]: left } }));
      left = UnprocessedItems?.[this.#tableName];
    }
  }
}
