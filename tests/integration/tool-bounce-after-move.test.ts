/**
 * A hard bounce or a spam complaint an email tool reports through ingest suppresses the address it names (its
 * `context.traits.email`: where the mail went), not the record's address when the report arrives (`recordHolds` passes
 * the event's address to `putSuppressionHold`, as it does for denials). The guest and the account share X; the account
 * moves to Y; the tool reports a hard bounce (resp. `Email Marked as Spam`) of mail it sent the account at X: X is
 * suppressed (the guest's offer at X is skipped `suppressed`), Y, the account's working address, is not.
 * Control: the bounce before the move.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { laterOn, profileItems, useTestEngine } from '../helpers/engine';
import { messagesOf, runToEnd } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-tool-bounce-'));
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

  it('the bounce after the move suppresses the address that bounced, not the new one', async () => {
    expect(await scenario('a17tb', 'bounce', true)).toEqual({ bouncedSuppressed: true, newAddressSuppressed: false, guestOffer: 'suppressed' });
  }, 60_000);

  it('the complaint after the move suppresses the address complained from, not the new one', async () => {
    expect(await scenario('a17ts', 'spam', true)).toEqual({ bouncedSuppressed: true, newAddressSuppressed: false, guestOffer: 'suppressed' });
  }, 60_000);
});
