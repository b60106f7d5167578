/**
 * Two more ways the late drop of an erased life's event deletes a denial that another record (now linked into the new
 * life) gave of the shared address: a comeback via a visitor link (email), and a join of the guest sharing a phone
 * number (SMS STOP). The root cause of late-drop-takes-other-records-holds.test.ts, reached by attack paths 1 (SMS) and
 * 3 (visitor link) of the 27th audit.
 *
 * Promise (issue 10: consent is law per address, the phone number's STOP included; one person's two records sharing an
 * address never let a denial be lost). Visitor: the account `u-<p>` has X; a visitor (`<p>-device`, identified with
 * X) unsubscribes: X denied. An event of the account is held by EventBridge; the account is erased (the visitor still
 * has X: X's denial kept for it). The account comes back by an identify with the visitor's anonymousId (the visitor is
 * linked, frozen). SMS: the guest sharing the number N texts STOP (N denied on SMS); the account is erased, comes back
 * with N, and the guest is joined into it by an alias. Then the held event is dropped (`undoErasedLifeWrites`, new life
 * branch): the denial, received before the erasure, no other live record having the address (the visitor or guest is
 * frozen), is deleted: a newcomer with the address gets the offer.
 * Control: no late event: the address stays denied.
 * Found by the 27th hostile audit. Now: the undo takes back only holds the dropped event
 * caused (`causes`): the visitor's and the guest's denials are their events'.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';

const EMAIL = offerScenario({ name: 'a27-drop-linked-email' });
const SMS = offerScenario({ name: 'a27-drop-linked-sms', channel: 'sms' });

async function viaVisitor(person: string, lateEvent: boolean) {
  const { t, later, offer, latestOffer, addressItems, newcomerOffer, lateEventThenErasure } = EMAIL;
  const account = `u-${person}`;
  const visitor = `${person}-device`;
  const x = `${person}@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: account, traits: { email: x } });
  await t.api.sendAndSettle({ type: 'identify', anonymousId: visitor, traits: { email: x } });
  await later(60_000);
  await t.api.sendAndSettle({ type: 'track', anonymousId: visitor, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'email' } });
  await later(60_000);
  const held = await lateEventThenErasure(person, account, lateEvent);
  await t.api.sendAndSettle({ type: 'identify', userId: account, anonymousId: visitor, messageId: `${person}-back`, traits: { email: x } });
  await later(60_000);
  const before = (await addressItems(x, '"denied"')).length;
  await held.release();
  await later(60_000);
  await offer(account, 1);
  return { before, denied: (await addressItems(x, '"denied"')).length, account: await latestOffer(account), newcomer: await newcomerOffer(person, x) };
}

async function smsJoin(person: string, number: string, lateEvent: boolean) {
  const { t, later, offer, latestOffer, addressItems, guestAndAccount, newcomerOffer, lateEventThenErasure } = SMS;
  const { address: n, account, guest } = await guestAndAccount(person, number);
  await t.api.sendAndSettle({ type: 'track', userId: guest, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'sms' } });
  await later(60_000);
  const held = await lateEventThenErasure(person, account, lateEvent);
  await t.api.sendAndSettle({ type: 'identify', userId: account, messageId: `${person}-back`, traits: { phone: n } });
  await later(60_000);
  await t.api.sendAndSettle({ type: 'alias', userId: account, previousId: guest, messageId: `${person}-join` });
  await later(60_000);
  const before = (await addressItems(n, '"denied"')).length;
  await held.release();
  await later(60_000);
  await offer(account, 1);
  return { before, denied: (await addressItems(n, '"denied"')).length, account: await latestOffer(account), newcomer: await newcomerOffer(person, n) };
}

const kept = { before: 1, denied: 1, account: 'unsubscribed', newcomer: 'unsubscribed' };

describe("a late drop of an erased life's event and a linked record's denial of the shared address", () => {
  it('control (visitor link): no late event: X stays denied', async () => {
    expect(await viaVisitor('a27lv-c', false)).toEqual(kept);
  }, 60_000);

  it('comeback via the visitor link, a late event: X stays denied', async () => {
    expect(await viaVisitor('a27lv-l', true)).toEqual(kept);
  }, 60_000);

  it('control (SMS, guest joined): no late event: the number stays denied', async () => {
    expect(await smsJoin('a27ls-c', '+447700900521', false)).toEqual(kept);
  }, 60_000);

  it('SMS, the guest joined, a late event: the number stays denied', async () => {
    expect(await smsJoin('a27ls-l', '+447700900522', true)).toEqual(kept);
  }, 60_000);
});
