/**
 * An SMS STOP naming the number without its `+`, for a record that has moved to another number, denies that number.
 *
 * Promise (issue 10, consent per address): a STOP is the number's (the one that texted STOP), and holds for every
 * record with that number. The guest and the account share N; the account then moves to M. The provider reports a
 * STOP from N as `447700900…` (no `+`) for the account. `#putAddressHold` takes a named value the channel cannot take
 * as "no number named" and denies the account's own number, M; the consumer does the same (the profile's number). N,
 * the number that texted STOP, is never denied: the guest with N is texted. Control: the STOP names `+447700900…`.
 * Found by the 20th hostile audit, where it broke.
 * Now: a named number in international form without `+` is read with it (`namedPhoneNumberOf`).
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';

const { t, later, offer, latestOffer, guestAndAccount } = offerScenario({ name: 'a20-stop-moved', channel: 'sms' });

async function scenario(person: string, n: string, m: string, named: string) {
  const { account, guest } = await guestAndAccount(person, n);
  await t.api.sendAndSettle({ type: 'identify', userId: account, traits: { phone: m } });
  await later(60_000);
  await t.api.sendAndSettle({ type: 'track', userId: account, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'sms' }, context: { traits: { phone: named } } });
  await later(60_000);
  await offer(guest, 1);
  return latestOffer(guest);
}

describe('a STOP from the number the account had, reported for the account after it moved', () => {
  it('control: the STOP names +447700900411: the guest with that number is not texted', async () => {
    expect(await scenario('a20sm-ctl', '+447700900411', '+447700900412', '+447700900411')).toBe('unsubscribed');
  }, 60_000);

  it('the STOP names 447700900421: the guest with that number is not texted', async () => {
    expect(await scenario('a20sm', '+447700900421', '+447700900422', '447700900421')).toBe('unsubscribed');
  }, 60_000);
});
