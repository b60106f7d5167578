/**
 * A hard bounce or a spam complaint an email tool reports through ingest suppresses the address it names (its
 * `context.traits.email`: where the mail went), not the record's address when the report arrives (`recordHolds` passes
 * the event's address to `putSuppressionHold`, as it does for denials). The guest and the account share X; the account
 * moves to Y; the tool reports a hard bounce (resp. `Email Marked as Spam`) of mail it sent the account at X: X is
 * suppressed (the guest's offer at X is skipped `suppressed`), Y, the account's working address, is not.
 * Control: the bounce before the move.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';

const { t, later, offer, latestOffer, addressItems, guestAndAccount } = offerScenario({ name: 'tool-bounce' });

const suppressed = async (address: string) => (await addressItems(address, 'address-suppression')).length === 1;

async function scenario(person: string, kind: 'bounce' | 'spam', movesFirst: boolean) {
  const fresh = `${person}-new@example.org`;
  const { address, account, guest } = await guestAndAccount(person);
  if (movesFirst) {
    await t.api.sendAndSettle({ type: 'identify', userId: account, traits: { email: fresh } });
    await later(60_000);
  }
  // The email tool's report of its mail to the account at X (the address that bounced, named).
  const report = kind === 'bounce' ? { event: 'Message Bounced', properties: { channel: 'email', bounceType: 'hard' } } : { event: 'Email Marked as Spam', properties: {} };
  await t.api.sendAndSettle({ type: 'track', userId: account, messageId: `${person}-report`, ...report, context: { traits: { email: address } } });
  await later(60_000);
  await offer(guest, 1);
  return { bouncedSuppressed: await suppressed(address), newAddressSuppressed: await suppressed(fresh), guestOffer: await latestOffer(guest) };
}

describe("an email tool's hard bounce or complaint naming the address, reported after the record moved", () => {
  it('control: the bounce before the move suppresses the address; the guest is not mailed', async () => {
    expect(await scenario('a17tb-ctl', 'bounce', false)).toEqual({ bouncedSuppressed: true, newAddressSuppressed: false, guestOffer: 'suppressed' });
  }, 60_000);

  it('the bounce after the move suppresses the address that bounced, not the new one', async () => {
    expect(await scenario('a17tb', 'bounce', true)).toEqual({ bouncedSuppressed: true, newAddressSuppressed: false, guestOffer: 'suppressed' });
  }, 60_000);

  it('the complaint after the move suppresses the address complained from, not the new one', async () => {
    expect(await scenario('a17ts', 'spam', true)).toEqual({ bouncedSuppressed: true, newAddressSuppressed: false, guestOffer: 'suppressed' });
  }, 60_000);
});
