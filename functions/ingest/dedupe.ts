import { IdempotencyConfig, IdempotencyItemAlreadyExistsError, IdempotencyRecordStatus } from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
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
    release: (key) => layer.deleteRecord({ key }),
  };
}
