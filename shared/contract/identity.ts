import type { NormalisedEvent } from './events';

/**
 * An event's identity: its source and its messageId. A messageId is unique per
 * source only (as in Segment), so every consumer that deduplicates events keys
 * them by both: two sources using the same messageId send two events, one source
 * re-sending its own sends a duplicate.
 */
export const eventKey = (event: Pick<NormalisedEvent, 'sourceId' | 'messageId'>): string => `${event.sourceId}/${event.messageId}`;

/** An event as a record remembers it: its messageId and, on records written since 2026-12, its source. */
export interface EventRef {
  messageId: string;
  sourceId?: string | undefined;
}

/** The ref of an event, to record it (`isSameEvent` reads it back). */
export const eventRef = (event: Pick<NormalisedEvent, 'sourceId' | 'messageId'>): Required<EventRef> => ({ messageId: event.messageId, sourceId: event.sourceId });

/**
 * Whether a recorded event (a run's trigger, the goal that ended it) is this one: the same source and
 * messageId (`eventKey`). A record from before sources were kept has no source and matches on messageId.
 */
export const isSameEvent = (recorded: EventRef, event: Pick<NormalisedEvent, 'sourceId' | 'messageId'>): boolean =>
  recorded.messageId === event.messageId && (recorded.sourceId ?? event.sourceId) === event.sourceId;
