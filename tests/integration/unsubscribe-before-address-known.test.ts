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
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { holdConsumer, laterOn, profileItems, useTestEngine } from '../helpers/engine';
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
