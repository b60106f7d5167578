import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { eventually, messagesOf } from '../helpers/journeys';
import { CHILD_PROCESS_TIMEOUT, cliInProcess, lines, ROOT } from './helpers';

/**
 * `rapport preview` renders a message with the gateway's own code, for a customer from a file or from a running
 * engine; `rapport send-test` sends one through the engine's channel (the outbox), marked as a test. In process.
 */
const tmp = mkdtempSync(join(tmpdir(), 'rapport-preview-'));
const CONFIG = join(ROOT, 'workflows');
const ENGINE_TEMPLATES = join(tmp, 'engine-templates');
const ENDPOINT = 'arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/shop-app/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
let engine: Engine;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  // The repository's templates, in a folder of the test's own (a test adds to it; the engine reads it on each request).
  cpSync(join(CONFIG, 'templates'), ENGINE_TEMPLATES, { recursive: true });
  engine = await startTestEngine({ templatesDir: ENGINE_TEMPLATES, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
  api = client(engine);
}, 60_000);
afterAll(async () => {
  await engine?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

interface Preview {
  customerId: string;
  channel: string;
  locale: string | null;
  file: string;
  message: { to: string; subject: string; text: string; html?: string; headers: Record<string, string>; tags: Record<string, string> };
}

describe('rapport preview', { timeout: CHILD_PROCESS_TIMEOUT }, () => {
  it('renders a template for a profile file: the French variant for fr-CA, the address, subject, parts and List-Unsubscribe', async () => {
    // Prepare
    writeFileSync(join(tmp, 'ada.json'), JSON.stringify({ id: 'ada', traits: { email: 'ada@example.com', name: 'Ada', locale: 'fr-CA' } }));

    // Act
    const result = await cliInProcess(['preview', 'welcome', '--profile', 'ada.json', '--config', CONFIG], { cwd: tmp });

    // Assess
    expect(result.code, result.stderr).toBe(0);
    const out = lines(result.stdout);
    expect(out.slice(0, 4)).toEqual(['Preview of welcome (email) for customer ada', 'Locale: fr (welcome.fr.email.liquid)', 'To: ada@example.com', 'Subject: Bienvenue, Ada !']);
    expect(out[4]).toMatch(/^List-Unsubscribe: <http:\/\/127\.0\.0\.1:3000\/v1\/unsubscribe\?c=ada&ch=email&a=[0-9a-f]{64}&t=[\w-]+>$/);
    expect(out[5]).toBe('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    expect(out).toContain('--- text ---');
    expect(out).toContain('Bonjour Ada,');
    expect(out).toContain('<p>Bonjour Ada,</p>');

    // Without a locale variant for the customer's locale: the default file, and why.
    const de = await cliInProcess(['preview', 'welcome', '--profile', 'ada.json', '--locale', 'de', '--config', CONFIG], { cwd: tmp });
    expect(lines(de.stdout).slice(1, 4)).toEqual(['Locale: default (welcome.email.liquid; no variant for "de")', 'To: ada@example.com', 'Subject: Welcome aboard, Ada!']);
  });

  it("renders a journey's step for a customer of a running engine exactly as the gateway then sends it", async () => {
    // Prepare: a French customer, then the welcome journey's first email to them.
    await api.sendAndSettle({ type: 'identify', userId: 'pv-1', traits: { email: 'pv-1@example.com', name: 'Zoé', locale: 'fr' } });

    // Act
    const result = await cliInProcess(['preview', 'welcome:send-welcome', '--customer', 'pv-1', '--engine', engine.url, '--json', '--config', CONFIG], { cwd: tmp });
    await api.send({ type: 'track', userId: 'pv-1', event: 'Signed Up', properties: { method: 'email' } });
    const sent = await eventually(() => engine.outbox.entries.find((m) => m.channel === 'email' && m.tags.customer === 'pv-1'), "pv-1's welcome email");

    // Assess: the preview is the email the gateway sent, to the header.
    expect(result.code, result.stderr).toBe(0);
    const preview = JSON.parse(result.stdout) as Preview;
    expect(preview).toMatchObject({ customerId: 'pv-1', channel: 'email', locale: 'fr', file: 'welcome.fr.email.liquid' });
    if (sent.channel !== 'email') throw new Error('expected an email');
    expect({ to: preview.message.to, subject: preview.message.subject, text: preview.message.text, html: preview.message.html, headers: preview.message.headers }).toEqual({
      to: sent.to,
      subject: sent.subject,
      text: sent.text,
      html: sent.html,
      headers: sent.headers,
    });
    expect(sent.tags.locale).toBe('fr');
  });

  it("renders an SMS for the customer's phone in their locale, and asks which channel when a name has both", async () => {
    // Prepare: a config with an SMS template, its French variant, and an email of the same name.
    cpSync(CONFIG, join(tmp, 'wf'), { recursive: true });
    writeFileSync(join(tmp, 'wf', 'templates', 'reminder.sms.liquid'), 'Hi {{ profile.traits.name }}, your basket misses you. Stop: {{ unsubscribe_url }}\n');
    writeFileSync(join(tmp, 'wf', 'templates', 'reminder.fr.sms.liquid'), 'Bonjour {{ profile.traits.name }}, votre panier vous attend. Stop : {{ unsubscribe_url }}\n');
    writeFileSync(join(tmp, 'sms.json'), JSON.stringify({ id: 'sam', traits: { phone: '+33612345678', name: 'Sam', locale: 'fr-FR' } }));

    // Act
    const result = await cliInProcess(['preview', 'reminder', '--profile', 'sms.json', '--config', 'wf'], { cwd: tmp });
    writeFileSync(join(tmp, 'wf', 'templates', 'reminder.email.liquid'), 'Subject: Your basket\n\nIt misses you.\n');
    const both = await cliInProcess(['preview', 'reminder', '--profile', 'sms.json', '--config', 'wf'], { cwd: tmp });

    // Assess
    expect(result.code, result.stderr).toBe(0);
    const out = lines(result.stdout);
    expect(out.slice(0, 3)).toEqual(['Preview of reminder (sms) for customer sam', 'Locale: fr (reminder.fr.sms.liquid)', 'To: +33612345678']);
    expect(out[3]).toMatch(/^Bonjour Sam, votre panier vous attend\. Stop : http:\/\/127\.0\.0\.1:3000\/v1\/unsubscribe\?c=sam&ch=sms&t=/);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('"reminder" is an email and an SMS template: say which with --channel email or --channel sms');
  });

  it('renders a WhatsApp and a push template for a profile file: the address, then the parts as the channel takes them', async () => {
    // Prepare: both templates in a copy of the config, and a customer with a phone and a push endpoint.
    cpSync(CONFIG, join(tmp, 'wf-chan'), { recursive: true });
    writeFileSync(join(tmp, 'wf-chan', 'templates', 'shipped.whatsapp.liquid'), 'Template: order_shipped\nLanguage: en_US\n\n{{ profile.traits.name }}\n{{ trigger.orderId }}\n');
    writeFileSync(join(tmp, 'wf-chan', 'templates', 'shipped.push.liquid'), 'Title: Order {{ trigger.orderId }} has shipped\nData: {"orderId": {{ trigger.orderId | json }}}\n\nHi {{ profile.traits.name }}, it is on its way.\n');
    writeFileSync(join(tmp, 'app.json'), JSON.stringify({ id: 'ann', traits: { name: 'Ann', phone: '+447700900123', pushToken: ENDPOINT } }));
    const trigger = JSON.stringify({ orderId: 'o-7' });

    // Act
    const whatsapp = await cliInProcess(['preview', 'shipped', '--channel', 'whatsapp', '--trigger', trigger, '--profile', 'app.json', '--config', 'wf-chan'], { cwd: tmp });
    const push = await cliInProcess(['preview', 'shipped', '--channel', 'push', '--trigger', trigger, '--profile', 'app.json', '--config', 'wf-chan'], { cwd: tmp });
    const which = await cliInProcess(['preview', 'shipped', '--profile', 'app.json', '--config', 'wf-chan'], { cwd: tmp });

    // Assess
    expect(whatsapp.code, whatsapp.stderr).toBe(0);
    expect(lines(whatsapp.stdout)).toEqual(['Preview of shipped (whatsapp) for customer ann', 'Locale: default (shipped.whatsapp.liquid; the customer has no locale trait)', 'To: +447700900123', ...JSON.stringify({ template: 'order_shipped', language: 'en_US', parameters: ['Ann', 'o-7'], kind: 'marketing' }, null, 2).split('\n')]);
    expect(push.code, push.stderr).toBe(0);
    expect(lines(push.stdout)).toEqual(['Preview of shipped (push) for customer ann', 'Locale: default (shipped.push.liquid; the customer has no locale trait)', `To: ${ENDPOINT}`, 'Title: Order o-7 has shipped', 'Data: {"orderId":"o-7"}', 'Hi Ann, it is on its way.']);
    expect(which.code).toBe(2);
    expect(which.stderr).toContain('"shipped" is a WhatsApp and a push template: say which with --channel whatsapp or --channel push');
  });

  it("renders a profile file's recommendations, and names a bad one", async () => {
    cpSync(CONFIG, join(tmp, 'wf-x'), { recursive: true });
    writeFileSync(join(tmp, 'wf-x', 'templates', 'next-buy.email.liquid'), 'Subject: For your sofa\n\nCustomers went on to buy: {{ recommendations.categories | join: ", " }}.\n');
    writeFileSync(join(tmp, 'rec.json'), JSON.stringify({ id: 'rae', traits: { email: 'rae@example.com' }, recommendations: { categories: ['coffee-table', 'rug'] } }));
    writeFileSync(join(tmp, 'bad-rec.json'), JSON.stringify({ id: 'rae', traits: { email: 'rae@example.com' }, recommendations: { categories: 'coffee-table' } }));
    const result = await cliInProcess(['preview', 'next-buy', '--profile', 'rec.json', '--config', 'wf-x'], { cwd: tmp });
    expect(result.code, result.stderr).toBe(0);
    expect(lines(result.stdout)).toContain('Customers went on to buy: coffee-table, rug.');
    const bad = await cliInProcess(['preview', 'next-buy', '--profile', 'bad-rec.json', '--config', 'wf-x'], { cwd: tmp });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--profile bad-rec.json: recommendations.categories: expected a list of names, got "coffee-table"');
  });

  it('exits 1 for a customer the engine does not know, and 2 without a customer or a profile', async () => {
    const unknown = await cliInProcess(['preview', 'welcome', '--customer', 'nobody', '--engine', engine.url, '--config', CONFIG], { cwd: tmp });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('404');
    const neither = await cliInProcess(['preview', 'welcome', '--config', CONFIG], { cwd: tmp });
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('expected one of --customer <id> (from a running engine) or --profile <file.json>');
  });
});

describe('rapport send-test', { timeout: CHILD_PROCESS_TIMEOUT }, () => {
  it("sends one email to the outbox, marked as a test, whatever the customer's consent, and records or counts nothing", async () => {
    // Prepare: a customer who unsubscribed; the test renders with their data but goes to the operator.
    await api.sendAndSettle([
      { type: 'identify', userId: 'st-1', traits: { email: 'st-1@example.com', name: 'Marc' } },
      { type: 'track', userId: 'st-1', event: 'Unsubscribed', properties: { channel: 'email' } },
    ]);
    const statsBefore = (await api.get('/v1/journeys/welcome/stats')).json;

    // Act
    const result = await cliInProcess(['send-test', 'welcome', '--to', 'me@example.com', '--customer', 'st-1', '--locale', 'fr', '--engine', engine.url], { cwd: tmp });

    // Assess
    expect(result.code, result.stderr).toBe(0);
    const [line] = lines(result.stdout);
    const outboxId = /^sent a test email welcome \(locale fr\) to me@example\.com: (outbox-\d+)$/.exec(line ?? '')?.[1];
    expect(outboxId, result.stdout).toBeDefined();
    const mail = engine.outbox.entries.find((m) => m.outboxId === outboxId);
    if (mail?.channel !== 'email') throw new Error('expected the test email in the outbox');
    expect(mail).toMatchObject({ to: 'me@example.com', subject: 'Bienvenue, Marc !', tags: { test: 'true', template: 'welcome', locale: 'fr' } });
    expect(mail.headers['X-Rapport-Test']).toBe('true');
    expect(mail.tags.customer).toBeUndefined();
    expect(await messagesOf(engine, 'st-1')).toEqual([]);
    expect((await api.get('/v1/journeys/welcome/stats')).json).toEqual(statsBefore);
  });

  it('sends a WhatsApp and a push test to the outbox, marked as a test, and refuses an address the channel cannot take, naming --to', async () => {
    // Prepare: a templates folder with both (the engine reads its templates on each request).
    writeFileSync(join(ENGINE_TEMPLATES, 'st-shipped.whatsapp.liquid'), 'Template: order_shipped\nLanguage: en_US\n\n{{ profile.traits.name }}\n');
    writeFileSync(join(ENGINE_TEMPLATES, 'st-shipped.push.liquid'), 'Title: Your order has shipped\n\nHi {{ profile.traits.name }}.\n');
    await api.sendAndSettle({ type: 'identify', userId: 'st-2', traits: { name: 'Noor' } });

    // Act
    const whatsapp = await cliInProcess(['send-test', 'st-shipped', '--channel', 'whatsapp', '--to', '+447700900999', '--customer', 'st-2', '--engine', engine.url], { cwd: tmp });
    const push = await cliInProcess(['send-test', 'st-shipped', '--channel', 'push', '--to', ENDPOINT, '--customer', 'st-2', '--engine', engine.url], { cwd: tmp });
    const local = await cliInProcess(['send-test', 'st-shipped', '--channel', 'whatsapp', '--to', '07700 900999', '--engine', engine.url], { cwd: tmp });
    const token = await cliInProcess(['send-test', 'st-shipped', '--channel', 'push', '--to', 'me@example.com', '--engine', engine.url], { cwd: tmp });

    // Assess
    expect(whatsapp.code, whatsapp.stderr).toBe(0);
    expect(push.code, push.stderr).toBe(0);
    const ids = [whatsapp, push].map((r) => /: (outbox-\d+)$/.exec(lines(r.stdout)[0] ?? '')?.[1]);
    const tags = { test: 'true', template: 'st-shipped', 'rendered-for': 'st-2' };
    expect(ids.map((id) => engine.outbox.entries.find((m) => m.outboxId === id)).map((m) => m && { ...m, outboxId: undefined, at: undefined })).toEqual([
      { channel: 'whatsapp', to: '+447700900999', template: 'order_shipped', language: 'en_US', parameters: ['Noor'], kind: 'marketing', tags, renderedFor: 'st-2', outboxId: undefined, at: undefined },
      { channel: 'push', to: ENDPOINT, title: 'Your order has shipped', body: 'Hi Noor.', kind: 'marketing', tags, renderedFor: 'st-2', outboxId: undefined, at: undefined },
    ]);
    expect(lines(whatsapp.stdout)[0]).toMatch(/^sent a test whatsapp st-shipped \(locale default\) to \+447700900999: outbox-\d+$/);
    expect(await messagesOf(engine, 'st-2')).toEqual([]);
    expect(local.code).toBe(1);
    expect(local.stderr).toMatch(/^400 .*"to: expected a phone number in E\.164 form, like \+447700900123 \(channel whatsapp\), got \\"07700 900999\\""/);
    expect(token.code).toBe(1);
    expect(token.stderr).toContain('to: expected an SNS platform endpoint ARN');
  });

  it('exits 1 with the reason for a template that does not exist', async () => {
    const result = await cliInProcess(['send-test', 'no-such-template', '--to', 'me@example.com', '--engine', engine.url], { cwd: tmp });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^422 .*template_error.*no-such-template.email.liquid/);
  });
});
