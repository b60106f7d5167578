/**
 * An address's holds go with the last of its records to be erased, whatever they did with the address since
 * (erasure removes everything; README "Erasure"). Two records share X (a guest checkout and the account). A
 * unsubscribes: X is denied, the pointer `AP#<sha256(X)>` goes into A's partition. A is erased: B still has X, so X's
 * denial is kept, and the erasure now puts the pointer into B's partition. B then changes to Y, its events naming X pass
 * retention (emulated as AWS's TTL would), and B is erased: the pointer leads erasure to X, and X's denial goes (a
 * newcomer with X is mailed). Before, nothing of B named X and the denial stayed for ever. Control: B erased while its
 * timeline still names X.
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

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-shared-'));
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

async function scenario(person: string, expireFirst: boolean) {
  const shared = `${person}@example.com`;
  const a = `u-${person}-guest`;
  const b = `u-${person}-account`;
  await t.api.sendAndSettle({ type: 'identify', userId: a, traits: { email: shared } });
  await t.api.sendAndSettle({ type: 'identify', userId: b, traits: { email: shared } });
  await later(60_000);
  await offer(a, 1);
  const mail = outboxFor(t.engine, a).find((m) => m.channel === 'email' && 'headers' in m && m.headers['List-Unsubscribe']) as { headers: Record<string, string> } | undefined;
  const link = /^<(.+)>$/.exec(mail!.headers['List-Unsubscribe']!)![1]!;
  expect((await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' })).status).toBe(200);
  await later(DAY);
  const deniedBefore = (await addressItems(shared)).length;
  // A is erased: B still has the address, so its denial stays (B's address is the same person's).
  expect((await t.api.del(`/v1/customers/${a}`)).status).toBe(200);
  await t.engine.settle();
  const keptForB = (await addressItems(shared)).length;
  // B moves to another address.
  await t.api.sendAndSettle({ type: 'identify', userId: b, traits: { email: `${person}-new@example.org` } });
  if (expireFirst) {
    await later(31 * DAY);
    await expireTimelines();
  }
  expect((await t.api.del(`/v1/customers/${b}`)).status).toBe(200);
  await t.engine.settle();
  const left = (await addressItems(shared)).length;
  // Someone signs up with the address: no live record with it ever unsubscribed.
  const newcomer = `new-${person}`;
  await t.api.sendAndSettle({ type: 'identify', userId: newcomer, traits: { email: shared } });
  await later(60_000);
  await offer(newcomer, 1);
  return { deniedBefore, keptForB, addressItemsAfterErasures: left, newcomerOffer: await latestOffer(newcomer) };
}

describe('an address shared by two records, both erased', () => {
  it('control: the second record erased while its timeline names the address frees it', async () => {
    expect(await scenario('sh-ctl', false)).toEqual({ deniedBefore: 1, keptForB: 1, addressItemsAfterErasures: 0, newcomerOffer: 'sent' });
  }, 60_000);

  // that record has moved to another address and its events naming the shared one expired (no pointer in its partition);
  // fix idea: when erasure keeps an address's holds for another record, write the `AP#` pointer into that record's
  // partition (or every record with the address gets a pointer when a hold of it is written / when it takes the address).
  it("erasing the second record after it moved away deletes the first record's denial of the shared address", async () => {
    expect(await scenario('sh', true)).toEqual({ deniedBefore: 1, keptForB: 1, addressItemsAfterErasures: 0, newcomerOffer: 'sent' });
  }, 60_000);
});
