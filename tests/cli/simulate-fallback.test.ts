/**
 * `rapport simulate` and a send with a fallback channel (audit 15): the step's row counts what the fallback sent
 * (two customers with an email only, an SMS step falling back to email: 2 sent), and a first-channel skip the
 * fallback followed is not shown as the step's outcome. Control: an email send reaching both reports 2 sent.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG, ndjson } from './fixtures';
import { cliInProcess, lines, SIMULATION_TIMEOUT } from './helpers';

const tmp = mkdtempSync(join(tmpdir(), 'rapport-audit15-simulate-fallback-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
cpSync(CONFIG, join(tmp, 'wf'), { recursive: true });
writeFileSync(join(tmp, 'wf', 'templates', 'vip-offer.sms.liquid'), 'VIP: 20% off today.');
writeFileSync(join(tmp, 'wf', 'templates', 'vip-offer.email.liquid'), 'Subject: Your VIP offer\n\n20% off today.');
const journey = (send: string) => ['id: vip', 'name: VIP', 'version: 1', 'trigger: { event: Signed Up }', 'steps:', '  - id: offer', `    send: ${send}`, ''].join('\n');

const simulate = async (send: string) => {
  writeFileSync(join(tmp, 'vip.yaml'), journey(send));
  // Two customers with an email and no phone: the text cannot reach them, the email can.
  const file = ndjson(
    tmp,
    'signups.ndjson',
    ['f1', 'f2'].flatMap((id) => [
      { type: 'identify', userId: id, traits: { email: `${id}@example.com` }, timestamp: '2026-03-02T10:00:00Z' },
      { type: 'track', userId: id, event: 'Signed Up', properties: { method: 'email' }, timestamp: '2026-03-02T10:00:00Z' },
    ]),
  );
  const result = await cliInProcess(['simulate', 'vip.yaml', '--events', file, '--config', 'wf', '--quiet-hours', 'off'], { cwd: tmp });
  expect(result.code, result.stderr).toBe(0);
  return lines(result.stdout).find((l) => l.startsWith('  offer '))?.trim().split(/\s{2,}/);
};

describe('rapport simulate and a send with a fallback', { timeout: SIMULATION_TIMEOUT }, () => {
  it('control: an email send reaching both customers reports 2 sent', async () => {
    expect(await simulate('{ channel: email, template: vip-offer }')).toEqual(['offer', 'send email vip-offer', '2', '2']);
  });

  it('counts the fallback channel’s sends in the step’s row', async () => {
    const row = await simulate('{ channel: sms, template: vip-offer, fallback: email }');
    expect(row).toEqual(['offer', 'send sms or email vip-offer', '2', '2']);
  });
});
