/**
 * Templates per locale: `<name>.<locale>.<channel>.liquid` is chosen by the customer's `locale` trait, the
 * most specific variant there is first (`zh-TW` → `zh` → the default file; `fr-CA` → `fr`), matched without
 * regard to case (`zh_TW` from a CRM is `zh-tw`). A journey's send and a broadcast choose alike (one
 * gateway); the locale chosen is on the message record and in the provider's tags.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { messagesOf, outboxFor, runToEnd } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-locales-'));
const clock = new VirtualClock('2026-03-02T10:00:00Z');
let engine: Engine;
let api: ReturnType<typeof client>;

const email = (subject: string) => [`Subject: ${subject}`, '', `${subject} {{ profile.traits.name }}`, '{{ unsubscribe_url }}', ''].join('\n');
/** Customers by locale trait, and the subject each should get. */
const CUSTOMERS: Array<{ id: string; locale?: string; subject: string; chosen?: string }> = [
  { id: 'loc-zh-tw', locale: 'zh-TW', subject: '欢迎', chosen: 'zh' },
  { id: 'loc-zh-crm', locale: 'zh_TW', subject: '欢迎', chosen: 'zh' },
  { id: 'loc-zh-cn', locale: 'zh-CN', subject: '欢迎 (CN)', chosen: 'zh-cn' },
  { id: 'loc-fr-ca', locale: 'fr-CA', subject: 'Bienvenue', chosen: 'fr' },
  { id: 'loc-de', locale: 'de', subject: 'Welcome' },
  { id: 'loc-none', subject: 'Welcome' },
];

beforeAll(async () => {
  for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
  writeFileSync(
    path.join(dir, 'journeys', 'greet.yaml'),
    ['id: greet', 'name: Greet', 'version: 1', 'trigger: { event: Greet Me }', 'entry: { reentry: always }', 'steps:', '  - id: hello', '    send: { channel: email, template: hello }', ''].join('\n'),
  );
  writeFileSync(path.join(dir, 'templates', 'hello.email.liquid'), email('Welcome'));
  writeFileSync(path.join(dir, 'templates', 'hello.fr.email.liquid'), email('Bienvenue'));
  writeFileSync(path.join(dir, 'templates', 'hello.zh.email.liquid'), email('欢迎'));
  writeFileSync(path.join(dir, 'templates', 'hello.zh-CN.email.liquid'), email('欢迎 (CN)'));
  // A broadcast's template, with a French variant only.
  writeFileSync(path.join(dir, 'templates', 'news.email.liquid'), email('News'));
  writeFileSync(path.join(dir, 'templates', 'news.fr.email.liquid'), email('Nouvelles'));
  engine = await startTestEngine({ journeysDir: path.join(dir, 'journeys'), templatesDir: path.join(dir, 'templates'), clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
  api = client(engine);
});
afterAll(async () => {
  await engine.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('templates per locale', () => {
  it('a journey send takes the most specific variant of the locale trait (zh-TW → zh, fr-CA → fr, zh_TW read as zh-tw), else the default file', async () => {
    // Prepare
    await api.sendAndSettle(CUSTOMERS.map((c) => ({ type: 'identify', userId: c.id, traits: { email: `${c.id}@example.com`, name: c.id, ...(c.locale && { locale: c.locale }) } })));

    // Act
    await api.send(CUSTOMERS.map((c) => ({ type: 'track', userId: c.id, event: 'Greet Me' })));
    for (const c of CUSTOMERS) expect((await runToEnd(clock, engine, c.id, 'greet')).status).toBe('completed');

    // Assess: the subject of each one's email, the locale on its record and in its provider tags.
    for (const c of CUSTOMERS) {
      const [mail] = outboxFor(engine, c.id);
      if (mail?.channel !== 'email') throw new Error(`expected an email to ${c.id}`);
      expect(mail.subject, c.id).toBe(c.subject);
      expect(mail.tags.locale, c.id).toBe(c.chosen);
      const [record] = await messagesOf(engine, c.id);
      expect((record as { locale?: string }).locale, c.id).toBe(c.chosen);
    }
    // The journey's stats count the sends per variant (the default file's are the rest).
    expect(await engine.journeys.records.stats('greet')).toMatchObject({ 'hello.sent': 6, 'hello.locale.zh.sent': 2, 'hello.locale.zh-cn.sent': 1, 'hello.locale.fr.sent': 1 });
  });

  it("takes a Segment client's context.locale as the locale trait when the customer has none; a trait a sender sets wins", async () => {
    // Prepare: one customer with only a device locale, one whose sender set the trait too.
    await api.sendAndSettle([
      { type: 'identify', userId: 'loc-device', traits: { email: 'loc-device@example.com', name: 'Dev' }, context: { locale: 'fr-FR' } },
      { type: 'identify', userId: 'loc-set', traits: { email: 'loc-set@example.com', name: 'Set', locale: 'de' }, context: { locale: 'fr-FR' } },
      { type: 'track', userId: 'loc-set', event: 'Page Viewed', context: { locale: 'zh-TW' } },
    ]);

    // Act
    await api.send(['loc-device', 'loc-set'].map((id) => ({ type: 'track', userId: id, event: 'Greet Me' })));
    for (const id of ['loc-device', 'loc-set']) expect((await runToEnd(clock, engine, id, 'greet')).status).toBe('completed');

    // Assess
    expect((await api.customer('loc-device')).traits.locale).toBe('fr-FR');
    expect((await api.customer('loc-set')).traits.locale).toBe('de');
    expect(outboxFor(engine, 'loc-device').map((m) => (m.channel === 'email' ? m.subject : ''))).toEqual(['Bienvenue']);
    expect(outboxFor(engine, 'loc-set').map((m) => (m.channel === 'email' ? m.subject : ''))).toEqual(['Welcome']);
  });

  it('a broadcast chooses the same way: fr-CA gets the French variant, the others the default file', async () => {
    // Prepare
    await api.sendAndSettle(CUSTOMERS.map((c) => ({ type: 'identify', userId: c.id, traits: { tags: ['crm-gold'] } })));

    // Act
    const res = await fetch(`${engine.url}/v1/broadcasts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'locale-news', segment: 'tag:crm-gold', send: { channel: 'email', template: 'news' } }),
    });
    expect(res.status).toBe(201);
    await clock.run();

    // Assess
    const subjects = Object.fromEntries(
      engine.outbox.entries.flatMap((m) => (m.channel === 'email' && m.tags.journey === 'broadcast:locale-news' ? [[m.tags.customer!, `${m.subject}|${m.tags.locale ?? ''}`]] : [])),
    );
    expect(subjects).toEqual({
      'loc-zh-tw': 'News|',
      'loc-zh-crm': 'News|',
      'loc-zh-cn': 'News|',
      'loc-fr-ca': 'Nouvelles|fr',
      'loc-de': 'News|',
      'loc-none': 'News|',
    });
  });
});
