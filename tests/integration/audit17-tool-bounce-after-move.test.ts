/**
 * Audit 17. Promise (README "Consent"): a hard bounce or a complaint suppresses every email to the address, for every
 * record with it; a denial's address is the one the event names (`traits.email`, `context.traits.email`), and SES's
 * feedback suppresses the address the message went to, not the customer's address when it arrives (f0c2bfb/90c18b9).
 * What I did: the guest and the account share X. The account moves to Y. Then the customer's email tool reports a
 * hard bounce (resp. a spam complaint: `Email Marked as Spam`) of mail it had sent the account at X, naming X
 * (`context.traits.email`), through ingest. Then the guest (at X) gets an offer.
 * Observed: `recordHolds` passes no address for a suppression (`putSuppressionHold(id, channel, suppression,
 * receivedAt)`), so the address suppressed is the account's profile's now: Y, the person's new, working address, for
 * good (never lifted; every email, transactional too, for every record with Y), while X, which bounced, is not: the
 * guest is mailed at the bounced address.
 * Control: the bounce before the move suppresses X; the guest's offer is skipped `suppressed`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { laterOn, profileItems, useTestEngine } from '../helpers/engine';
import { messagesOf, runToEnd } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-a17-tool-bounce-'));
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
const suppressed = async (address: string) => (await profileItems(t.engine, (text) => text.includes(`"AH#${createHash('sha256').update(address).digest('hex')}"`) && text.includes('address-suppression'))).length === 1;

async function scenario(person: string, kind: 'bounce' | 'spam', movesFirst: boolean) {
  const address = `${person}@example.com`;
  const fresh = `${person}-new@example.org`;
  const account = `u-${person}`;
  const guest = `guest-${person}`;
  await t.api.send([
    { type: 'identify', userId: guest, traits: { email: address } },
    { type: 'identify', userId: account, traits: { email: address } },
  ]);
  await later(60_000);
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

  // BREAK (audit 17): a suppression from ingest ignores the address its event names and suppresses the profile's new
  // address for good, leaving the bounced one mailed for the guest; fix idea: in `recordHolds`, pass the address the
  // event names (as for a denial: `named ?? batchAddress`, `mayNameAddress`) to `putSuppressionHold`.
  it.fails('the bounce after the move suppresses the address that bounced, not the new one', async () => {
    expect(await scenario('a17tb', 'bounce', true)).toEqual({ bouncedSuppressed: true, newAddressSuppressed: false, guestOffer: 'suppressed' });
  }, 60_000);

  // BREAK (audit 17): the same for a spam complaint (`Email Marked as Spam`); fix idea: as above.
  it.fails('the complaint after the move suppresses the address complained from, not the new one', async () => {
    expect(await scenario('a17ts', 'spam', true)).toEqual({ bouncedSuppressed: true, newAddressSuppressed: false, guestOffer: 'suppressed' });
  }, 60_000);
});
