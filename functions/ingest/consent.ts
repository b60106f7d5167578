import { addressNamedBy, CHANNEL_ADDRESS_TRAIT, consentChanges, consentDenials, consentRecord, mapLimit, suppressionsOf, topicConsentChanges, type Channel, type ConsentRecord, type NormalisedEvent, type Suppression } from '../../shared';

/** The event a hold is written for: its mark is the hold's cause (ProfileStore's `HoldCause`). */
type HoldCause = Pick<NormalisedEvent, 'sourceId' | 'messageId'>;

/**
 * Port: record a consent denial or a suppression for a customer as it is received
 * (ProfileStore.putConsentHold, ProfileStore.putSuppressionHold).
 */
export interface ConsentHolds {
  /** A channel's denial, or with `topic` a subscription topic's on the channel. */
  putConsentHold(customerId: string, channel: Channel, record: ConsentRecord, topic?: string): Promise<void>;
  /** A hard bounce or complaint; `address`: the one the event names (else the customer's own) is suppressed too. */
  putSuppressionHold(customerId: string, channel: Channel, suppression: Suppression, receivedAt: string, address?: string, writer?: undefined, cause?: HoldCause): Promise<void>;
  /** The customer a visitor (`anon:<anonymousId>`) is linked to now, if any (ProfileStore.linkedTo). */
  linkedTo?(id: string): Promise<string | undefined>;
  /**
   * A channel's consent change (a denial or a grant) as its address's, for every customer record with the address
   * (`address`: the one the event names, else the customer's own); a send to the address reads its latest.
   */
  putAddressConsent?(customerId: string, channel: Channel, record: ConsentRecord, address?: string, topic?: string, writer?: undefined, cause?: HoldCause): Promise<void>;
  /**
   * A one-click link's denial of the address its message went to (`addressHash`), whatever became of the customer it
   * names (moved to another address, erased: kept for the records that still have it): ProfileStore.denyAddressOfLink.
   */
  denyAddressOfLink?(customerId: string, addressHash: string, channel: Channel, record: ConsentRecord, cause?: HoldCause): Promise<void>;
}

/** What the events' sender may do to an address (all events of one request come from one source). */
export interface HoldOptions {
  /**
   * Whether the source may set the `email` trait (its `traits` permissions list it, or list none): only then does an
   * address its events name (`traits.email`, `context.traits.email`) count; otherwise a denial is the address's of the
   * customer's live profile only, as a grant always is.
   */
  mayNameAddress?: boolean;
  /** The same for the `phone` trait (the number of SMS and WhatsApp denials): `traits.phone`, `context.traits.phone`. */
  mayNamePhone?: boolean;
}

/**
 * Record the consent denials (Unsubscribed, of a channel or a topic on it, identify `consent: {<channel>: false}`) and the suppressions
 * (a hard Message Bounced) among `events` under the customer they name, before ingest answers: the send
 * step honours them from then on. A channel's denials and grants are recorded as its address's too
 * (`putAddressConsent`): a denial stops marketing to the address for every customer record with it, until a later
 * grant of the address. A denial's address is the one the event names, else one an earlier identify of the same customer
 * in `events` sets (the batch that brings the address: the profile consumer applies it only later), else the customer's
 * live profile's; a grant's is only ever the live profile's (an address a sender merely names is no record's: a grant
 * naming it would lift the denial of a stranger's address). Idempotent (a retried request records the same).
 */
