/**
 * A record whose `email` trait names the address with a display name is not mailed after the address's unsubscribe.
 *
 * Promise (issue 10, consent is law per address): an unsubscribe is the address's: no marketing mail goes to the
 * address after its receipt, whichever record it is sent for. The account has `<person>@example.com` and
 * unsubscribes; the guest record has the same address as a CRM export wrote it, `Kim Lee <<person>@example.com>` (a
 * mailbox as RFC 5322 and SES's destinations take it). Email takes any `email` trait (no address format), so the
 * offer goes to the guest: the send reads the address's holds under the hash of the trait as written (trimmed,
 * lower-cased: `emailAddressHash`), not of the mailbox it names. Control: the guest's address in capitals and padded
 * (`  <PERSON>@Example.COM `) reads as the account's: the offer is skipped.
 * Found by the 21st hostile audit, where it broke.
 * Now: an address is hashed by its mailbox (`emailAddressHash`: `Name <mailbox>` reads as `mailbox`).
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';
import { outboxFor } from '../helpers/journeys';

const { t, offer, latestOffer, accountUnsubscribed } = offerScenario({ name: 'a21-display-name' });

async function scenario(person: string, guestEmail: (address: string) => string) {
  const { guest } = await accountUnsubscribed(person, { guestAlongside: guestEmail(`${person}@example.com`) });
  await offer(guest, 1);
  return { guestOffer: await latestOffer(guest), mailsToGuest: outboxFor(t.engine, guest).filter((m) => m.channel === 'email').length };
}

describe("the account's unsubscribe, a guest record with the address written otherwise", () => {
  it('control: the guest has the address in capitals, padded: not mailed', async () => {
    expect(await scenario('a21dn-ctl', (a) => `  ${a.toUpperCase()} `)).toEqual({ guestOffer: 'unsubscribed', mailsToGuest: 0 });
  }, 60_000);

  it('the guest has the address with a display name: not mailed', async () => {
    expect(await scenario('a21dn', (a) => `Kim Lee <${a}>`)).toEqual({ guestOffer: 'unsubscribed', mailsToGuest: 0 });
  }, 60_000);
});
