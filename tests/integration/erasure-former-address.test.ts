/**
 * Erasure deletes the holds of an address the customer had before they changed it (erasure removes everything: an
 * `AH#<sha256(address)>` item names nobody, but the hash of an address is the address to anyone who has it). A
 * customer with address A (their only record) clicks the one-click unsubscribe: A is denied. A day later they change
 * to B; the timeline events naming A pass retention (emulated: the expired `E#` items are deleted, as AWS's TTL
 * would). Then they are erased. Writing A's hold also wrote a pointer in their partition (`AP#<sha256(A)>`, no
 * address, no ttl), so erasure finds A, deletes its holds (nobody else has it), and a newcomer signing up with A is
 * mailed. Before, erasure looked only at the current address and the timeline still there, and A's denial stayed for
 * ever. Control: the address never changed.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DeleteItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { laterOn, profileItems, useTestEngine } from '../helpers/engine';
import { messagesOf, outboxFor, runToEnd } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-old-address-'));
for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
writeFileSync(path.join(dir, 'journeys', 'offer.yaml'), ['id: offer', 'name: Offer', 'version: 1', 'trigger: { event: Offer Due }', 'entry: { reentry: always }', 'steps:', '  - id: send-offer', '    send: { channel: email, template: offer }', ''].join('\n'));
writeFileSync(path.join(dir, 'templates', 'offer.email.liquid'), 'Subject: 20% off\n\nOffers for you.');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({
  clock,
  journeysDir: path.join(dir, 'journeys'),
  templatesDir: path.join(dir, 'templates'),
  sendPolicy: { quietHours: undefined },
  sweepEveryMs: 0,
  logLevel: 'SILENT',
  env: { ...process.env, RAPPORT_TIMELINE_RETENTION_DAYS: '30' },
});
const later = laterOn(clock, t);
const DAY = 86_400_000;

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

/** AWS's TTL: timeline items past their retention are deleted (dynalite never deletes them). */
async function expireTimelines() {
  const { client } = t.engine.dynamo;
  const now = clock.now().getTime() / 1000;
  let start: Record<string, never> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: PROFILE_TABLE, ConsistentRead: true, ...(start && { ExclusiveStartKey: start }) }));
    for (const item of page.Items ?? []) {
      if (item.SK?.S?.startsWith('E#') && item.itemType?.S === 'event' && item.ttl?.N !== undefined && Number(item.ttl.N) <= now) {
        await client.send(new DeleteItemCommand({ TableName: PROFILE_TABLE, Key: { PK: item.PK!, SK: item.SK } }));
      }
    }
    start = page.LastEvaluatedKey as typeof start;
  } while (start);
}

async function scenario(person: string, changesAddress: boolean) {
  const old = `${person}@example.com`;
  const id = `u-${person}`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: old } });
  await later(60_000);
  await offer(id, 1);
  const mail = outboxFor(t.engine, id).find((m) => m.channel === 'email' && 'headers' in m && m.headers['List-Unsubscribe']) as { headers: Record<string, string> } | undefined;
  const link = /^<(.+)>$/.exec(mail!.headers['List-Unsubscribe']!)![1]!;
  expect((await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' })).status).toBe(200);
  await later(DAY);
  const deniedBefore = (await addressItems(old)).length;
  if (changesAddress) await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: `${person}-new@example.org` } });
  // Past the timeline's retention, AWS's TTL has deleted the old events.
  await later(31 * DAY);
  await expireTimelines();
  expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
  await t.engine.settle();
  const left = (await addressItems(old)).length;
  // Someone signs up with the old address: nobody with it ever unsubscribed.
  const newcomer = `new-${person}`;
  await t.api.sendAndSettle({ type: 'identify', userId: newcomer, traits: { email: old } });
  await later(60_000);
  await offer(newcomer, 1);
  return { deniedBefore, addressItemsAfterErasure: left, newcomerOffer: await latestOffer(newcomer) };
}

describe("erasure and an address the customer no longer has", () => {
  it('control: the address unchanged, erasure deletes its denial and a newcomer with it is mailed', async () => {
    expect(await scenario('addr-ctl', false)).toEqual({ deniedBefore: 1, addressItemsAfterErasure: 0, newcomerOffer: 'sent' });
  }, 60_000);

  it("erasure deletes the denial of the customer's former address too", async () => {
    expect(await scenario('addr', true)).toEqual({ deniedBefore: 1, addressItemsAfterErasure: 0, newcomerOffer: 'sent' });
  }, 60_000);
});