export async function recordHolds(holds: ConsentHolds | undefined, events: readonly NormalisedEvent[], options: HoldOptions = {}): Promise<void> {
  if (!holds) return;
  const mayName = (trait: string) => (trait === 'email' ? (options.mayNameAddress ?? true) : trait === 'phone' ? (options.mayNamePhone ?? true) : false);
  const customerOf = (event: NormalisedEvent) => event.userId ?? `anon:${event.anonymousId}`;
  const denies = (event: NormalisedEvent) => consentDenials(event).length > 0 || topicConsentChanges(event).some((c) => c.status === 'denied') || suppressionsOf(event).length > 0;
  // A visitor's denial is held under the customer it is linked to as well: a send reads the holds of the visitor ids
  // the profile lists, which keeps the newest PROFILE_LIMITS.anonymousIds; an older visitor is linked still.
  const visitors = [...new Set(events.filter((e) => e.userId === undefined && denies(e)).map(customerOf))];
  const linked = new Map(holds.linkedTo === undefined ? [] : await mapLimit(visitors, 16, async (v) => [v, await holds.linkedTo!(v)] as const));
  // Each channel's address is its own trait's (`CHANNEL_ADDRESS_TRAIT`: email's `email`, SMS's and WhatsApp's `phone`).
  // Per event and trait, in the batch's order: the address a denial or suppression is for (the one the event names,
  // from a source that may set the trait, else the one an earlier identify of the same customer in `events` gives
  // them; undefined: the customer's live profile's), and a grant's (only the batch identify's; undefined: the live
  // profile's; never one the event alone names: a grant naming it would lift the denial of a stranger's address).
  const batchAddress = new Map<string, string>();
  const batchKey = (event: NormalisedEvent, trait: string) => `${trait}\n${customerOf(event)}`;
  const addresses = new Map<NormalisedEvent, Record<string, { denied?: string; granted?: string }>>();
  for (const event of events) {
    const of: Record<string, { denied?: string; granted?: string }> = {};
    for (const trait of ['email', 'phone']) {
      const named = mayName(trait) ? addressNamedBy(event, trait) : undefined;
      if (named !== undefined && event.type === 'identify' && typeof event.traits[trait] === 'string') batchAddress.set(batchKey(event, trait), named);
      const batch = batchAddress.get(batchKey(event, trait));
      of[trait] = { ...((named ?? batch) !== undefined && { denied: named ?? batch }), ...(batch !== undefined && { granted: batch }) };
    }
    addresses.set(event, of);
  }
  const addressFor = (event: NormalisedEvent, channel: Channel, status: string) => addresses.get(event)?.[CHANNEL_ADDRESS_TRAIT[channel]]?.[status === 'denied' ? 'denied' : 'granted'];
  /** The holds `event` puts under customer `id`. */
  const holdWrites = (event: NormalisedEvent, id: string): Array<{ id: string; write: () => Promise<void> }> =>
    [
      ...consentDenials(event).map((change) => () => holds.putConsentHold(id, change.channel, consentRecord(change))),
      // A topic's denial (`Unsubscribed {channel, topic}`) holds from the answer too, as a channel's.
      ...topicConsentChanges(event)
        .filter((change) => change.status === 'denied')
        .map((change) => () => holds.putConsentHold(id, change.channel, consentRecord(change), change.topic)),
      // The address the bounce or complaint names (the tool's report of where the message went), not the one the record has now.
      ...suppressionsOf(event).map(({ channel, suppression }) => () => holds.putSuppressionHold(id, channel, suppression, event.receivedAt, addressFor(event, channel, 'denied'), undefined, event)),
    ].map((write) => ({ id, write }));
  const writes: Array<{ id: string; write: () => Promise<void> }> = events.flatMap((event) =>
    [customerOf(event), linked.get(customerOf(event))].flatMap((id) => (id === undefined ? [] : holdWrites(event, id))),
  );
  // The address's own consent: every change of a channel, in consent order (a grant lifts an earlier denial of the
  // address), once per event, under the customer (a visitor's: the one it is linked to); and a subscription topic's
  // (the preference page, `Unsubscribed {channel, topic}`): leaving a topic from one record leaves it for the address,
  // only the address's own record re-joining lifts that.
  /** The address holds `event` puts, under customer `id` (a visitor's: the one it is linked to). */
  const addressWrites = (event: NormalisedEvent, id: string): Array<{ id: string; write: () => Promise<void> }> =>
    holds.putAddressConsent === undefined
      ? []
      : [
          ...consentChanges(event).map((change) => ({ id, write: () => holds.putAddressConsent!(id, change.channel, consentRecord(change), addressFor(event, change.channel, change.status), undefined, undefined, event) })),
          ...topicConsentChanges(event).map((change) => ({ id, write: () => holds.putAddressConsent!(id, change.channel, consentRecord(change), addressFor(event, change.channel, change.status), change.topic, undefined, event) })),
        ];
  for (const event of events) writes.push(...addressWrites(event, linked.get(customerOf(event)) ?? customerOf(event)));
  // One customer's writes one after another (many of them are the same hold of their address: written concurrently
  // they would retry over each other, `ProfileStore#writeAddressHold`), customers side by side.
  const byCustomer = new Map<string, Array<() => Promise<void>>>();
  for (const { id, write } of writes) {
    const ofOne = byCustomer.get(id) ?? [];
    ofOne.push(write);
    byCustomer.set(id, ofOne);
  }
  await mapLimit([...byCustomer.values()], 16, async (ofOne) => {
    for (const write of ofOne) await write();
  });
  // Write, then check: a visitor found unlinked above may have been linked since, and even have left its customer's
  // list of visitor ids, its holds carried to the customer before these were written (ProfileStore.carryHolds). Read
  // again now that they are written: one linked by now gets them under its customer too. (A link after this read
  // comes after the writes, so the carry at its eviction finds them.)
  const unlinked = visitors.filter((v) => linked.get(v) === undefined);
  if (holds.linkedTo === undefined || unlinked.length === 0) return;
  const linkedSince = new Map((await mapLimit(unlinked, 16, async (v) => [v, await holds.linkedTo!(v)] as const)).filter((entry): entry is readonly [string, string] => entry[1] !== undefined));
  if (linkedSince.size === 0) return;
  // Its holds, and the address's (the customer's address or number: the visitor had none).
  const late = events.flatMap((event) => {
    const customer = linkedSince.get(customerOf(event));
    return customer === undefined ? [] : [...holdWrites(event, customer), ...addressWrites(event, customer)];
  });
  for (const { write } of late) await write();
}
