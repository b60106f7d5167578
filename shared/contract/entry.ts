import { INGEST_EVENT_SOURCE } from '../config/env';
import type { NormalisedEvent } from './events';
import { detailTypeOf } from './normalise';

/** One PutEvents entry, in the shape of the AWS SDK's `PutEventsRequestEntry`. */
export interface BusEntry {
  Source: string;
  DetailType: string;
  Detail: string;
  Time?: Date;
  EventBusName?: string;
  Resources?: string[];
}

/**
 * Limits of one PutEvents call (AWS, 2026): at most 10 entries, and their total
 * entry size (see `busEntrySize`) under 256 KB — which is also the largest one
 * event can be ("Calculating PutEvents event entry size", EventBridge user guide).
 */
export const PUT_EVENTS_MAX_ENTRIES = 10;
export const PUT_EVENTS_MAX_BYTES = 256 * 1024;

/** The bus entry for an accepted event: `Source` per origin, `DetailType` the event name, `Detail` the normalised event. */
export function toBusEntry(event: NormalisedEvent, eventBusName?: string, source: string = INGEST_EVENT_SOURCE): BusEntry {
  return {
    Source: source,
    DetailType: detailTypeOf(event),
    Detail: JSON.stringify(event),
    Time: new Date(event.timestamp),
    ...(eventBusName !== undefined && { EventBusName: eventBusName }),
  };
}

/**
 * Size of an entry as EventBridge counts it against the PutEvents request limit:
 * UTF-8 bytes of Source, DetailType, Detail and Resources, plus 14 bytes for Time.
 */
export function busEntrySize(entry: BusEntry): number {
  let size = entry.Time ? 14 : 0;
  size += Buffer.byteLength(entry.Source) + Buffer.byteLength(entry.DetailType) + Buffer.byteLength(entry.Detail);
  for (const r of entry.Resources ?? []) size += Buffer.byteLength(r);
  return size;
}

/** Split entries into PutEvents calls of at most 10 entries and 256 KB, keeping their order. */
export function chunkBusEntries<T extends BusEntry>(entries: readonly T[]): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = busEntrySize(entry);
    if (current.length > 0 && (current.length === PUT_EVENTS_MAX_ENTRIES || bytes + size > PUT_EVENTS_MAX_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
