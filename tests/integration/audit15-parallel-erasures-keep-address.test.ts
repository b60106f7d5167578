/**
 * Audit 15: two records of one person erased at once both keep their address's denial.
 *
 * Promise (README "Privacy: erasure", ARCHITECTURE decision 8: "Erasure is complete even while events race it"): an
 * address's denial and suppression (`AH#<sha256(address)>`, no TTL) "go with the last customer that has the address".
 *
 * What I did: one person, two records with one address (the guest checkout and the account). The account clicks the
 * one-click unsubscribe (the address is denied). The person asks to be erased; the operator finds both records by the
 * address (`GET /v1/customers?email=`) and erases both, the two DELETEs sent together (as a script erasing every
 * match does). Both answer 200.
 *
 * Observed: each erasure reads the email index before either has deleted its profile, sees the other record still
 * holding the address and keeps the address's items: nobody has the address any more, yet its denial (the erased
 * person's choice, under a hash anyone with the address can compute) stays for ever, and a newcomer with the address
 * is refused marketing. The control (the two DELETEs one after the other) deletes it. (A race of two requests, no
 * fault hook: the break failed for this reason in 5 of 5 runs here; both erasures are far apart from their index read
 * to their profile delete.)
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { laterOn, profileItems, useTestEngine } from '../helpers/engine';
import { messagesOf, outboxFor, runToEnd } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-audit15-parallel-erase-'));
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

async function scenario(person: string, together: boolean) {
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
  expect((await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' })).status).toBe(200);
  await later(60_000);
  const found = ((await t.api.get(`/v1/customers?email=${encodeURIComponent(address)}`)).json.customers as unknown as Array<{ id: string }>).map((c) => c.id).sort();
  const statuses = together ? await Promise.all(found.map(async (id) => (await t.api.del(`/v1/customers/${id}`)).status)) : [(await t.api.del(`/v1/customers/${found[0]}`)).status, (await t.api.del(`/v1/customers/${found[1]}`)).status];
  await t.engine.settle();
  const left = (await addressItems(address)).length;
  const newcomer = `new-${person}`;
  await t.api.sendAndSettle({ type: 'identify', userId: newcomer, traits: { email: address } });
  await later(60_000);
  await offer(newcomer, 1);
  return { found: found.length, statuses, addressItemsAfterErasure: left, newcomerOffer: await latestOffer(newcomer) };
}

describe("erasing every record of an address at once", () => {
  it("control: one after the other, the address's denial goes with the last", async () => {
    expect(await scenario('a15-par-ctl', false)).toEqual({ found: 2, statuses: [200, 200], addressItemsAfterErasure: 0, newcomerOffer: 'sent' });
  }, 60_000);

  // BREAK (audit 15): two erasures of the records sharing an address, run together, each see the other still holding the address (email index read before either profile is gone) and both keep the AH# denial: no one has the address, the erased person's choice stays for ever; fix idea: count a record with a tombstone (erasing) as gone when checking the email index, and after deleting the profile re-check the index and delete the address's items if no live record remains (write, then check, as the holds do); or let the sweep delete AH# items whose address no live record has.
  it.fails('together, the address denial goes too', async () => {
    expect(await scenario('a15-par', true)).toEqual({ found: 2, statuses: [200, 200], addressItemsAfterErasure: 0, newcomerOffer: 'sent' });
  }, 60_000);
});
