/**
 * An unsubscribe denies the address that the identify beside it brings.
 *
 * Promise (README "Consent"): "A denial ... of email holds for the address too, whichever customer record a message is
 * sent for". Consent is law: an accepted `Unsubscribed` stops marketing email to the address.
 *
 * The guest checkout record `guest-…` has address A. The person then creates their account: the sign-up sends one
 * batch, as Segment's batch API and server libraries do, `identify {userId: u-…, traits: {email: A}}` then
 * `track Unsubscribed {channel: email}` (the "no marketing" box). A day later the guest record's offer is skipped
 * `unsubscribed`, as when the two come in two requests with the identify applied first (the control).
 *
 * The fix: ingest records the address's denial before it answers; the `Unsubscribed` names no address and the profile
 * does not exist yet, so the address is the one an earlier identify of the same customer in the batch sets
 * (functions/ingest/consent.ts `recordHolds`). Across requests, with the identify not applied yet when ingest takes
 * the unsubscribe (an async consumer), the profile consumer records the address's denial when it applies an email
 * denial to a profile with an address, or brings an address to a profile whose email is denied (the consumer
 * applying the unsubscribe first): functions/profile/consumer.ts `denyAddress` (write, then check the tombstone).
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';
import { holdConsumer } from '../helpers/engine';

const { t, later, offer, latestOffer, addressItems } = offerScenario({ name: 'audit15-unsub-first' });

/**
 * `oneBatch`: both in one request; `held`: two requests, the identify held from the consumer until the unsubscribe is
 * accepted (then both applied, in order); `heldReverse`: the same, the consumer applying the unsubscribe first.
 */
async function scenario(person: string, mode: boolean | 'held' | 'heldReverse') {
  const oneBatch = mode === true;
  const address = `${person}@example.com`;
  const account = `u-${person}`;
  const guest = `guest-${person}`;
  await t.api.sendAndSettle({ type: 'identify', userId: guest, traits: { email: address } });
  await later(60_000);
  const signUp = { type: 'identify', userId: account, traits: { email: address } };
  const noMarketing = { type: 'track', userId: account, event: 'Unsubscribed', properties: { channel: 'email' } };
  if (oneBatch) await t.api.sendAndSettle([signUp, noMarketing]);
  else if (mode === 'held' || mode === 'heldReverse') {
    const late = holdConsumer(t.engine, (e) => e.userId === account && (mode === 'held' || e.type === 'identify'));
    await t.api.sendAndSettle(signUp);
    await t.api.sendAndSettle(noMarketing);
    await late.release();
  } else {
    await t.api.sendAndSettle(signUp);
    await t.api.sendAndSettle(noMarketing);
  }
  await later(86_400_000);
  const accountConsent = (await t.api.customer(account)).consent.email.status;
  await offer(guest, 1);
  return { accountConsent, addressItems: (await addressItems(address)).length, guestOffer: await latestOffer(guest) };
}

describe('an unsubscribe in the batch that brings the address', () => {
  it('control: the identify applied first, the unsubscribe denies the address; the guest record is not mailed', async () => {
    expect(await scenario('a15-unsub-ctl', false)).toEqual({ accountConsent: 'denied', addressItems: 1, guestOffer: 'unsubscribed' });
  }, 60_000);

  it('in one batch, the unsubscribe denies the address too', async () => {
    expect(await scenario('a15-unsub', true)).toEqual({ accountConsent: 'denied', addressItems: 1, guestOffer: 'unsubscribed' });
  }, 60_000);

  it('the unsubscribe accepted before the consumer applied the identify denies the address when the consumer applies it', async () => {
    expect(await scenario('a15-unsub-held', 'held')).toEqual({ accountConsent: 'denied', addressItems: 1, guestOffer: 'unsubscribed' });
  }, 60_000);

  it('the identify applied after the unsubscribe brings an address the denial holds for', async () => {
    expect(await scenario('a15-unsub-reverse', 'heldReverse')).toEqual({ accountConsent: 'denied', addressItems: 1, guestOffer: 'unsubscribed' });
  }, 60_000);
});
