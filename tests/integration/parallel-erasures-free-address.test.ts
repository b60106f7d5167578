/**
 * Two records of one person erased at once take their address's denial with them.
 *
 * Promise (README "Privacy: erasure", ARCHITECTURE decision 8: "Erasure is complete even while events race it"): an
 * address's denial and suppression (`AH#<sha256(address)>`, no TTL) "go with the last customer that has the address".
 *
 * Scenario: one person, two records with one address (the guest checkout and the account). The account clicks the
 * one-click unsubscribe (the address is denied). The operator finds both records by the address
 * (`GET /v1/customers?email=`) and erases both, the two DELETEs sent together (a script erasing every match). Both
 * answer 200, the address's items are gone, and a newcomer with the address is mailed. The control sends the two
 * DELETEs one after the other.
 *
 * The fix (functions/profile/store.ts `#addressHoldsToErase`): each erasure reads the email index before either has
 * deleted its profile, so each saw the other record still holding the address and kept the address's items for ever.
 * A record another erasure has tombstoned (with no new life: `erasedNow`) now counts as gone: each erasure tombstones
 * its ids before this check, so whichever checks later sees both tombstones and deletes the address's items.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { laterOn, profileItems, useTestEngine } from '../helpers/engine';
import { messagesOf, outboxFor, runToEnd } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-parallel-erase-'));
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

  it('together, the address denial goes too', async () => {
    expect(await scenario('a15-par', true)).toEqual({ found: 2, statuses: [200, 200], addressItemsAfterErasure: 0, newcomerOffer: 'sent' });
  }, 60_000);
});
