/**
 * Audit 15: `send-test` still takes any `to` on email and SMS.
 *
 * Promise (merge "WhatsApp and push complete", b95b293; workflows/journeys/README.md; STYLE: bad input gets a clear
 * specific error naming the field): `send-test` used to take any `--to` on any channel, so a test reached the outbox
 * and would fail in AWS; the engine now refuses a `to` the channel cannot take, with a 400 naming `to`.
 *
 * What I did: `POST /v1/admin/send-test` (what `rapport send-test` calls) on the embedded engine: a WhatsApp test to a
 * local number (refused, 400 naming `to`: the control), then an SMS test to an email address and an email test to a
 * phone number, the mistakes an operator makes when switching `--channel` and keeping `--to`.
 *
 * Observed: both are answered 200 `{test: true}` and land in the outbox: the operator is told the test went; in AWS
 * End User Messaging refuses a non-E.164 destination and SES an address with no `@`, so the same command fails there
 * (or, for SMS, is billed and lost). Only channels with an `address` format in the registry (WhatsApp, push) check it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { useTestEngine } from '../helpers/engine';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-audit15-send-test-'));
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

  // BREAK (audit 15): send-test checks `to` only on channels with an address format (WhatsApp, push): an SMS test to an email address and an email test to a phone number are answered 200 and reach the outbox, and fail in AWS; fix idea: give email (an addr-spec, one `@`, no spaces or commas) and SMS (E.164, as End User Messaging requires) an `address` format in the registry, so TestSendSchema refuses with 400 naming `to`.
  it.fails('an SMS test to an email address and an email test to a phone number are refused, naming to', async () => {
    expect([await sendTest({ template: 'ping', channel: 'sms', to: 'me@example.com' }), await sendTest({ template: 'ping', channel: 'email', to: '+447700900123' })]).toEqual(['400 true', '400 true']);
  });
});
