/**
 * Audit 18. Promise (README "Consent", "Subscription topics"): leaving a topic from one record leaves it for the
 * address, as a channel's denial does; and "an unsubscribe that reached ingest before the identify bringing the
 * address was applied still denies the address" (the profile consumer records it when it brings the address).
 * What I did: the guest has X. The account has no address yet (or ingest does not know it: the identify bringing X
 * comes in a later request, as a CRM often sends them); it leaves the newsletter (`Unsubscribed {channel: email,
 * topic: newsletter}`), then the identify giving it X arrives. Then the guest's newsletter to X.
 * Observed: for a channel unsubscribe the consumer writes the address's denial when X arrives (`denyAddress` in
 * functions/profile/consumer.ts), and the guest is skipped `unsubscribed` (control). For a topic it writes nothing
 * (`denyAddress` looks at the channel's consent only; ingest found no address): no `K#email#newsletter` item for X,
 * and the guest's newsletter is sent to the address whose owner left the newsletter.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { laterOn, profileItems, useTestEngine } from '../helpers/engine';
import { messagesOf, runToEnd } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-a18-topic-before-'));
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

  // BREAK (audit 18): a topic left before the address reaches the profile is never written as the address's
  // (the consumer's denyAddress handles the channel's consent only): the guest sharing the address keeps getting the
  // newsletter its owner left; fix idea: in denyAddress, also write each denied topic of the email channel
  // (profile.topicConsent.email) as the address's `K#email#<topic>` when the address arrives or a topic denial is applied.
  it.fails("a topic left before the address arrives stops the guest's newsletter to it", async () => {
    expect(await scenario('a18tb', 'topic')).toEqual({ addressDenied: true, account: 'topic-unsubscribed', guest: 'topic-unsubscribed' });
  }, 60_000);
});
