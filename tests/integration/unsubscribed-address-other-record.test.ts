/**
 * One address, two customer records: an unsubscribe or a suppression of the address holds for both.
 *
 * Promise: consent is law; the one-click unsubscribe (RFC 8058) answers "You are unsubscribed. You will no longer
 * receive marketing email messages from us", and a spam complaint or a hard bounce suppresses email. The same person
 * is often two customer records with one address (a guest checkout `guest-…` and the account `u-…`; nobody sent an
 * alias). So a denial or a suppression is kept for the address too, as Customer.io, Braze and Klaviyo keep an
 * address-level denial and SES an account-level suppression list: an item under a hash of the address trimmed and
 * lower-cased (`AH#<sha256>`, no id, no address in it), written by ingest with the per-customer hold (the one-click
 * link, `Unsubscribed`, identify `consent.email: false`, a hard bounce or a complaint from an email tool or from SES),
 * and read by the send gateway in the same BatchGetItem as the holds: no marketing to the address whichever record it
 * is sent for (a suppression: nothing at all). The address keeps its latest consent change in the profile's consent
 * order: a later grant of the address (a `Subscribed {channel: email}` dated and received after the denial) lifts
 * its denial; one dated before the denial does not. Erasure deletes the address's items with the last customer that
 * has the address; while another record still has it, its denial stands.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { laterOn, profileItems, useTestEngine } from '../helpers/engine';
import { messagesOf, outboxFor, runToEnd } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-address-hold-'));
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
const emailsTo = (address: string) => t.engine.outbox.entries.filter((m) => m.channel === 'email' && 'to' in m && JSON.stringify(m.to).includes(address)).length;
/** What became of a customer's latest offer: `sent`, or the reason it was skipped. */
const latestOffer = async (id: string) => {
  const offers = (await messagesOf(t.engine, id)).filter((m) => m.stepId === 'send-offer') as unknown as Array<{ status: string; reason?: string; at: string }>;
  const record = offers.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)).at(-1);
  return record?.status === 'sent' ? 'sent' : record?.reason;
};
const addressItems = (address: string) => profileItems(t.engine, (text) => text.includes(`"AH#${createHash('sha256').update(address).digest('hex')}"`));

/** The guest record and the account of one person, one address; the account got an offer (its email, the link's). */
async function twoRecords(person: string) {
  const address = `${person}@example.com`;
  const account = `u-${person}`;
  const guest = `guest-${person}`;
  await t.api.send([
    { type: 'identify', userId: guest, traits: { email: address } },
    // The account's address as the person typed it: the same address, trimmed and lower-cased.
    { type: 'identify', userId: account, traits: { email: ` ${person.toUpperCase()}@Example.com` } },
  ]);
  await later(60_000);
  await offer(account, 1);
  return { address, account, guest };
}

/** The account's one-click unsubscribe link, clicked: whether the page promised what it should. */
async function unsubscribe(account: string): Promise<boolean> {
  const mail = outboxFor(t.engine, account).find((m) => m.channel === 'email' && 'headers' in m && m.headers['List-Unsubscribe']) as { headers: Record<string, string> } | undefined;
  const link = /^<(.+)>$/.exec(mail!.headers['List-Unsubscribe']!)![1]!;
  const res = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
  return res.status === 200 && (await res.text()).includes('You will no longer receive marketing email messages from us');
}

async function scenario(person: string, guestOfferToo: boolean) {
  const { address, account, guest } = await twoRecords(person);
  const promised = await unsubscribe(account);
  await later(86_400_000);
  const before = emailsTo(address);
  await offer(account, 2);
  if (guestOfferToo) await offer(guest, 2);
  return { promised, marketingEmailsToTheAddressAfter: emailsTo(address) - before };
}

describe('one address, two customer records', () => {
  it("control: the account's next offer is not sent", async () => {
    expect(await scenario('addr-ctl', false)).toEqual({ promised: true, marketingEmailsToTheAddressAfter: 0 });
  }, 60_000);

  it("after a one-click unsubscribe, the guest record's offer is not sent to the address either", async () => {
    expect(await scenario('addr-click', true)).toEqual({ promised: true, marketingEmailsToTheAddressAfter: 0 });
    expect(await latestOffer('guest-addr-click')).toBe('unsubscribed');
    // The address's item names neither the address nor a customer.
    const [item] = await addressItems('addr-click@example.com');
    expect(item).toBeDefined();
    expect(item).not.toMatch(/addr-click/i);
  }, 60_000);

  it('a later Subscribed of the address lifts its denial; one dated before the denial does not', async () => {
    const { address, guest } = await twoRecords('addr-lift');
    // A grant with no denial of the address to lift leaves no item of the address.
    await t.api.sendAndSettle({ type: 'track', userId: guest, event: 'Subscribed', messageId: 'addr-lift-first', properties: { channel: 'email' } });
    expect(await addressItems(address)).toEqual([]);
    await later(60_000);
    const deniedAt = clock.now().getTime();
    expect(await unsubscribe('u-addr-lift')).toBe(true);
    await later(3_600_000);
    // Dated before the denial (received after it): consent order puts it before the denial.
    await t.api.sendAndSettle({ type: 'track', userId: guest, event: 'Subscribed', messageId: 'addr-lift-back', timestamp: new Date(deniedAt - 60_000).toISOString(), properties: { channel: 'email' } });
    await offer(guest, 2);
    expect(await latestOffer(guest)).toBe('unsubscribed');
    // The account subscribes again, after the denial: the address is lifted, for the guest record too.
    await t.api.sendAndSettle({ type: 'track', userId: 'u-addr-lift', event: 'Subscribed', messageId: 'addr-lift-again', properties: { channel: 'email' } });
    await later(60_000);
    await offer(guest, 3);
    expect(await latestOffer(guest)).toBe('sent');
  }, 60_000);

  it("a spam complaint (SES) on the account's email suppresses the address for the guest record", async () => {
    const { address, guest } = await twoRecords('addr-spam');
    const [mail] = outboxFor(t.engine, 'u-addr-spam');
    t.engine.feedback(mail!.outboxId, { type: 'complaint' });
    await later(60_000);
    const before = emailsTo(address);
    await offer(guest, 2);
    expect({ guest: await latestOffer(guest), sent: emailsTo(address) - before }).toEqual({ guest: 'suppressed', sent: 0 });
  }, 60_000);

  it("a hard bounce an email tool reports for the account suppresses the address for the guest record", async () => {
    const { address, guest } = await twoRecords('addr-bounce');
    await t.api.sendAndSettle({ type: 'track', userId: 'u-addr-bounce', event: 'Message Bounced', messageId: 'addr-bounce-1', properties: { channel: 'email', bounceType: 'hard' } });
    await later(60_000);
    const before = emailsTo(address);
    await offer(guest, 2);
    expect({ guest: await latestOffer(guest), sent: emailsTo(address) - before }).toEqual({ guest: 'suppressed', sent: 0 });
  }, 60_000);

  it('erasure: the address stays denied while another record has it, and its items go with the last one', async () => {
    const { address, guest } = await twoRecords('addr-erase');
    expect(await unsubscribe('u-addr-erase')).toBe(true);
    await later(60_000);
    expect((await t.api.del('/v1/customers/u-addr-erase')).status).toBe(200);
    expect(await addressItems(address)).toHaveLength(1);
    await offer(guest, 2);
    expect(await latestOffer(guest)).toBe('unsubscribed');
    expect((await t.api.del(`/v1/customers/${guest}`)).status).toBe(200);
    expect(await addressItems(address)).toEqual([]);
  }, 60_000);
});
