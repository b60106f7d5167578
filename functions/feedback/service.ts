import { publishEntries, toBusEntry, type Channel, type Clock, type PutEvents, type Suppression } from '../../shared';
import { receivedAfterErasure, type HoldCause, type Tombstone } from '../profile/store';
import { feedbackAttribute, feedbackOf, type FeedbackKind, type SesEvent } from './ses-event';

/** Port: the profile table as the feedback function uses it (`ProfileStore`). */
export interface FeedbackProfiles {
  /** The live profile of a customer, if there is one (an erased or never-seen customer has none). */
  get(id: string): Promise<object | undefined>;
  /** Write, then check: the hold is undone if the customer is erased, unless it is their new life's (`receivedAfterErasure`). */
  /** `address`: the one the message went to, as SES reports it (suppressed for every record with it). */
  putSuppressionHold(id: string, channel: Channel, suppression: Suppression, receivedAt: string, address?: string, writer?: undefined, cause?: HoldCause): Promise<void>;
  /** The customer's live tombstone, if they were erased (a strongly consistent GetItem). */
  tombstone(id: string, now: Date): Promise<Tombstone | undefined>;
}

/** Port: the message records (`JourneyStore.markFeedback`). */
export interface FeedbackMessages {
  markFeedback(customerId: string, executionName: string, stepId: string, attribute: `${string}At`, at: string): Promise<boolean>;
}

export interface FeedbackDeps {
  profiles: FeedbackProfiles;
  messages: FeedbackMessages;
  putEvents: PutEvents;
  clock: Clock;
  /** The Rapport bus the customer events go to (AWS: its name; the engine has one bus). */
  eventBusName?: string;
  publish?: { maxAttempts?: number; baseDelayMs?: number };
  /**
   * Feedback on a customer without a live profile was dropped. The embedded engine forgets the SES event (its bus
   * log would otherwise keep an erased customer's address); in AWS the default bus keeps no log of it.
   */
  onUnknownCustomer?: (customerId: string) => Promise<void>;
}

export type FeedbackOutcome =
  | { status: 'dropped'; reason: 'invalid' | 'ignored-type' | 'untagged' | 'unknown-customer' }
  | { status: 'applied'; kind: FeedbackKind; customerId: string; suppressed: boolean; recorded: boolean; published: boolean }
  /** A hard bounce or complaint on an erased customer's email, received after the erasure completed: published for their new life. */
  | { status: 'erased-life'; kind: FeedbackKind; customerId: string };

/** The customer event could not be put on the bus: the invocation fails and Lambda retries it (then the DLQ). */
export class FeedbackPublishError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FeedbackPublishError';
  }
}

/**
 * One SES event, as Rapport hears it. In this order, each step idempotent, so a redelivery or a retry
 * after a failure repeats nothing that matters:
 * 1. map it (pure, `feedbackOf`); drop what Rapport did not send or does not read;
 * 2. drop it if the customer has no live profile (never seen, or erased: feedback never re-creates one; a hard bounce
 *    or a complaint during the erasure still suppresses the address for a live record that has it), except
 *    a hard bounce or a complaint of a customer whose erasure completed (received after it, so it may be their new
 *    life's, as a one-click unsubscribe is): its hold is written (write, then check: kept only for a new life begun
 *    meanwhile) and its event published, which the profile consumer parks beside the tombstone for the new life to
 *    fold in (or applies to a new life begun since), and never lets start one (`startsNewLife`);
 * 3. a hard bounce or a complaint: write the suppression hold at once, as ingest does, so the send
 *    step skips every later email (transactional too) before the profile consumer has run;
 * 4. mark the message record (the earliest time of each kind; a missing record is not created);
 * 5. put the customer event on the Rapport bus (`Message Bounced`, ...), its messageId derived from the
 *    SES feedback, so the profile consumer applies a redelivered one once.
 */
export async function handleSesFeedback(event: Pick<SesEvent, 'detail-type' | 'detail'>, deps: FeedbackDeps): Promise<FeedbackOutcome> {
  const receivedAt = deps.clock.now().toISOString();
  const feedback = feedbackOf(event['detail-type'], event.detail, receivedAt);
  if (!feedback.ok) return { status: 'dropped', reason: feedback.reason };
  const { customerId, executionName, stepId } = feedback.message;
  const publish = async (event: NonNullable<typeof feedback.event>) => {
    const result = await publishEntries(deps.putEvents, [toBusEntry(event, deps.eventBusName)], { clock: deps.clock, ...deps.publish });
    if (result.failed.length > 0) throw new FeedbackPublishError(`PutEvents failed for ${event.event}: ${result.failed[0]!.errorCode} ${result.failed[0]!.errorMessage}`);
  };
  if (!(await deps.profiles.get(customerId))) {
    // The SES event names the erased life's address: the engine's bus log forgets it before anything else is published.
    await deps.onUnknownCustomer?.(customerId);
    const tombstone = feedback.suppression && feedback.event ? await deps.profiles.tombstone(customerId, deps.clock.now()) : undefined;
    if (tombstone === undefined) return { status: 'dropped', reason: 'unknown-customer' };
    if (!receivedAfterErasure({ receivedAt }, tombstone)) {
      // Mid-erasure: nothing for the erased person (no event, the customer's own hold undone by its write-then-check),
      // but the address the mail went to may be another live record's (a guest checkout and the account): the
      // address's suppression is kept for it (ProfileStore#keepForLiveHolder), else taken back.
      await deps.profiles.putSuppressionHold(customerId, 'email', feedback.suppression!, receivedAt, feedback.to, undefined, feedback.event);
      return { status: 'dropped', reason: 'unknown-customer' };
    }
    await deps.profiles.putSuppressionHold(customerId, 'email', feedback.suppression!, receivedAt, feedback.to, undefined, feedback.event);
    await publish(feedback.event!);
    return { status: 'erased-life', kind: feedback.kind, customerId };
  }
  if (feedback.suppression) await deps.profiles.putSuppressionHold(customerId, 'email', feedback.suppression, receivedAt, feedback.to, undefined, feedback.event);
  const recorded = await deps.messages.markFeedback(customerId, executionName, stepId, feedbackAttribute(feedback.kind), feedback.at);
  let published = false;
  if (feedback.event) {
    await publish(feedback.event);
    published = true;
  }
  return { status: 'applied', kind: feedback.kind, customerId, suppressed: feedback.suppression !== undefined, recorded, published };
}
