import { chunkBusEntries, type BusEntry } from '../contract';
import type { Clock } from '../ports';

/** Port: one PutEvents call, in the AWS SDK's request/response shape. */
export type PutEvents = (entries: BusEntry[]) => Promise<{
  FailedEntryCount?: number;
  Entries?: Array<{ EventId?: string; ErrorCode?: string; ErrorMessage?: string }>;
}>;

export interface PublishOptions {
  clock: Clock;
  /** Attempts per entry, the first included. @default 4 */
  maxAttempts?: number;
  /** Backoff before the second attempt; doubles each time, with full jitter. @default 50 */
  baseDelayMs?: number;
  random?: () => number;
}

export interface PublishFailure {
  /** Position in the entries given to `publishEntries`. */
  position: number;
  errorCode: string;
  errorMessage: string;
}

export interface PublishResult {
  /** Positions published, with their EventBridge event ids. */
  published: Map<number, string>;
  failed: PublishFailure[];
  /** PutEvents calls made, retries included. */
  calls: number;
}

/**
 * Publish entries in PutEvents calls of <= 10 entries and <= 1 MB. Entries the
 * bus rejects (per-entry errors, or the whole call throwing, e.g. throttling)
 * are resent, and only they, with exponential backoff; what still fails is
 * returned so the caller can answer 5xx naming it.
 */
export async function publishEntries(putEvents: PutEvents, entries: readonly BusEntry[], options: PublishOptions): Promise<PublishResult> {
  const { clock, maxAttempts = 4, baseDelayMs = 50, random = Math.random } = options;
  const published = new Map<number, string>();
  let pending = entries.map((entry, position) => ({ entry, position }));
  let lastError = new Map<number, { errorCode: string; errorMessage: string }>();
  let calls = 0;

  for (let attempt = 1; attempt <= maxAttempts && pending.length > 0; attempt++) {
    if (attempt > 1) await clock.sleep(Math.round(random() * baseDelayMs * 2 ** (attempt - 2)));
    const retry: typeof pending = [];
    lastError = new Map();
    for (const chunk of chunkBusEntries(pending.map((p) => ({ ...p.entry, position: p.position })))) {
      calls++;
      const positions = chunk.map((c) => c.position);
      try {
        const response = await putEvents(chunk.map(({ position: _position, ...entry }) => entry));
        const results = response.Entries ?? [];
        chunk.forEach((c, i) => {
          const result = results[i];
          if (result?.EventId && !result.ErrorCode) {
            published.set(c.position, result.EventId);
          } else {
            retry.push({ entry: entries[c.position]!, position: c.position });
            lastError.set(c.position, {
              errorCode: result?.ErrorCode ?? 'MissingResult',
              errorMessage: result?.ErrorMessage ?? 'PutEvents returned no result for this entry',
            });
          }
        });
      } catch (error) {
        const err = error as Error;
        for (const position of positions) {
          retry.push({ entry: entries[position]!, position });
          lastError.set(position, { errorCode: err.name || 'Error', errorMessage: err.message });
        }
      }
    }
    pending = retry;
  }
  const failed = pending.map(({ position }) => ({ position, ...lastError.get(position)! }));
  return { published, failed, calls };
}
