/**
 * A spam complaint suppresses the address the message went to, not the customer's address when the complaint
 * arrives (README "Consent": a hard bounce or a complaint stops every email to the address, for every record with it).
 * One person, two records with address A (a guest checkout and the account). The account gets an offer at A, then
 * changes its address to B; SES reports a spam complaint about that offer a little later, as feedback loops do. The
 * SES feedback function suppresses the complaining recipient SES names (`complainedRecipients`, else
 * `mail.destination`): A, so the guest's offer is skipped `suppressed`, and B (the person's new address) is not
 * suppressed. Before, it suppressed the live profile's address (B) and A kept getting mail. Control: the complaint
 * before the change.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';
import { outboxFor } from '../helpers/journeys';

const { t, later, offer, latestOffer, addressItems, guestAndAccount } = offerScenario({ name: 'complaint-address' });

const suppressed = async (address: string) => (await addressItems(address, 'address-suppression')).length === 1;

async function scenario(person: string, changesAddressFirst: boolean) {
  const fresh = `${person}-new@example.org`;
  const { address, account, guest } = await guestAndAccount(person);
  await offer(account, 1);
  const [mail] = outboxFor(t.engine, account);
  const wentTo = JSON.stringify((mail as unknown as { to: unknown }).to).includes(address);
  if (changesAddressFirst) {
    await t.api.sendAndSettle({ type: 'identify', userId: account, traits: { email: fresh } });
    await later(60_000);
  }
  // SES: the recipient of that offer (at the old address) marked it as spam.
  t.engine.feedback(mail!.outboxId, { type: 'complaint' });
  await later(60_000);
  await offer(guest, 2);
  return { wentTo, oldAddressSuppressed: await suppressed(address), newAddressSuppressed: await suppressed(fresh), guestOffer: await latestOffer(guest) };
}

describe('a complaint about mail sent to an address the customer has since changed', () => {
  it('control: the complaint before the change suppresses the address; the guest record is not mailed', async () => {
    expect(await scenario('cmp-ctl', false)).toEqual({ wentTo: true, oldAddressSuppressed: true, newAddressSuppressed: false, guestOffer: 'suppressed' });
  }, 60_000);

  it('a complaint after the change suppresses the address the message went to', async () => {
    expect(await scenario('cmp', true)).toEqual({ wentTo: true, oldAddressSuppressed: true, newAddressSuppressed: false, guestOffer: 'suppressed' });
  }, 60_000);
});
