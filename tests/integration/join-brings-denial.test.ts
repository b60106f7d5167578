/**
 * A denial a join brings is the address's too, for email and for the phone number alike: an alias joining a record
 * that unsubscribed (resp. texted STOP) while it had no address into the account with X (resp. a visitor that
 * unsubscribed, then linked by the account's identify) makes the account denied on the channel, and the profile
 * consumer writes X's denial (`denyAddress`: the record was not denied before this write), so the guest sharing X is
 * not mailed (resp. texted). Control: the app record had the address when it unsubscribed.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';

const CHANNELS = [
  { channel: 'email', trait: 'email', address: (n: number) => `join-${n}@example.com`, world: offerScenario({ name: 'join-denial-email' }) },
  { channel: 'sms', trait: 'phone', address: (n: number) => `+44770090040${n}`, world: offerScenario({ name: 'join-denial-sms', channel: 'sms' }) },
] as const;

describe.each(CHANNELS)('a join bringing a $channel denial', ({ channel, trait, address: addressOf, world: { t, later, offer, latestOffer } }) => {
  /** The account and the guest share the address; `unsubscribe` is the record that unsubscribes, `link` joins it into the account. */
  async function scenario(person: string, address: string, unsubscribe: { userId: string } | { anonymousId: string }, link: () => Promise<unknown>) {
    const account = `u-${person}`;
    const guest = `guest-${person}`;
    await t.api.send([
      { type: 'identify', userId: guest, traits: { [trait]: address } },
      { type: 'identify', userId: account, traits: { [trait]: address } },
    ]);
    await later(60_000);
    await t.api.sendAndSettle({ type: 'track', ...unsubscribe, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel } });
    await later(60_000);
    await link();
    await later(60_000);
    await offer(account, 1);
    await offer(guest, 1);
    return { account: await latestOffer(account), guest: await latestOffer(guest) };
  }

  /** An app record (with the address, or without) unsubscribes, then an alias joins it into the account. */
  async function aliased(person: string, address: string, appHadAddress: boolean) {
    const app = `app-${person}`;
    await t.api.sendAndSettle({ type: 'identify', userId: app, traits: appHadAddress ? { [trait]: address, plan: 'app' } : { plan: 'app' } });
    return scenario(person, address, { userId: app }, () => t.api.sendAndSettle({ type: 'alias', previousId: app, userId: `u-${person}`, messageId: `${person}-alias` }));
  }

  it(`control: the app record had the address when it unsubscribed: neither the account nor the guest gets ${channel} marketing`, async () => {
    expect(await aliased(`jc-${channel}`, addressOf(1), true)).toEqual({ account: 'unsubscribed', guest: 'unsubscribed' });
  }, 60_000);

  it(`the app record had no address: neither the account nor the guest gets ${channel} marketing`, async () => {
    expect(await aliased(`ja-${channel}`, addressOf(2), false)).toEqual({ account: 'unsubscribed', guest: 'unsubscribed' });
  }, 60_000);

  it(`a visitor unsubscribed, then linked into the account: neither the account nor the guest gets ${channel} marketing`, async () => {
    const person = `jv-${channel}`;
    const visitor = `${person}-device`;
    const link = () => t.api.sendAndSettle({ type: 'identify', userId: `u-${person}`, anonymousId: visitor, messageId: `${person}-link`, traits: {} });
    expect(await scenario(person, addressOf(3), { anonymousId: visitor }, link)).toEqual({ account: 'unsubscribed', guest: 'unsubscribed' });
  }, 60_000);
});
