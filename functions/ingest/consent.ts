import { consentDenials, consentRecord, mapLimit, suppressionsOf, topicConsentChanges, type Channel, type ConsentRecord, type NormalisedEvent, type Suppression } from '../../shared';

/**
 * Port: record a consent denial or a suppression for a customer as it is received
 * (ProfileStore.putConsentHold, ProfileStore.putSuppressionHold).
 */
export interface ConsentHolds {
  /** A channel's denial, or with `topic` a subscription topic's on the channel. */
  putConsentHold(customerId: string, channel: Channel, record: ConsentRecord, topic?: string): Promise<void>;
  putSuppressionHold(customerId: string, channel: Channel, suppression: Suppression, receivedAt: string): Promise<void>;
  /** The customer a visitor (`anon:<anonymousId>`) is linked to now, if any (ProfileStore.linkedTo). */
  linkedTo?(id: string): Promise<string | undefined>;
}

/**
 * Record the consent denials (Unsubscribed, of a channel or a topic on it, identify `consent: {<channel>: false}`) and the suppressions
 * (a hard Message Bounced) among `events` under the customer they name, before ingest answers: the send
 * step honours them from then on. Idempotent (a retried request records the same).
 */
export async function recordHolds(holds: ConsentHolds | undefined, events: readonly NormalisedEvent[]): Promise<void> {
  if (!holds) return;
  const customerOf = (event: NormalisedEvent) => event.userId ?? `anon:${event.anonymousId}`;
  const denies = (event: NormalisedEvent) => consentDenials(event).length > 0 || topicConsentChanges(event).some((c) => c.status === 'denied') || suppressionsOf(event).length > 0;
  // A visitor's denial is held under the customer it is linked to as well: a send reads the holds of the visitor ids
  // the profile lists, which keeps the newest PROFILE_LIMITS.anonymousIds; an older visitor is linked still.
  const visitors = [...new Set(events.filter((e) => e.userId === undefined && denies(e)).map(customerOf))];
  const linked = new Map(holds.linkedTo === undefined ? [] : await mapLimit(visitors, 16, async (v) => [v, await holds.linkedTo!(v)] as const));
  const writes = events.flatMap((event) =>
    [customerOf(event), linked.get(customerOf(event))].flatMap((id) =>
      id === undefined
        ? []
        : [
            ...consentDenials(event).map((change) => () => holds.putConsentHold(id, change.channel, consentRecord(change))),
            // A topic's denial (`Unsubscribed {channel, topic}`) holds from the answer too, as a channel's.
            ...topicConsentChanges(event)
              .filter((change) => change.status === 'denied')
              .map((change) => () => holds.putConsentHold(id, change.channel, consentRecord(change), change.topic)),
            ...suppressionsOf(event).map(({ channel, suppression }) => () => holds.putSuppressionHold(id, channel, suppression, event.receivedAt)),
          ],
    ),
  );
  await mapLimit(writes, 16, (write) => write());
}
