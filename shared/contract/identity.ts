import type { NormalisedEvent } from './events';

/**
 * An event's identity: its source and its messageId. A messageId is unique per
 * source only (as in Segment), so every consumer that deduplicates events keys
 * them by both: two sources using the same messageId send two events, one source
 * re-sending its own sends a duplicate.
 */
export const eventKey = (event: Pick<NormalisedEvent, 'sourceId' | 'messageId'>): string => `${event.sourceId}/${event.messageId}`;
