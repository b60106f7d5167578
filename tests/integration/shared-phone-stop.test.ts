/**
 * One phone number, two customer records: an SMS STOP (resp. a WhatsApp opt-out) of one holds for the number.
 *
 * Promise (issue 10, "consent is law per address"; README "Consent"): the same person is often two records with one
 * number (a guest checkout and the account; nobody sent an alias). Carriers and the CTIA/TCPA rules treat a STOP as the
 * number's: a marketing text after it is a violation, whichever record it is sent for. So an SMS or WhatsApp denial
 * or suppression is kept for the number too, as email's is for the address: an item under a hash of the number in
 * E.164 (`AH#<sha256(+447700900302)>`, `K#sms` / `K#whatsapp`, `S#…`; no id, no number in it), read by the send
 * gateway with the holds. Each channel its own: a WhatsApp opt-out is not an SMS STOP. Only a later grant by a record
 * whose profile has the number lifts the denial. Erasure deletes the number's items with the last record that has the
 * number (its holders are listed under the number, `H#<sha256(id)>`, and go with their records).
 * Control: the same with email.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/profile';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { holdConsumer, laterOn, profileItems, useTestEngine } from '../helpers/engine';
import { messagesOf, runToEnd } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-shared-phone-'));
for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
const CHANNELS = ['email', 'sms', 'whatsapp'] as const;
type Ch = (typeof CHANNELS)[number];
for (const channel of CHANNELS) {
  writeFileSync(path.join(dir, 'journeys', `offer-${channel}.yaml`), [`id: offer-${channel}`, `name: Offer ${channel}`, 'version: 1', `trigger: { event: Offer Due ${channel} }`, 'entry: { reentry: always }', 'steps:', '  - id: send-offer', `    send: { channel: ${channel}, template: offer }`, ''].join('\n'));
}
writeFileSync(path.join(dir, 'templates', 'offer.email.liquid'), 'Subject: 20% off\n\nOffers for you.');
writeFileSync(path.join(dir, 'templates', 'offer.sms.liquid'), '20% off today. Reply STOP to opt out.');
writeFileSync(path.join(dir, 'templates', 'offer.whatsapp.liquid'), 'Template: offer\nLanguage: en_US\n\n20%\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, journeysDir: path.join(dir, 'journeys'), templatesDir: path.join(dir, 'templates'), sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
const later = laterOn(clock, t);

/** What became of the customer's latest offer on `channel` (`n`: the how-many-th): `sent`, or the reason it was skipped. */
const offer = async (id: string, channel: Ch, n = 1) => {
  await t.api.sendAndSettle({ type: 'track', userId: id, event: `Offer Due ${channel}`, messageId: `${id}-offer-${channel}-${n}` });
  await runToEnd(clock, t.engine, id, `offer-${channel}`);
  const offers = (await messagesOf(t.engine, id)).filter((m) => m.stepId === 'send-offer' && m.channel === channel) as unknown as Array<{ status: string; reason?: string; at: string }>;
  const record = offers.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)).at(-1);
  return record?.status === 'sent' ? 'sent' : record?.reason;
};
/** The items under the number's hash (`AH#<sha256(E.164)>`): its holds and its holders' listings. */
const numberItems = (number: string) => profileItems(t.engine, (text) => text.includes(`"AH#${createHash('sha256').update(number).digest('hex')}"`));
const identify = async (records: Record<string, Record<string, unknown>>) => {
  await t.api.send(Object.entries(records).map(([userId, traits]) => ({ type: 'identify' as const, userId, traits })));
  await later(60_000);
};
const track = async (userId: string, event: string, messageId: string, properties: Record<string, unknown>) => {
  await t.api.sendAndSettle({ type: 'track', userId, event, messageId, properties });
  await later(60_000);
};

