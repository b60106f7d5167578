/**
 * A topic left before the identify bringing the address reaches the profile is still left for the address: the
 * profile consumer writes each denied topic as the address's when the profile gets the address (`denyAddress`), as it
 * does the channel's denial. The guest has X; the account leaves the newsletter, then the identify giving it X
 * arrives: the guest's newsletter to X is skipped `topic-unsubscribed`. Control: a channel unsubscribe.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { laterOn, profileItems, useTestEngine } from '../helpers/engine';
import { messagesOf, runToEnd } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-topic-before-'));
for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
writeFileSync(path.join(dir, 'journeys', 'news.yaml'), ['id: news', 'name: News', 'version: 1', 'topic: newsletter', 'trigger: { event: News Due }', 'entry: { reentry: always }', 'steps:', '  - id: send-news', '    send: { channel: email, template: news }', ''].join('\n'));
writeFileSync(path.join(dir, 'templates', 'news.email.liquid'), 'Subject: Our news\n\nStories for you.');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, journeysDir: path.join(dir, 'journeys'), templatesDir: path.join(dir, 'templates'), sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
const later = laterOn(clock, t);

let sends = 0;
const news = async (id: string) => {
  await t.api.sendAndSettle({ type: 'track', userId: id, event: 'News Due', messageId: `${id}-news-${++sends}` });
  await runToEnd(clock, t.engine, id, 'news');
  const records = (await messagesOf(t.engine, id)).filter((m) => m.stepId === 'send-news') as unknown as Array<{ status: string; reason?: string; at: string }>;
  const record = records.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)).at(-1);
  return record?.status === 'sent' ? 'sent' : record?.reason;
};
const addressDenials = async (address: string) =>
  (await profileItems(t.engine, (text) => text.includes(`"AH#${createHash('sha256').update(address).digest('hex')}"`) && text.includes('"denied"'))).length;

async function scenario(person: string, leaves: 'topic' | 'channel') {
  const address = `${person}@example.com`;
  const account = `u-${person}`;
  const guest = `guest-${person}`;
  await t.api.send([
    { type: 'identify', userId: guest, traits: { email: address } },
    { type: 'identify', userId: account, traits: { name: 'Ann' } },
  ]);
  await later(60_000);
  // The account leaves (the topic, or the channel) before the identify that brings its address.
  await t.api.sendAndSettle({ type: 'track', userId: account, event: 'Unsubscribed', properties: { channel: 'email', ...(leaves === 'topic' && { topic: 'newsletter' }) } });
  await later(60_000);
  await t.api.sendAndSettle({ type: 'identify', userId: account, traits: { email: address } });
  await later(60_000);
  return { addressDenied: (await addressDenials(address)) > 0, account: await news(account), guest: await news(guest) };
}

describe('a topic left before the identify bringing the address', () => {
  it("control: a channel unsubscribe before the address arrives still stops the guest's mail to it", async () => {
    expect(await scenario('a18tb-ctl', 'channel')).toEqual({ addressDenied: true, account: 'unsubscribed', guest: 'unsubscribed' });
  }, 60_000);

  it("a topic left before the address arrives stops the guest's newsletter to it", async () => {
    expect(await scenario('a18tb', 'topic')).toEqual({ addressDenied: true, account: 'topic-unsubscribed', guest: 'topic-unsubscribed' });
  }, 60_000);
});
