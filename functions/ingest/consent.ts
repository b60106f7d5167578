import { consentDenials, consentRecord, mapLimit, suppressionsOf, topicConsentChanges, type Channel, type ConsentRecord, type NormalisedEvent, type Suppression } from '../../shared';

/**
 * Port: record a consent denial or a suppression for a customer as it is received
 * (ProfileStore.putConsentHold, ProfileStore.putSuppressionHold).
 */
export interface ConsentHolds {
  /** A channel's denial, or with `topic` a subscription topic's on the channel. */
  putConsentHold(customerId: string, channel: Channel, record: ConsentRecord, topic?: string): Promise<void>;
  putSuppressionHold(customerId: string, channel: Channel, suppression: Suppression, receivedAt: string): Promise<void>;
}

/**
 * Record the consent denials (Unsubscribed, of a channel or a topic on it, identify `consent: {<channel>: false}`) and the suppressions
 * (a hard Message Bounced) among `events` under the customer they name, before ingest answers: the send
 * step honours them from then on. Idempotent (a retried request records the same).
 */
export async function recordHolds(holds: ConsentHolds | undefined, events: readonly NormalisedEvent[]): Promise<void> {
  if (!holds) return;
  const customerOf = (event: NormalisedEvent) => event.userId ?? `anon:${event.anonymousId}`;
  const writes = events.flatMap((event) => [
    ...consentDenials(event).map((change) => () => holds.putConsentHold(customerOf(event), change.channel, consentRecord(change))),
    // A topic's denial (`Unsubscribed {channel, topic}`) holds from the answer too, as a channel's.
    ...topicConsentChanges(event)
      .filter((change) => change.status === 'denied')
      .map((change) => () => holds.putConsentHold(customerOf(event), change.channel, consentRecord(change), change.topic)),
    ...suppressionsOf(event).map(({ channel, suppression }) => () => holds.putSuppressionHold(customerOf(event), channel, suppression, event.receivedAt)),
  ]);
  await mapLimit(writes, 16, (write) => write());
}
