import { consentDenials, consentRecord, mapLimit, type Channel, type ConsentRecord, type NormalisedEvent } from '../../shared';

/** Port: record a consent denial for a customer as it is received (ProfileStore.putConsentHold). */
export interface ConsentHolds {
  putConsentHold(customerId: string, channel: Channel, record: ConsentRecord): Promise<void>;
}

/**
 * Record the consent denials among `events` (Unsubscribed, identify `consent: {<channel>: false}`)
 * under the customer they name. Idempotent (a retried request records the same).
 */
export async function recordDenials(holds: ConsentHolds | undefined, events: readonly NormalisedEvent[]): Promise<void> {
  if (!holds) return;
  const denials = events.flatMap((event) => consentDenials(event).map((change) => ({ customerId: event.userId ?? `anon:${event.anonymousId}`, change })));
  await mapLimit(denials, 16, ({ customerId, change }) => holds.putConsentHold(customerId, change.channel, consentRecord(change)));
}