async function scenario(person: string, phone: string, channel: Ch) {
  const account = `u-${person}`;
  const guest = `guest-${person}`;
  const traits = { email: `${person}@example.com`, phone };
  await t.api.send([
    { type: 'identify', userId: guest, traits },
    { type: 'identify', userId: account, traits },
  ]);
  await later(60_000);
  // The person texts STOP (resp. unsubscribes) from the account's messages.
  await t.api.sendAndSettle({ type: 'track', userId: account, event: 'Unsubscribed', properties: { channel } });
  await later(60_000);
  return { account: await offer(account, channel), guest: await offer(guest, channel) };
}

describe('an SMS or WhatsApp unsubscribe of one record, for a number another record shares', () => {
  it('control: an email unsubscribe of the account stops marketing email to the guest sharing the address', async () => {
    expect(await scenario('a17p-ctl', '+447700900301', 'email')).toEqual({ account: 'unsubscribed', guest: 'unsubscribed' });
  }, 60_000);

  it('an SMS unsubscribe of the account stops marketing texts to the guest sharing the number', async () => {
    expect(await scenario('a17p-sms', '+447700900302', 'sms')).toEqual({ account: 'unsubscribed', guest: 'unsubscribed' });
  }, 60_000);

  it('a WhatsApp unsubscribe of the account stops marketing WhatsApp messages to the guest sharing the number', async () => {
    expect(await scenario('a17p-wa', '+447700900303', 'whatsapp')).toEqual({ account: 'unsubscribed', guest: 'unsubscribed' });
  }, 60_000);

  it('a WhatsApp opt-out holds for the number on WhatsApp only, not for its texts', async () => {
    await identify({ 'guest-wa-only': { phone: '+447700900304' }, 'u-wa-only': { phone: '+447700900304' } });
    await track('u-wa-only', 'Unsubscribed', 'wa-only-stop', { channel: 'whatsapp' });
    expect({ whatsapp: await offer('guest-wa-only', 'whatsapp'), sms: await offer('guest-wa-only', 'sms') }).toEqual({ whatsapp: 'unsubscribed', sms: 'sent' });
  }, 60_000);

  it('the number is the one the channels send to: written with spaces by one record, it is the same number', async () => {
    await identify({ 'guest-spaced': { phone: '+44 7700 900305' }, 'u-spaced': { phone: '+447700900305' } });
    await track('u-spaced', 'Unsubscribed', 'spaced-stop', { channel: 'sms' });
    expect(await offer('guest-spaced', 'sms')).toBe('unsubscribed');
  }, 60_000);

  it("a hard bounce of the account's text suppresses the number for the guest", async () => {
    await identify({ 'guest-sms-bounce': { phone: '+447700900306' }, 'u-sms-bounce': { phone: '+447700900306' } });
    await track('u-sms-bounce', 'Message Bounced', 'sms-bounce-1', { channel: 'sms', bounceType: 'hard' });
    expect(await offer('guest-sms-bounce', 'sms')).toBe('suppressed');
  }, 60_000);

  it("a later grant by a record with the number lifts the number's denial; one by a record without it does not", async () => {
    const number = '+447700900307';
    await identify({ 'guest-lift': { phone: number }, 'shop-lift': { phone: number }, 'u-lift': { phone: number }, 'other-lift': { phone: '+447700900399' }, 'none-lift': { email: 'none-lift@example.com' } });
    await track('u-lift', 'Unsubscribed', 'lift-stop', { channel: 'sms' });
    // Records without the number: one with another number (its event naming the number: no record's own), one with none.
    await t.api.sendAndSettle({ type: 'track', userId: 'other-lift', event: 'Subscribed', messageId: 'lift-other', properties: { channel: 'sms' }, context: { traits: { phone: number } } });
    await track('none-lift', 'Subscribed', 'lift-none', { channel: 'sms' });
    expect(await offer('guest-lift', 'sms', 1)).toBe('unsubscribed');
    // A record with the number subscribes again: the number is lifted, for the guest too; the account's own STOP stands.
    await track('shop-lift', 'Subscribed', 'lift-shop', { channel: 'sms' });
    expect({ guest: await offer('guest-lift', 'sms', 2), account: await offer('u-lift', 'sms', 2) }).toEqual({ guest: 'sent', account: 'unsubscribed' });
  }, 60_000);

  it("erasure: the number stays denied while another record has it, and its items go with the last one", async () => {
    const number = '+447700900308';
    await identify({ 'guest-erase': { phone: number }, 'u-erase': { phone: number } });
    await track('u-erase', 'Unsubscribed', 'erase-stop', { channel: 'all' });
    expect((await t.api.del('/v1/customers/u-erase')).status).toBe(200);
    expect(await offer('guest-erase', 'sms')).toBe('unsubscribed');
    expect(await offer('guest-erase', 'whatsapp')).toBe('unsubscribed');
    // Nothing under the number names the erased account.
    expect((await numberItems(number)).filter((text) => text.includes('u-erase'))).toEqual([]);
    expect((await t.api.del('/v1/customers/guest-erase')).status).toBe(200);
    expect(await numberItems(number)).toEqual([]);
  }, 60_000);

  it("erasure: the number's records erased at once free it", async () => {
    const number = '+447700900315';
    await identify({ 'guest-both': { phone: number }, 'u-both': { phone: number } });
    await track('u-both', 'Unsubscribed', 'both-stop', { channel: 'sms' });
    const [account, guest] = await Promise.all([t.api.del('/v1/customers/u-both'), t.api.del('/v1/customers/guest-both')]);
    expect([account.status, guest.status]).toEqual([200, 200]);
    expect(await numberItems(number)).toEqual([]);
  }, 60_000);

  it('erasure: a record that moved to another number keeps no hold of the old one alive', async () => {
    const number = '+447700900309';
    await identify({ 'guest-moved': { phone: number }, 'u-moved': { phone: number } });
    await track('u-moved', 'Unsubscribed', 'moved-stop', { channel: 'sms' });
    await identify({ 'u-moved': { phone: '+447700900310' } });
    // The guest, the last record with the number, is erased: the number's denial goes.
    expect((await t.api.del('/v1/customers/guest-moved')).status).toBe(200);
    expect((await numberItems(number)).filter((text) => !text.includes('"H#'))).toEqual([]);
    // The account's own listing under its old number goes with the account.
    expect((await t.api.del('/v1/customers/u-moved')).status).toBe(200);
    expect(await numberItems(number)).toEqual([]);
  }, 60_000);

  it('a STOP in the batch that brings the number (and an address) denies the number from ingest\'s answer', async () => {
    const number = '+447700900311';
    await identify({ 'guest-batch': { phone: number } });
    // The account's events wait for the profile consumer: only ingest's record of the denial holds meanwhile.
    const late = holdConsumer(t.engine, (e) => e.userId === 'u-batch');
    await t.api.sendAndSettle([
      { type: 'identify', userId: 'u-batch', traits: { email: 'batch@example.com', phone: number } },
      { type: 'track', userId: 'u-batch', event: 'Unsubscribed', messageId: 'batch-stop', properties: { channel: 'sms' } },
    ]);
    expect(await offer('guest-batch', 'sms')).toBe('unsubscribed');
    await late.release();
  }, 60_000);

  it('a STOP applied before the identify bringing the number denies the number when the identify is applied', async () => {
    const number = '+447700900312';
    await identify({ 'guest-first': { phone: number } });
    const late = holdConsumer(t.engine, (e) => e.userId === 'u-first' && e.type === 'identify');
    await t.api.sendAndSettle({ type: 'identify', userId: 'u-first', traits: { phone: number } });
    await t.api.sendAndSettle({ type: 'track', userId: 'u-first', event: 'Unsubscribed', messageId: 'first-stop', properties: { channel: 'whatsapp' } });
    await late.release();
    await later(60_000);
    expect(await offer('guest-first', 'whatsapp')).toBe('unsubscribed');
  }, 60_000);

  it("a profile write undone for a customer erased meanwhile leaves no listing of theirs under the number", async () => {
    const number = '+447700900313';
    await identify({ 'guest-undone': { phone: number } });
    expect((await t.api.del('/v1/customers/u-undone')).status).toBe(200);
    // The profile consumer's write of `u-undone`, racing the erasure: listed under the number, then the profile written,
    // then (write, then check) it finds the tombstone and undoes the write.
    const stored = (await t.engine.profiles.get('guest-undone'))!;
    const { heldNumber: _held, ...rest } = stored;
    await t.engine.profiles.put({ ...rest, profile: { ...stored.profile, id: 'u-undone' }, version: 1 }, undefined);
    expect((await numberItems(number)).filter((text) => text.includes('u-undone'))).toHaveLength(1);
    await t.engine.profiles.undoWrites([{ pk: 'C#u-undone', sk: 'P' }]);
    expect(await profileItems(t.engine, (text) => text.includes('u-undone'))).toEqual([]);
  }, 60_000);

  it('so does one whose pointer the erasure deleted, its listing written after the erasure read the number', async () => {
    const number = '+447700900317';
    await identify({ 'guest-unlisted': { phone: number } });
    expect((await t.api.del('/v1/customers/u-unlisted')).status).toBe(200);
    const stored = (await t.engine.profiles.get('guest-unlisted'))!;
    const { heldNumber: _held, ...rest } = stored;
    await t.engine.profiles.put({ ...rest, profile: { ...stored.profile, id: 'u-unlisted' }, version: 1 }, undefined);
    // The erasure (its partition query before the profile write) took the pointer, not the listing it had not seen.
    const hash = createHash('sha256').update(number).digest('hex');
    await documentClient(t.engine.dynamo.client).send(new DeleteCommand({ TableName: PROFILE_TABLE, Key: { PK: 'C#u-unlisted', SK: `AP#${hash}` } }));
    await t.engine.profiles.undoWrites([{ pk: 'C#u-unlisted', sk: 'P' }]);
    expect(await profileItems(t.engine, (text) => text.includes('u-unlisted'))).toEqual([]);
  }, 60_000);

  it('profiles written before number holds are listed by the one-off (infra/tools/list-old-number-holders.ts)', async () => {
    const number = '+447700900314';
    await identify({ 'guest-old': { phone: number }, 'u-old': { phone: number } });
    // The guest's profile as written before: no listing under the number, no pointer, no `heldNumber`.
    const doc = documentClient(t.engine.dynamo.client);
    const hash = createHash('sha256').update(number).digest('hex');
    await doc.send(new DeleteCommand({ TableName: PROFILE_TABLE, Key: { PK: `AH#${hash}`, SK: `H#${createHash('sha256').update('guest-old').digest('hex')}` } }));
    await doc.send(new DeleteCommand({ TableName: PROFILE_TABLE, Key: { PK: 'C#guest-old', SK: `AP#${hash}` } }));
    await doc.send(new UpdateCommand({ TableName: PROFILE_TABLE, Key: { PK: 'C#guest-old', SK: 'P' }, UpdateExpression: 'REMOVE heldNumber' }));
    expect(await t.engine.profiles.listOldNumberHolders(() => clock.now())).toBe(1);
    expect(await t.engine.profiles.listOldNumberHolders(() => clock.now())).toBe(0);
    await track('u-old', 'Unsubscribed', 'old-stop', { channel: 'sms' });
    expect((await t.api.del('/v1/customers/u-old')).status).toBe(200);
    expect(await offer('guest-old', 'sms')).toBe('unsubscribed');
  }, 60_000);

  it('a record is listed under its number once, not again on each write of its profile', async () => {
    let listings = 0;
    t.engine.dynamo.client.middlewareStack.add(
      (next) => async (args) => {
        if (JSON.stringify((args.input as { Item?: unknown }).Item ?? {}).includes('"H#')) listings++;
        return next(args);
      },
      { step: 'initialize', name: 'countNumberListings' },
    );
    try {
      await identify({ 'u-once': { phone: '+447700900316' } });
      for (let i = 0; i < 5; i++) await t.api.sendAndSettle({ type: 'track', userId: 'u-once', event: 'Product Viewed', messageId: `once-${i}`, properties: {} });
    } finally {
      t.engine.dynamo.client.middlewareStack.remove('countNumberListings');
    }
    expect(listings).toBe(1);
  }, 60_000);
});
