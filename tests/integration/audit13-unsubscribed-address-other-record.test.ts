/**
 * Audit 13: "You will no longer receive marketing email messages from us", then a marketing email to the same address.
 *
 * Promise: consent is law; the one-click unsubscribe (RFC 8058) answers "You are unsubscribed. You will no longer
 * receive marketing email messages from us", and a spam complaint suppresses email. Consent and suppression are kept
 * per customer id; nothing at send time looks at the address itself.
 *
 * What I did: the same person is two customer records with one address, as shops make them every day: a guest
 * checkout (`guest-…`, identified with the address) and the account (`u-…`, the same address); nobody sent an alias
 * (the shop does not know, or the guest record came from another source). An offer email goes to the account; the
 * person clicks its one-click unsubscribe link (200, "You will no longer receive marketing email messages from us").
 * A day later an offer is due for each record.
 *
 * Observed: the account's offer is skipped (unsubscribed), but the guest record's offer is sent to the very address
 * that just unsubscribed (the same holds for a spam complaint: the other record keeps mailing the complaining
 * address). Control: only the account's offer: nothing is sent.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { useTestEngine } from '../helpers/engine';
import { outboxFor, runToEnd } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-a13-address-'));
for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
writeFileSync(path.join(dir, 'journeys', 'offer.yaml'), ['id: offer', 'name: Offer', 'version: 1', 'trigger: { event: Offer Due }', 'entry: { reentry: always }', 'steps:', '  - id: send-offer', '    send: { channel: email, template: offer }', ''].join('\n'));
writeFileSync(path.join(dir, 'templates', 'offer.email.liquid'), 'Subject: 20% off\n\nOffers for you.');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, journeysDir: path.join(dir, 'journeys'), templatesDir: path.join(dir, 'templates'), sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
const later = async (ms: number) => {
  const at = clock.now().getTime() + ms;
  while (clock.advance(at)) await clock.idle();
  await t.engine.settle();
};
const offer = async (id: string, n: number) => {
  await t.api.sendAndSettle({ type: 'track', userId: id, event: 'Offer Due', messageId: `${id}-offer-${n}` });
  await runToEnd(clock, t.engine, id, 'offer');
};
const emailsTo = (address: string) => t.engine.outbox.entries.filter((m) => m.channel === 'email' && 'to' in m && JSON.stringify(m.to).includes(address)).length;

async function scenario(person: string, guestOfferToo: boolean) {
  const address = `${person}@example.com`;
  const account = `u-${person}`;
  const guest = `guest-${person}`;
  await t.api.send([
    { type: 'identify', userId: guest, traits: { email: address } },
    { type: 'identify', userId: account, traits: { email: address } },
  ]);
  await later(60_000);
  await offer(account, 1);
  const mail = outboxFor(t.engine, account).find((m) => m.channel === 'email' && 'headers' in m && m.headers['List-Unsubscribe']) as { headers: Record<string, string> } | undefined;
  const link = /^<(.+)>$/.exec(mail!.headers['List-Unsubscribe']!)![1]!;
  const res = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
  const promised = res.status === 200 && (await res.text()).includes('You will no longer receive marketing email messages from us');
  await later(86_400_000);
  const before = emailsTo(address);
  await offer(account, 2);
  if (guestOfferToo) await offer(guest, 2);
  return { promised, marketingEmailsToTheAddressAfter: emailsTo(address) - before };
}

describe('audit 13: one address, two customer records, one unsubscribe', () => {
  it("control: the account's next offer is not sent", async () => {
    expect(await scenario('a13-addr-ctl', false)).toEqual({ promised: true, marketingEmailsToTheAddressAfter: 0 });
  }, 60_000);

  // BREAK (audit 13): consent and suppression are per customer id only: after "You will no longer receive marketing email messages from us", another record with the same address (a guest checkout) still gets marketing email at that address; fix idea: an address-level denial/suppression list keyed by a hash of the normalised address (as SES's account-level suppression list), written by the one-click link, complaints and hard bounces and read by the send gateway beside the holds; or apply the denial to every customer with the address (the email index, GSI3).
  it.fails("the guest record's offer is not sent to the address either", async () => {
    expect(await scenario('a13-addr', true)).toEqual({ promised: true, marketingEmailsToTheAddressAfter: 0 });
  }, 60_000);
});
