/**
 * Mobile push (issue 15): a send step on channel push renders `<template>.push.liquid` (title, data, body) and sends
 * it to the customer's SNS platform endpoint (the `pushToken` trait) with push's own consent, quiet hours and
 * frequency cap; `fallback: email` sends the email when push cannot reach them. Through the embedded engine's
 * outbox, on virtual time.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { JourneyError, loadJourneysFromDir } from '../../workflows/journeys';
import { useTestEngine } from '../helpers/engine';
import { messagesOf, outboxFor, runToEnd } from '../helpers/journeys';

const ENDPOINT = 'arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/shop-app/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const dir = mkdtempSync(path.join(tmpdir(), 'rapport-push-'));
for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
const journey = (id: string, send: string, event: string) => [`id: ${id}`, `name: ${id}`, 'version: 1', `trigger: { event: ${event} }`, 'entry: { reentry: always }', 'steps:', '  - id: notify', `    send: ${send}`, ''].join('\n');
writeFileSync(path.join(dir, 'journeys', 'shipped.yaml'), journey('shipped', '{ channel: push, template: order-shipped }', 'Order Shipped'));
writeFileSync(path.join(dir, 'journeys', 'shipped-or-email.yaml'), journey('shipped-or-email', '{ channel: push, template: order-shipped, fallback: email }', 'Parcel Shipped'));
writeFileSync(path.join(dir, 'templates', 'order-shipped.push.liquid'), 'Title: Order {{ trigger.orderId }} has shipped\nData: {"orderId": {{ trigger.orderId | json }}, "screen": "orders"}\n\nHi {{ profile.traits.firstName }}, it is on its way.\n');
writeFileSync(path.join(dir, 'templates', 'order-shipped.email.liquid'), 'Subject: Order {{ trigger.orderId }} has shipped\n\nIt is on its way.');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const START = Date.parse('2026-03-02T10:00:00Z'); // 11:00 in Paris
const POLICY = { quietHours: { start: '21:00', end: '08:00' }, defaultTimeZone: 'Europe/Paris' };

describe('a push send', () => {
  const clock = new VirtualClock(START);
  const world = useTestEngine({ clock, journeysDir: path.join(dir, 'journeys'), templatesDir: path.join(dir, 'templates'), sendPolicy: POLICY, sweepEveryMs: 0, logLevel: 'SILENT' });
  const ship = async (journeyId: string, id: string, traits: Record<string, unknown>, extra: Record<string, unknown>[] = []) => {
    const event = journeyId === 'shipped' ? 'Order Shipped' : 'Parcel Shipped';
    await world.api.sendAndSettle([{ type: 'identify', userId: id, traits }, ...extra, { type: 'track', userId: id, event, messageId: `${id}-shipped`, properties: { orderId: `o-${id}` } }]);
    await runToEnd(clock, world.engine, id, journeyId);
    const records = (await messagesOf(world.engine, id)).map((m) => `${m.stepId} ${m.channel} ${m.status}${m.reason ? ` ${m.reason}` : ''}`).sort();
    return { outbox: outboxFor(world.engine, id), records };
  };

  it('sends title, body and data to the customer’s endpoint: the outbox entry, exactly', async () => {
    const { outbox, records } = await ship('shipped', 'pu-1', { firstName: 'Ada', pushToken: ENDPOINT });
    expect(outbox.map(({ outboxId: _id, at: _at, step: _step, ...entry }) => entry)).toEqual([
      { channel: 'push', to: ENDPOINT, title: 'Order o-pu-1 has shipped', body: 'Hi Ada, it is on its way.', data: { orderId: 'o-pu-1', screen: 'orders' }, kind: 'marketing', tags: { journey: 'shipped', step: 'notify', customer: 'pu-1' } },
    ]);
    expect(records).toEqual(['notify push sent']);
  });

  it('skips with the reason when the customer turned push off (consent.push)', async () => {
    const { outbox, records } = await ship('shipped', 'pu-off', { pushToken: ENDPOINT }, [{ type: 'identify', userId: 'pu-off', traits: { consent: { push: false } } }]);
    expect(outbox).toEqual([]);
    expect(records).toEqual(['notify push skipped unsubscribed']);
  });

  it('falls back to email when the customer has no endpoint, the skip recorded', async () => {
    const { outbox, records } = await ship('shipped-or-email', 'pu-none', { email: 'pu-none@example.com' });
    expect(outbox.map((m) => m.channel)).toEqual(['email']);
    expect(records).toEqual(['notify push skipped no-address', 'notify.fallback email sent']);
  });

  it('falls back to email when the pushToken is no platform endpoint ARN (a raw device token), the skip recorded invalid-address', async () => {
    const { outbox, records } = await ship('shipped-or-email', 'pu-raw', { email: 'pu-raw@example.com', pushToken: 'fcm:dGhpcyBpcyBhIGRldmljZSB0b2tlbg' });
    expect(outbox.map((m) => m.channel)).toEqual(['email']);
    expect(records).toEqual(['notify push skipped invalid-address', 'notify.fallback email sent']);
  });
});

describe('a push send in quiet hours', () => {
  const clock = new VirtualClock(Date.parse('2026-03-02T21:30:00Z')); // 22:30 in Paris
  const world = useTestEngine({ clock, journeysDir: path.join(dir, 'journeys'), templatesDir: path.join(dir, 'templates'), sendPolicy: POLICY, sweepEveryMs: 0, logLevel: 'SILENT' });

  it('is deferred, not dropped, and goes when they end', async () => {
    await world.api.sendAndSettle([{ type: 'identify', userId: 'pu-night', traits: { pushToken: ENDPOINT } }, { type: 'track', userId: 'pu-night', event: 'Order Shipped', messageId: 'pu-night-shipped', properties: { orderId: 'o-9' } }]);
    await clock.run(clock.now().getTime() + 60_000);
    expect(outboxFor(world.engine, 'pu-night')).toEqual([]);
    await runToEnd(clock, world.engine, 'pu-night', 'shipped');
    expect(outboxFor(world.engine, 'pu-night').map((m) => ({ channel: m.channel, at: m.at }))).toEqual([{ channel: 'push', at: '2026-03-03T07:00:00.000Z' }]);
  });
});

describe('the journeys README\'s push example', () => {
  const readme = readFileSync(path.join(import.meta.dirname, '..', '..', 'workflows', 'journeys', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Mobile push'), readme.indexOf('### Locales'));
  const [liquid, yaml] = ['liquid', 'yaml'].map((lang) => new RegExp(`\`\`\`${lang} push\\n([\\s\\S]*?)\`\`\``).exec(section)?.[1]);
  const docs = mkdtempSync(path.join(tmpdir(), 'rapport-push-docs-'));
  for (const sub of ['journeys', 'templates']) mkdirSync(path.join(docs, sub));
  writeFileSync(path.join(docs, 'journeys', 'order-shipped.yaml'), yaml ?? '');
  writeFileSync(path.join(docs, 'templates', 'order-shipped.push.liquid'), liquid ?? '');
  writeFileSync(path.join(docs, 'templates', 'order-shipped.email.liquid'), 'Subject: Shipped\n\nOrder {{ trigger.orderId }} is on its way.');
  afterAll(() => rmSync(docs, { recursive: true, force: true }));
  const clock = new VirtualClock(START);
  const world = useTestEngine({ clock, journeysDir: path.join(docs, 'journeys'), templatesDir: path.join(docs, 'templates'), sweepEveryMs: 0, logLevel: 'SILENT' });

  it('runs as written: a push to a customer with an endpoint, the email to one without', async () => {
    await world.api.sendAndSettle([
      { type: 'identify', userId: 'doc-app', traits: { firstName: 'Ada', pushToken: ENDPOINT, email: 'ada@example.com' } },
      { type: 'identify', userId: 'doc-mail', traits: { firstName: 'Bo', email: 'bo@example.com' } },
      { type: 'track', userId: 'doc-app', event: 'Order Shipped', messageId: 'doc-1', properties: { orderId: 'o-1' } },
      { type: 'track', userId: 'doc-mail', event: 'Order Shipped', messageId: 'doc-2', properties: { orderId: 'o-2' } },
    ]);
    await runToEnd(clock, world.engine, 'doc-app', 'order-shipped');
    await runToEnd(clock, world.engine, 'doc-mail', 'order-shipped');
    expect(outboxFor(world.engine, 'doc-app').map((m) => (m.channel === 'push' ? [m.channel, m.title, m.body, m.data] : [m.channel]))).toEqual([['push', 'Order o-1 has shipped', 'Hi Ada, it is on its way.', { orderId: 'o-1', screen: 'orders' }]]);
    expect(outboxFor(world.engine, 'doc-mail').map((m) => m.channel)).toEqual(['email']);
  });
});

describe('validate: a push template', () => {
  const problems = (template: string) => {
    const folder = mkdtempSync(path.join(tmpdir(), 'rapport-push-validate-'));
    try {
      for (const sub of ['journeys', 'templates']) mkdirSync(path.join(folder, sub));
      writeFileSync(path.join(folder, 'journeys', 'shipped.yaml'), journey('shipped', '{ channel: push, template: order-shipped }', 'Order Shipped'));
      writeFileSync(path.join(folder, 'templates', 'order-shipped.push.liquid'), template);
      loadJourneysFromDir(path.join(folder, 'journeys'), path.join(folder, 'templates'));
      return [];
    } catch (error) {
      if (!(error instanceof JourneyError)) throw error;
      return error.errors.map((p) => `${path.basename(p.file)}:${p.line} ${p.message}`);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  };

  it('names a missing title or body, and data that is not a JSON object', () => {
    expect(problems('Data: {}\n\nIt shipped.')).toEqual(['order-shipped.push.liquid:1 missing the "Title:" line: expected the notification\'s title']);
    expect(problems('Title: Shipped\n')).toEqual(['order-shipped.push.liquid:2 expected the notification\'s text after the header lines and a blank line']);
    expect(problems('Title: Shipped\nData: [1, 2]\n\nIt shipped.')).toEqual(['order-shipped.push.liquid:2 expected "Data:" to render to a JSON object, like {"orderId": {{ trigger.orderId | json }}}']);
    expect(problems('Title: Shipped\n\nIt shipped.')).toEqual([]);
  });
});
