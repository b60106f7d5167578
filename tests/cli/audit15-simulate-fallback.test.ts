/**
 * Audit 15: `rapport simulate` reports a send step with a channel fallback (`send: { channel: sms, template,
 * fallback: email }`). The step's row counts `<step>.sent` and `<step>.skipped.*` only: the fallback's own
 * counters (`<step>.fallback.sent`, `<step>.fallback.skipped.*`) are nowhere in the funnel, so a step whose every
 * customer got the email reads "0 sent, skipped: no-address" — the marketer is told nobody was reached.
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

describe('audit 15: rapport simulate and a send with a fallback', { timeout: SIMULATION_TIMEOUT }, () => {
  it('control: an email send reaching both customers reports 2 sent', async () => {
    expect(await simulate('{ channel: email, template: vip-offer }')).toEqual(['offer', 'send email vip-offer', '2', '2']);
  });

  // BREAK (audit 15): simulate's funnel counts only `<step>.sent`/`<step>.skipped.*`: the two emails the fallback sent are not shown, the row says 0 sent, skipped no-address; fix idea: add `<step>.fallback.*` to the step's row (sent, and skipped/deferred by channel) in infra/cli/commands/simulate.ts funnel and infra/demo/demo.ts.
  it.fails('counts the fallback channel’s sends in the step’s row', async () => {
    const row = await simulate('{ channel: sms, template: vip-offer, fallback: email }');
    expect(row).toEqual(['offer', expect.any(String), '2', '2']);
  });
});
