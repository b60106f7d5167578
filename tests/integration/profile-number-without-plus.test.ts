/**
 * A record whose `phone` trait is the number without its `+` is not texted after the number's STOP.
 *
 * Promise (issue 10, consent is law per address): an SMS STOP is the number's: no marketing text goes to the number
 * after its receipt, whichever record it is sent for. The account has `+447700900411` and texts STOP; the guest record
 * has the same number as a form wrote it, `447700900411` (the form the STOP's sender is read in: `namedPhoneNumberOf`).
 * SMS takes any `phone` (no address format), so the offer goes to the guest: the send reads the number's holds under
 * `phoneNumberOf` of the guest's trait (`holdsOf`), which reads no number without `+`, so no address hold is read.
 * Control: the guest's number written with spaces (`+44 7700 900412`) reads as the account's: the offer is skipped.
 * Found by the 21st hostile audit, where it broke.
 * Now: SMS addresses are E.164 as WhatsApp's (a number with spaces reads as E.164; one without `+` reaches nothing).
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';
import { outboxFor } from '../helpers/journeys';

const { t, offer, latestOffer, accountUnsubscribed } = offerScenario({ name: 'a21-no-plus', channel: 'sms' });

async function scenario(person: string, accountPhone: string, guestPhone: string) {
  const { guest } = await accountUnsubscribed(person, { address: accountPhone, guestAlongside: guestPhone });
  await offer(guest, 1);
  return { guestOffer: await latestOffer(guest), textsToGuest: outboxFor(t.engine, guest).filter((m) => m.channel === 'sms').length };
}

describe("the account's STOP, a guest record with the number written otherwise", () => {
  it('control: the guest has the number with spaces: not texted', async () => {
    expect(await scenario('a21np-ctl', '+447700900412', '+44 7700 900412')).toEqual({ guestOffer: 'unsubscribed', textsToGuest: 0 });
  }, 60_000);

  it('the guest has the number without its +: not texted (no E.164 number: SMS cannot reach it)', async () => {
    expect(await scenario('a21np', '+447700900411', '447700900411')).toEqual({ guestOffer: 'invalid-address', textsToGuest: 0 });
  }, 60_000);
});
