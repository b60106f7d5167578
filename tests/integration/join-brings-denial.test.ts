/**
 * A denial a join brings is the address's too: an alias joining a record that unsubscribed while it had no address
 * into the account with X (resp. a visitor that unsubscribed, then linked by the account's identify) makes the account
 * unsubscribed, and the profile consumer writes X's denial (`denyAddress`: the record was not denied before this
 * write), so the guest at X is not mailed. Control: the app record had the address when it unsubscribed.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';

const { t, later, offer, latestOffer } = offerScenario({ name: 'a19-join-denial' });

async function scenario(person: string, appHadAddress: boolean) {
  const address = `${person}@example.com`;
  const app = `app-${person}`;
  const account = `u-${person}`;
  const guest = `guest-${person}`;
  await t.api.send([
    { type: 'identify', userId: app, traits: appHadAddress ? { email: address, plan: 'app' } : { plan: 'app' } },
    { type: 'identify', userId: guest, traits: { email: address } },
    { type: 'identify', userId: account, traits: { email: address } },
  ]);
  await later(60_000);
  await t.api.sendAndSettle({ type: 'track', userId: app, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'email' } });
  await later(60_000);
  await t.api.sendAndSettle({ type: 'alias', previousId: app, userId: account, messageId: `${person}-alias` });
  await later(60_000);
  await offer(account, 1);
  await offer(guest, 1);
  return { account: await latestOffer(account), guest: await latestOffer(guest) };
}

describe('an alias joining an unsubscribed record without an address into the account with one', () => {
  it('control: the app record had the address when it unsubscribed: the account and the guest are not mailed', async () => {
    expect(await scenario('a19jd-ctl', true)).toEqual({ account: 'unsubscribed', guest: 'unsubscribed' });
  }, 60_000);

  it('the app record had no address: the account and the guest are not mailed', async () => {
    expect(await scenario('a19jd', false)).toEqual({ account: 'unsubscribed', guest: 'unsubscribed' });
  }, 60_000);

  it('a visitor unsubscribed, then linked into the account: the account and the guest are not mailed', async () => {
    const person = 'a19jv';
    const address = `${person}@example.com`;
    const account = `u-${person}`;
    const guest = `guest-${person}`;
    const visitor = `${person}-device`;
    await t.api.send([
      { type: 'identify', userId: guest, traits: { email: address } },
      { type: 'identify', userId: account, traits: { email: address } },
    ]);
    await later(60_000);
    await t.api.sendAndSettle({ type: 'track', anonymousId: visitor, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'email' } });
    await later(60_000);
    await t.api.sendAndSettle({ type: 'identify', userId: account, anonymousId: visitor, messageId: `${person}-link`, traits: {} });
    await later(60_000);
    await offer(account, 1);
    await offer(guest, 1);
    expect({ account: await latestOffer(account), guest: await latestOffer(guest) }).toEqual({ account: 'unsubscribed', guest: 'unsubscribed' });
  }, 60_000);
});
