/**
 * Audit 17. Promise (issue 10 "consent is law per address"; README "Consent": "the same person is often two records
 * with one address (a guest checkout and the account ...), and an unsubscribe from one stops marketing email to the
 * address for both"); topics.yaml: "a customer may leave one topic and keep the others, per channel, on the
 * preference page every marketing message links to ... or through `Unsubscribed` events with `{ channel, topic }`".
 * What I did: the guest and the account share X. The person leaves the newsletter (`Unsubscribed {channel: email,
 * topic: newsletter}`, what the account's preference page posts). Then the newsletter journey runs for the guest.
 * Observed: a topic's denial is kept for the record only (`putConsentHold` with the topic; `putAddressConsent` and
 * the address item `AH#…/K#email` know channels, not topics): the guest's newsletter goes to X, the address whose
 * owner just left the newsletter. A channel unsubscribe would have stopped it.
 * Control: the same with a channel unsubscribe (`Unsubscribed {channel: email}`): the guest's newsletter is skipped
 * `unsubscribed`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { laterOn, useTestEngine } from '../helpers/engine';
import { messagesOf, runToEnd } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-a17-topic-'));
for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
writeFileSync(path.join(dir, 'journeys', 'news.yaml'), ['id: news', 'name: News', 'version: 1', 'topic: newsletter', 'trigger: { event: News Due }', 'entry: { reentry: always }', 'steps:', '  - id: send-news', '    send: { channel: email, template: news }', ''].join('\n'));
writeFileSync(path.join(dir, 'templates', 'news.email.liquid'), 'Subject: Our news\n\nStories for you.');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, journeysDir: path.join(dir, 'journeys'), templatesDir: path.join(dir, 'templates'), sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
const later = laterOn(clock, t);

/** What became of the customer's newsletter: `sent`, or the reason it was skipped. */
const news = async (id: string) => {
  await t.api.sendAndSettle({ type: 'track', userId: id, event: 'News Due', messageId: `${id}-news` });
  await runToEnd(clock, t.engine, id, 'news');
  const record = (await messagesOf(t.engine, id)).find((m) => m.stepId === 'send-news') as unknown as { status: string; reason?: string } | undefined;
  return record?.status === 'sent' ? 'sent' : record?.reason;
};

async function scenario(person: string, leaves: 'topic' | 'channel') {
  const address = `${person}@example.com`;
  const account = `u-${person}`;
  const guest = `guest-${person}`;
  await t.api.send([
    { type: 'identify', userId: guest, traits: { email: address } },
    { type: 'identify', userId: account, traits: { email: address } },
  ]);
  await later(60_000);
  await t.api.sendAndSettle({ type: 'track', userId: account, event: 'Unsubscribed', properties: { channel: 'email', ...(leaves === 'topic' && { topic: 'newsletter' }) } });
  await later(60_000);
  return { account: await news(account), guest: await news(guest) };
}

describe('leaving a topic from one record of an address another record shares', () => {
  it("control: a channel unsubscribe of the account stops the guest's newsletter to the address", async () => {
    expect(await scenario('a17n-ctl', 'channel')).toEqual({ account: 'unsubscribed', guest: 'unsubscribed' });
  }, 60_000);

  // BREAK (audit 17): a topic left by the account holds for the account only: the guest sharing X gets the newsletter
  // at X; fix idea: topic items per address too (`AH#<hash>` / `K#email#<topic>`, written by `putAddressConsent` for
  // topic changes in the same consent order; read by `holdsOf` with the message's topic, as it reads the record's).
  it.fails("a topic left by the account stops the guest's newsletter to the address", async () => {
    expect(await scenario('a17n', 'topic')).toEqual({ account: 'topic-unsubscribed', guest: 'topic-unsubscribed' });
  }, 60_000);
});
