/**
 * A denial a join brings is the phone number's too, as it is the email address's (join-brings-denial.test.ts): an
 * alias joining a record that texted STOP while it had no number into the account with number N (resp. a visitor that
 * opted out, then linked by the account's identify) makes the account's SMS denied, and the profile consumer writes
 * N's denial (`denyAddress` for `sms`: the record was not denied before this write), so the guest sharing N gets no
 * marketing text. Control: the app record had the number when it texted STOP.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';

const { t, later, offer, latestOffer } = offerScenario({ name: 'join-number-denial', channel: 'sms' });

async function scenario(person: string, phone: string, appHadNumber: boolean) {
  const app = `app-${person}`;
  const account = `u-${person}`;
  const guest = `guest-${person}`;
  await t.api.send([
    { type: 'identify', userId: app, traits: appHadNumber ? { phone, plan: 'app' } : { plan: 'app' } },
    { type: 'identify', userId: guest, traits: { phone } },
    { type: 'identify', userId: account, traits: { phone } },
  ]);
  await later(60_000);
  await t.api.sendAndSettle({ type: 'track', userId: app, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'sms' } });
  await later(60_000);
  await t.api.sendAndSettle({ type: 'alias', previousId: app, userId: account, messageId: `${person}-alias` });
  await later(60_000);
  await offer(account, 1);
  await offer(guest, 1);
  return { account: await latestOffer(account), guest: await latestOffer(guest) };
}

describe('an alias joining a record that texted STOP without a number into the account with one', () => {
  it('control: the app record had the number when it texted STOP: neither the account nor the guest is texted', async () => {
    expect(await scenario('jn-ctl', '+447700900401', true)).toEqual({ account: 'unsubscribed', guest: 'unsubscribed' });
  }, 60_000);

  it('the app record had no number: neither the account nor the guest is texted', async () => {
    expect(await scenario('jn', '+447700900402', false)).toEqual({ account: 'unsubscribed', guest: 'unsubscribed' });
  }, 60_000);

  it('a visitor texted STOP, then linked into the account: neither the account nor the guest is texted', async () => {
    const person = 'jnv';
    const phone = '+447700900403';
    const account = `u-${person}`;
    const guest = `guest-${person}`;
    const visitor = `${person}-device`;
    await t.api.send([
      { type: 'identify', userId: guest, traits: { phone } },
      { type: 'identify', userId: account, traits: { phone } },
    ]);
    await later(60_000);
    await t.api.sendAndSettle({ type: 'track', anonymousId: visitor, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'sms' } });
    await later(60_000);
    await t.api.sendAndSettle({ type: 'identify', userId: account, anonymousId: visitor, messageId: `${person}-link`, traits: {} });
    await later(60_000);
    await offer(account, 1);
    await offer(guest, 1);
    expect({ account: await latestOffer(account), guest: await latestOffer(guest) }).toEqual({ account: 'unsubscribed', guest: 'unsubscribed' });
  }, 60_000);
});
