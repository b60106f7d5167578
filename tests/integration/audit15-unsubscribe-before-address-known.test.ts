/**
 * Audit 15: an unsubscribe received before the customer's address is on their profile never denies the address.
 *
 * Promise (README "Consent"): "A denial ... of email holds for the address too, whichever customer record a message is
 * sent for ... The address is the one the event names (`traits.email`, `context.traits.email`), else the customer's
 * profile's." Consent is law: an accepted `Unsubscribed` stops marketing email to the address.
 *
 * What I did: the guest checkout record `guest-…` has address A. The person then creates their account: the sign-up
 * sends one batch, as Segment's batch API and server libraries do, `identify {userId: u-…, traits: {email: A}}` then
 * `track Unsubscribed {channel: email}` (the "no marketing" box). Both are accepted (202). A day later the guest
 * record gets an offer.
 *
 * Observed: ingest records the address's denial before it answers, from the event's address or else the customer's
 * live profile; the `Unsubscribed` names none and the profile did not exist yet (the identify beside it is applied
 * later, by the profile consumer, which records no address item): no `AH#` item is written, ever. The account itself is
 * unsubscribed, but the guest record's offer goes out to A. The control (the same two events in two requests, the
 * identify applied first) denies A and the guest's offer is skipped `unsubscribed`. The same holds whenever the
 * unsubscribe reaches ingest before the consumer has applied the identify (an async consumer in AWS), and for a
 * visitor's unsubscribe linked into a customer later.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { laterOn, profileItems, useTestEngine } from '../helpers/engine';
import { messagesOf, runToEnd } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-audit15-unsub-first-'));
for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
writeFileSync(path.join(dir, 'journeys', 'offer.yaml'), ['id: offer', 'name: Offer', 'version: 1', 'trigger: { event: Offer Due }', 'entry: { reentry: always }', 'steps:', '  - id: send-offer', '    send: { channel: email, template: offer }', ''].join('\n'));
writeFileSync(path.join(dir, 'templates', 'offer.email.liquid'), 'Subject: 20% off\n\nOffers for you.');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, journeysDir: path.join(dir, 'journeys'), templatesDir: path.join(dir, 'templates'), sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
const later = laterOn(clock, t);

const offer = async (id: string, n: number) => {
  await t.api.sendAndSettle({ type: 'track', userId: id, event: 'Offer Due', messageId: `${id}-offer-${n}` });
  await runToEnd(clock, t.engine, id, 'offer');
};
const latestOffer = async (id: string) => {
  const offers = (await messagesOf(t.engine, id)).filter((m) => m.stepId === 'send-offer') as unknown as Array<{ status: string; reason?: string; at: string }>;
  const record = offers.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)).at(-1);
  return record?.status === 'sent' ? 'sent' : record?.reason;
};
const addressItems = (address: string) => profileItems(t.engine, (text) => text.includes(`"AH#${createHash('sha256').update(address).digest('hex')}"`));

async function scenario(person: string, oneBatch: boolean) {
  const address = `${person}@example.com`;
  const account = `u-${person}`;
  const guest = `guest-${person}`;
  await t.api.sendAndSettle({ type: 'identify', userId: guest, traits: { email: address } });
  await later(60_000);
  const signUp = { type: 'identify', userId: account, traits: { email: address } };
  const noMarketing = { type: 'track', userId: account, event: 'Unsubscribed', properties: { channel: 'email' } };
  if (oneBatch) await t.api.sendAndSettle([signUp, noMarketing]);
  else {
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

  // BREAK (audit 15): the address's denial is written only by ingest, from the event's address or the live profile's; an Unsubscribed received before the consumer applied the identify that brings the address (same batch, or async) denies no address, and the other record with it is mailed; fix idea: let the profile consumer also record the address's denial when it applies a consent change (or when an identify sets an address on a profile whose consent is denied), write then check as ingest does; or have ingest take the address from an identify of the same customer earlier in the batch.
  it.fails('in one batch, the unsubscribe denies the address too', async () => {
    expect(await scenario('a15-unsub', true)).toEqual({ accountConsent: 'denied', addressItems: 1, guestOffer: 'unsubscribed' });
  }, 60_000);
});
