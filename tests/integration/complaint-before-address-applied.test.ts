/**
 * A tool's spam complaint or hard bounce, reported through ingest by user id (naming no address) before the identify
 * bringing the record's address was applied, still suppresses that address for every record with it: the profile
 * consumer writes the address's suppression when a suppressed profile gets its first address (`denyAddress`), as it
 * writes a denial's. The guest and the account share X; the account's identify is held (`holdConsumer`), the complaint
 * (resp. bounce) is ingested, then the identify is delivered: the guest's offer is skipped `suppressed`.
 * Control: an `Unsubscribed` in the same place.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { holdConsumer, laterOn, profileItems, useTestEngine } from '../helpers/engine';
import { messagesOf, runToEnd } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-complaint-before-'));
for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
writeFileSync(path.join(dir, 'journeys', 'offer.yaml'), ['id: offer', 'name: Offer', 'version: 1', 'trigger: { event: Offer Due }', 'entry: { reentry: always }', 'steps:', '  - id: send-offer', '    send: { channel: email, template: offer }', ''].join('\n'));
writeFileSync(path.join(dir, 'templates', 'offer.email.liquid'), 'Subject: 20% off\n\nOffers for you.');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, journeysDir: path.join(dir, 'journeys'), templatesDir: path.join(dir, 'templates'), sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
const later = laterOn(clock, t);

const latestOffer = async (id: string) => {
  await t.api.sendAndSettle({ type: 'track', userId: id, event: 'Offer Due', messageId: `${id}-offer` });
  await runToEnd(clock, t.engine, id, 'offer');
  const offers = (await messagesOf(t.engine, id)).filter((m) => m.stepId === 'send-offer') as unknown as Array<{ status: string; reason?: string; at: string }>;
  const record = offers.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)).at(-1);
  return record?.status === 'sent' ? 'sent' : record?.reason;
};
const addressItem = async (address: string, type: string) =>
  (await profileItems(t.engine, (text) => text.includes(`"AH#${createHash('sha256').update(address).digest('hex')}"`) && text.includes(type))).length > 0;

async function scenario(person: string, report: 'unsubscribe' | 'spam' | 'bounce') {
  const address = `${person}@example.com`;
  const account = `u-${person}`;
  const guest = `guest-${person}`;
  await t.api.sendAndSettle({ type: 'identify', userId: guest, traits: { email: address } });
  await later(60_000);
  // The account's identify bringing X: accepted, its delivery to the profile consumer late.
  const late = holdConsumer(t.engine, (d) => d.userId === account && d.type === 'identify');
  await t.api.send({ type: 'identify', userId: account, traits: { email: address } });
  await later(1_000);
  const event =
    report === 'unsubscribe'
      ? { event: 'Unsubscribed', properties: { channel: 'email' } }
      : report === 'spam'
        ? { event: 'Email Marked as Spam', properties: {} }
        : { event: 'Message Bounced', properties: { channel: 'email', bounceType: 'hard' } };
  await t.api.sendAndSettle({ type: 'track', userId: account, messageId: `${person}-report`, ...event });
  await later(1_000);
  expect(late.held).toHaveLength(1);
  await late.release();
  await later(60_000);
  const held = report === 'unsubscribe' ? await addressItem(address, '"denied"') : await addressItem(address, 'address-suppression');
  return { addressHeld: held, guestOffer: await latestOffer(guest) };
}

describe("an email tool's complaint about a record whose address the consumer has not applied yet", () => {
  it('control: an unsubscribe before the identify is applied denies the address (the guest is not mailed)', async () => {
    expect(await scenario('a18cb-ctl', 'unsubscribe')).toEqual({ addressHeld: true, guestOffer: 'unsubscribed' });
  }, 60_000);

  it('a spam complaint before the identify is applied suppresses the address (the guest is not mailed)', async () => {
    expect(await scenario('a18cb', 'spam')).toEqual({ addressHeld: true, guestOffer: 'suppressed' });
  }, 60_000);

  it('a hard bounce before the identify is applied suppresses the address (the guest is not mailed)', async () => {
    expect(await scenario('a18cbb', 'bounce')).toEqual({ addressHeld: true, guestOffer: 'suppressed' });
  }, 60_000);
});
