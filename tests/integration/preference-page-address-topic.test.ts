/**
 * The preference page shows where a record stands as a send decides it: a topic its address left (another record
 * with the address left it) shows unticked, and ticking it re-joins (a `Subscribed` from this record, which has the
 * address, lifts the address's denial). The guest and the account share X; the account leaves the newsletter; the
 * guest's page shows it left; ticking it sends the guest the newsletter again.
 * Control: the guest itself left the newsletter.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEV_UNSUBSCRIBE_KEY } from '../../functions/journeys';
import { preferencesUrl } from '../../functions/journeys/unsubscribe';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { laterOn, useTestEngine } from '../helpers/engine';
import { messagesOf, runToEnd } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-pref-'));
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
/** The page's form as a browser posts it: its hidden fields and the boxes ticked, `tick` ticked too. */
function formBody(html: string, tick: readonly string[]): string {
  const params = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)">/g)) params.append(m[1]!, m[2]!);
  const ticked = [...html.matchAll(/name="on" value="([^"]+)" checked/g)].map((m) => m[1]!);
  for (const pair of new Set([...ticked, ...tick])) params.append('on', pair);
  return params.toString();
}

async function scenario(person: string, leftBy: 'guest' | 'account') {
  const address = `${person}@example.com`;
  const account = `u-${person}`;
  const guest = `guest-${person}`;
  await t.api.send([
    { type: 'identify', userId: guest, traits: { email: address } },
    { type: 'identify', userId: account, traits: { email: address } },
  ]);
  await later(60_000);
  await t.api.sendAndSettle({ type: 'track', userId: leftBy === 'guest' ? guest : account, event: 'Unsubscribed', properties: { channel: 'email', topic: 'newsletter' } });
  await later(60_000);
  const before = await news(guest);
  // A day later, the guest's preference page: the person asks for the newsletter back.
  await later(86_400_000);
  const link = preferencesUrl(t.engine.url, DEV_UNSUBSCRIBE_KEY, guest, new Date(clock.now().getTime() + 365 * 86_400_000));
  const html = await (await fetch(link)).text();
  const shownTicked = html.includes('value="email:newsletter" checked');
  const saved = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: formBody(html, ['email:newsletter']) });
  expect(saved.status).toBe(200);
  await later(60_000);
  return { before, shownTicked, after: await news(guest) };
}

describe("the guest's preference page after the account left a topic for the shared address", () => {
  it('control: the guest left the newsletter itself: its page shows it left, and ticking it re-joins', async () => {
    expect(await scenario('a18pp-ctl', 'guest')).toEqual({ before: 'topic-unsubscribed', shownTicked: false, after: 'sent' });
  }, 60_000);

  it("after the account left it, the guest's page shows it left, and ticking it re-joins", async () => {
    expect(await scenario('a18pp', 'account')).toEqual({ before: 'topic-unsubscribed', shownTicked: false, after: 'sent' });
  }, 60_000);
});
