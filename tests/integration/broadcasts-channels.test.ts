/**
 * Broadcasts on WhatsApp and push (issue 15), through the HTTP API on the embedded engine, on virtual time: a
 * marketing broadcast renders the channel's template for each member and goes through the send gateway with the
 * channel's own consent and topics (a customer who left WhatsApp, or the newsletter topic on push, is skipped with
 * the reason), an address the channel cannot use is skipped `invalid-address`; the outbox entries, exactly.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';

const REPO = path.join(import.meta.dirname, '..', '..');
const templatesDir = mkdtempSync(path.join(tmpdir(), 'rapport-broadcast-channels-'));
for (const name of readdirSync(path.join(REPO, 'workflows', 'templates'))) copyFileSync(path.join(REPO, 'workflows', 'templates', name), path.join(templatesDir, name));
writeFileSync(path.join(templatesDir, 'spring-sale.whatsapp.liquid'), 'Template: spring_sale\nLanguage: en_US\n\n{{ profile.traits.firstName }}\n');
writeFileSync(path.join(templatesDir, 'spring-sale.push.liquid'), 'Title: Spring sale\nData: {"screen": "sale"}\n\n{{ profile.traits.firstName }}, 20% off this week.\n');
afterAll(() => rmSync(templatesDir, { recursive: true, force: true }));

const ENDPOINT = (n: number) => `arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/shop-app/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f${n}`;

interface BroadcastView {
  status: string;
  recipients: number;
  sent: number;
  skipped: Record<string, number>;
  failed: number;
}

describe('broadcasts on WhatsApp and push', () => {
  let clock: VirtualClock;
  let engine: Engine;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    clock = new VirtualClock(Date.parse('2026-03-02T10:00:00Z'));
    engine = await startTestEngine({ clock, templatesDir, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
    api = client(engine);
  });
  afterAll(() => engine.stop());

  const post = async (body: unknown) => {
    const res = await fetch(`${engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const get = async (id: string) => (await api.get(`/v1/broadcasts/${id}`)).json as unknown as BroadcastView;
  /** The broadcast's outbox entries, without the outbox's own id and time. */
  const sent = (id: string) =>
    (engine.outbox.entries as unknown as Array<{ outboxId: string; at: string; tags: Record<string, string> }>)
      .filter((m) => m.tags?.journey === `broadcast:${id}`)
      .map(({ outboxId: _id, at: _at, ...entry }) => entry)
      .sort((a, b) => a.tags.customer!.localeCompare(b.tags.customer!));
  const member = (userId: string, traits: Record<string, unknown>) => ({ type: 'identify', userId, messageId: `${userId}-id`, traits: { firstName: userId, ...traits, tags: ['beta-tester'] } });

  it('sends a WhatsApp business template to each consenting member with a phone in E.164, each skip with its reason', async () => {
    await api.sendAndSettle([
      member('wa-b1', { phone: '+447700900001' }),
      member('wa-b2', { phone: '+447700900002' }),
      member('wa-b3', { phone: '07700 900003' }),
      member('wa-b4', {}),
      member('wa-b5', { phone: '+447700900005' }),
      { type: 'track', userId: 'wa-b5', messageId: 'wa-b5-unsub', event: 'Unsubscribed', properties: { channel: 'whatsapp' } },
    ]);

    const created = await post({ id: 'spring-wa', segment: 'tag:beta-tester', send: { channel: 'whatsapp', template: 'spring-sale' }, topic: 'newsletter' });
    await clock.run();

    expect(created.status).toBe(201);
    expect(await get('spring-wa')).toMatchObject({ status: 'completed', recipients: 5, sent: 2, skipped: { 'invalid-address': 1, 'no-address': 1, unsubscribed: 1 }, failed: 0 });
    const tags = (customer: string) => ({ journey: 'broadcast:spring-wa', step: 'send', customer });
    expect(sent('spring-wa')).toEqual([
      { channel: 'whatsapp', to: '+447700900001', template: 'spring_sale', language: 'en_US', parameters: ['wa-b1'], kind: 'marketing', tags: tags('wa-b1') },
      { channel: 'whatsapp', to: '+447700900002', template: 'spring_sale', language: 'en_US', parameters: ['wa-b2'], kind: 'marketing', tags: tags('wa-b2') },
    ]);
  });

  it('sends a push to each consenting member with a platform endpoint, the newsletter topic honoured on push', async () => {
    await api.sendAndSettle([
      member('pu-b1', { pushToken: ENDPOINT(1) }),
      member('pu-b2', { pushToken: ENDPOINT(2) }),
      member('pu-b3', { pushToken: 'not-an-endpoint' }),
      member('pu-b4', { pushToken: ENDPOINT(4) }),
      { type: 'track', userId: 'pu-b4', messageId: 'pu-b4-topic', event: 'Unsubscribed', properties: { channel: 'push', topic: 'newsletter' } },
    ]);

    const created = await post({ id: 'spring-push', segment: 'tag:beta-tester', send: { channel: 'push', template: 'spring-sale' }, topic: 'newsletter' });
    await clock.run();

    expect(created.status).toBe(201);
    // The WhatsApp members are in the segment too: without a pushToken, no address on push.
    expect(await get('spring-push')).toMatchObject({ status: 'completed', recipients: 9, sent: 2, skipped: { 'invalid-address': 1, 'no-address': 5, 'topic-unsubscribed': 1 }, failed: 0 });
    const tags = (customer: string) => ({ journey: 'broadcast:spring-push', step: 'send', customer });
    expect(sent('spring-push')).toEqual([
      { channel: 'push', to: ENDPOINT(1), title: 'Spring sale', body: 'pu-b1, 20% off this week.', data: { screen: 'sale' }, kind: 'marketing', tags: tags('pu-b1') },
      { channel: 'push', to: ENDPOINT(2), title: 'Spring sale', body: 'pu-b2, 20% off this week.', data: { screen: 'sale' }, kind: 'marketing', tags: tags('pu-b2') },
    ]);
  });
});
