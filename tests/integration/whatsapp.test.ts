/**
 * WhatsApp (issue 15): a send step on channel whatsapp renders `<template>.whatsapp.liquid` (an approved business
 * template's name, language and body parameters) and sends it to the customer's phone (E.164) with WhatsApp's own
 * consent, quiet hours and frequency cap, as SMS; `fallback: email` sends the email when WhatsApp cannot reach
 * them. Through the embedded engine's outbox, on virtual time.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { JourneyError, loadJourneysFromDir } from '../../workflows/journeys';
import { useTestEngine } from '../helpers/engine';
import { messagesOf, outboxFor, runToEnd } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-whatsapp-'));
for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
const journey = (id: string, send: string, event = 'Order Shipped') => [`id: ${id}`, `name: ${id}`, 'version: 1', `trigger: { event: ${event} }`, 'entry: { reentry: always }', 'steps:', '  - id: notify', `    send: ${send}`, ''].join('\n');
writeFileSync(path.join(dir, 'journeys', 'shipped.yaml'), journey('shipped', '{ channel: whatsapp, template: order-shipped }'));
writeFileSync(path.join(dir, 'journeys', 'shipped-or-email.yaml'), journey('shipped-or-email', '{ channel: whatsapp, template: order-shipped, fallback: email }', 'Parcel Shipped'));
writeFileSync(path.join(dir, 'templates', 'order-shipped.whatsapp.liquid'), 'Template: order_shipped\nLanguage: en_US\n\n{{ profile.traits.firstName }}\n{{ trigger.orderId }}\n');
writeFileSync(path.join(dir, 'templates', 'order-shipped.email.liquid'), 'Subject: Order {{ trigger.orderId }} has shipped\n\nIt is on its way.');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const START = Date.parse('2026-03-02T10:00:00Z'); // 11:00 in Paris: outside quiet hours

describe('a WhatsApp send', () => {
  const clock = new VirtualClock(START);
  const world = useTestEngine({ clock, journeysDir: path.join(dir, 'journeys'), templatesDir: path.join(dir, 'templates'), sendPolicy: { quietHours: { start: '21:00', end: '08:00' }, defaultTimeZone: 'Europe/Paris' }, sweepEveryMs: 0, logLevel: 'SILENT' });
  const ship = async (journeyId: string, id: string, traits: Record<string, unknown>, extra: Record<string, unknown>[] = []) => {
    await world.api.sendAndSettle([{ type: 'identify', userId: id, traits }, ...extra, { type: 'track', userId: id, event: journeyId === 'shipped' ? 'Order Shipped' : 'Parcel Shipped', messageId: `${id}-shipped`, properties: { orderId: `o-${id}` } }]);
    await runToEnd(clock, world.engine, id, journeyId);
    const records = (await messagesOf(world.engine, id)).map((m) => `${m.stepId} ${m.channel} ${m.status}${m.reason ? ` ${m.reason}` : ''}`).sort();
    return { outbox: outboxFor(world.engine, id), records };
  };

  it('sends the business template with its parameters to the customer’s phone: the outbox entry, exactly', async () => {
    const { outbox, records } = await ship('shipped', 'wa-1', { firstName: 'Ada', phone: '+447700900123' });
    expect(outbox.map(({ outboxId: _id, at: _at, step: _step, ...entry }) => entry)).toEqual([
      { channel: 'whatsapp', to: '+447700900123', template: 'order_shipped', language: 'en_US', parameters: ['Ada', 'o-wa-1'], kind: 'marketing', tags: { journey: 'shipped', step: 'notify', customer: 'wa-1' } },
    ]);
    expect(records).toEqual(['notify whatsapp sent']);
  });

  it('skips with the reason when the customer unsubscribed from WhatsApp (consent.whatsapp), while SMS consent is theirs apart', async () => {
    const { outbox, records } = await ship('shipped', 'wa-unsub', { phone: '+447700900124' }, [{ type: 'track', userId: 'wa-unsub', event: 'Unsubscribed', properties: { channel: 'whatsapp' } }]);
    expect(outbox).toEqual([]);
    expect(records).toEqual(['notify whatsapp skipped unsubscribed']);
    const customer = (await world.api.get('/v1/customers/wa-unsub')).json as unknown as { consent: Record<string, { status: string }> };
    expect({ whatsapp: customer.consent.whatsapp?.status, sms: customer.consent.sms?.status }).toEqual({ whatsapp: 'denied', sms: 'unknown' });
  });

  it('falls back to email when the customer has no phone, or one WhatsApp cannot use, each skip recorded', async () => {
    const none = await ship('shipped-or-email', 'wa-nophone', { email: 'wa-nophone@example.com' });
    expect(none.outbox.map((m) => m.channel)).toEqual(['email']);
    expect(none.records).toEqual(['notify whatsapp skipped no-address', 'notify.fallback email sent']);
    const local = await ship('shipped-or-email', 'wa-local', { email: 'wa-local@example.com', phone: '07700 900125' });
    expect(local.outbox.map((m) => m.channel)).toEqual(['email']);
    expect(local.records).toEqual(['notify whatsapp skipped invalid-address', 'notify.fallback email sent']);
  });
});

describe('a WhatsApp send in quiet hours', () => {
  const clock = new VirtualClock(Date.parse('2026-03-02T21:30:00Z')); // 22:30 in Paris
  const world = useTestEngine({ clock, journeysDir: path.join(dir, 'journeys'), templatesDir: path.join(dir, 'templates'), sendPolicy: { quietHours: { start: '21:00', end: '08:00' }, defaultTimeZone: 'Europe/Paris' }, sweepEveryMs: 0, logLevel: 'SILENT' });

  it('is deferred, not dropped, and goes when they end', async () => {
    await world.api.sendAndSettle([{ type: 'identify', userId: 'wa-night', traits: { firstName: 'Lin', phone: '+33612345678' } }, { type: 'track', userId: 'wa-night', event: 'Order Shipped', messageId: 'wa-night-shipped', properties: { orderId: 'o-9' } }]);
    await clock.run(clock.now().getTime() + 60_000);
    expect(outboxFor(world.engine, 'wa-night')).toEqual([]);
    await runToEnd(clock, world.engine, 'wa-night', 'shipped');
    expect(outboxFor(world.engine, 'wa-night').map((m) => ({ channel: m.channel, at: m.at }))).toEqual([{ channel: 'whatsapp', at: '2026-03-03T07:00:00.000Z' }]); // 08:00 in Paris
    const stats = (await world.api.get('/v1/journeys/shipped/stats')).json as unknown as { counters: Record<string, number> };
    expect(stats.counters).toMatchObject({ 'notify.deferred.quiet-hours': 1, 'notify.sent': 1 });
  });
});

describe('the journeys README\'s WhatsApp example', () => {
  const readme = readFileSync(path.join(import.meta.dirname, '..', '..', 'workflows', 'journeys', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### WhatsApp'), readme.indexOf('### Locales'));
  const [liquid, yaml] = ['liquid', 'yaml'].map((lang) => new RegExp(`\`\`\`${lang} channels\\n([\\s\\S]*?)\`\`\``).exec(section)?.[1]);
  const docs = mkdtempSync(path.join(tmpdir(), 'rapport-whatsapp-docs-'));
  for (const sub of ['journeys', 'templates']) mkdirSync(path.join(docs, sub));
  writeFileSync(path.join(docs, 'journeys', 'order-shipped.yaml'), yaml ?? '');
  writeFileSync(path.join(docs, 'templates', 'order-shipped.whatsapp.liquid'), liquid ?? '');
  writeFileSync(path.join(docs, 'templates', 'order-shipped.email.liquid'), 'Subject: Shipped\n\nOrder {{ trigger.orderId }} is on its way.');
  afterAll(() => rmSync(docs, { recursive: true, force: true }));
  const clock = new VirtualClock(START);
  const world = useTestEngine({ clock, journeysDir: path.join(docs, 'journeys'), templatesDir: path.join(docs, 'templates'), sweepEveryMs: 0, logLevel: 'SILENT' });

  it('runs as written: WhatsApp to a customer with a phone, the email to one without', async () => {
    await world.api.sendAndSettle([
      { type: 'identify', userId: 'doc-phone', traits: { firstName: 'Ada', phone: '+447700900123', email: 'ada@example.com' } },
      { type: 'identify', userId: 'doc-email', traits: { firstName: 'Bo', email: 'bo@example.com' } },
      { type: 'track', userId: 'doc-phone', event: 'Order Shipped', messageId: 'doc-1', properties: { orderId: 'o-1' } },
      { type: 'track', userId: 'doc-email', event: 'Order Shipped', messageId: 'doc-2', properties: { orderId: 'o-2' } },
    ]);
    await runToEnd(clock, world.engine, 'doc-phone', 'order-shipped');
    await runToEnd(clock, world.engine, 'doc-email', 'order-shipped');
    expect(outboxFor(world.engine, 'doc-phone').map((m) => (m.channel === 'whatsapp' ? [m.channel, m.template, m.language, ...m.parameters] : [m.channel]))).toEqual([['whatsapp', 'order_shipped', 'en_US', 'Ada', 'o-1']]);
    expect(outboxFor(world.engine, 'doc-email').map((m) => m.channel)).toEqual(['email']);
  });
});

describe('validate: a WhatsApp template', () => {
  const problems = (template: string) => {
    const folder = mkdtempSync(path.join(tmpdir(), 'rapport-whatsapp-validate-'));
    try {
      for (const sub of ['journeys', 'templates']) mkdirSync(path.join(folder, sub));
      writeFileSync(path.join(folder, 'journeys', 'shipped.yaml'), journey('shipped', '{ channel: whatsapp, template: order-shipped }'));
      writeFileSync(path.join(folder, 'templates', 'order-shipped.whatsapp.liquid'), template);
      loadJourneysFromDir(path.join(folder, 'journeys'), path.join(folder, 'templates'));
      return [];
    } catch (error) {
      if (!(error instanceof JourneyError)) throw error;
      return error.errors.map((p) => `${path.basename(p.file)}:${p.line} ${p.message}`);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  };

  it('names the missing part, a literal template name or language WhatsApp would refuse, and a stray header', () => {
    expect(problems('Template: order_shipped\n\n{{ trigger.orderId }}')).toEqual(['order-shipped.whatsapp.liquid:1 missing the "Language:" line: expected the business template\'s language code, like en_US']);
    expect(problems('Template: Order Shipped\nLanguage: english\n\nx')).toEqual([
      'order-shipped.whatsapp.liquid:1 "Template:" "Order Shipped": expected a WhatsApp template name (lowercase letters, digits and "_"), like order_shipped',
      'order-shipped.whatsapp.liquid:2 "Language:" "english": expected a WhatsApp language code, like en or en_US',
    ]);
    expect(problems('Template: order_shipped\nLanguage: en\nSubject: hi\n\nx')).toEqual([
      'order-shipped.whatsapp.liquid:3 expected a header line ("Template:", "Language:"), then a blank line, then the template\'s body parameters, one per line; got "Subject: hi"',
    ]);
    expect(problems('Template: order_shipped\nLanguage: en\n')).toEqual([]);
  });

  it('warns at the send what deployment setting AWS needs for WhatsApp, and how to give it (rapport validate without it in cdk.json)', () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'rapport-whatsapp-deploy-'));
    try {
      for (const sub of ['journeys', 'templates']) mkdirSync(path.join(folder, sub));
      writeFileSync(path.join(folder, 'journeys', 'shipped.yaml'), journey('shipped', '{ channel: whatsapp, template: order-shipped }'));
      writeFileSync(path.join(folder, 'templates', 'order-shipped.whatsapp.liquid'), 'Template: order_shipped\nLanguage: en\n');
      const load = (undeployedChannels: string[]) => loadJourneysFromDir(path.join(folder, 'journeys'), path.join(folder, 'templates'), { undeployedChannels }).warnings.map((w) => `${w.line}:${w.column} ${w.path}: ${w.message}`);
      expect(load(['whatsapp'])).toEqual([
        '8:22 steps[0].send.channel: sends WhatsApp: deploying it to AWS needs the whatsappPhoneNumberId setting: npx cdk deploy -c whatsappPhoneNumberId=phone-number-id-<32 hex digits> (or "whatsappPhoneNumberId" under context in cdk.json, or the whatsapp prop of the Rapport construct); the embedded engine needs none',
      ]);
      expect(load([])).toEqual([]);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
