/**
 * `send-test` refuses an address its channel cannot take, with a 400 naming `to` (bad input gets a clear, specific
 * error): `POST /v1/admin/send-test` (what `rapport send-test` calls) with a WhatsApp test to a local number, an SMS
 * test to an email address and an email test to a phone number (the mistakes of an operator switching `--channel`
 * and keeping `--to`). Before, only WhatsApp and push checked it: the other two were answered 200, reached the outbox,
 * and would fail in AWS (End User Messaging refuses a non-E.164 destination, SES an address with no `@`).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { useTestEngine } from '../helpers/engine';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-send-test-address-'));
for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
writeFileSync(path.join(dir, 'templates', 'ping.email.liquid'), 'Subject: Ping\n\nPing.');
writeFileSync(path.join(dir, 'templates', 'ping.sms.liquid'), 'Ping.');
writeFileSync(path.join(dir, 'templates', 'ping.whatsapp.liquid'), 'Template: ping\nLanguage: en_US\n\nPing\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, journeysDir: path.join(dir, 'journeys'), templatesDir: path.join(dir, 'templates'), sweepEveryMs: 0, logLevel: 'SILENT' });

const sendTest = async (body: unknown) => {
  const res = await fetch(`${t.engine.url}/v1/admin/send-test`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as { message?: string };
  return `${res.status} ${res.status === 400 ? /\bto\b/.test(json.message ?? '') : ''}`.trim();
};

describe('send-test refuses an address its channel cannot take', () => {
  it('control: a WhatsApp test to a local number is refused, naming to', async () => {
    expect(await sendTest({ template: 'ping', channel: 'whatsapp', to: '07700 900123' })).toBe('400 true');
  });

  it('an SMS test to an email address and an email test to a phone number are refused, naming to', async () => {
    expect([await sendTest({ template: 'ping', channel: 'sms', to: 'me@example.com' }), await sendTest({ template: 'ping', channel: 'email', to: '+447700900123' })]).toEqual(['400 true', '400 true']);
  });
});
