import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG, ndjson } from './fixtures';
import { cli, cliInProcess, lines, SIMULATION_TIMEOUT } from './helpers';

/** `rapport simulate` (a child process) counts each step's sends per locale variant (the shipped welcome.fr.email.liquid). */
const tmp = mkdtempSync(join(tmpdir(), 'rapport-simulate-locales-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('rapport simulate: locales', { timeout: SIMULATION_TIMEOUT }, () => {
  it('prints the sends per locale: fr and fr-CA get the French welcome, de and no locale the default file', async () => {
    writeFileSync(join(tmp, 'hi.yaml'), ['id: hi', 'name: Hi', 'version: 1', 'trigger: { event: Signed Up }', 'steps:', '  - id: hello', '    send: { channel: email, template: welcome }', ''].join('\n'));
    const locales: Record<string, string | undefined> = { l1: 'fr', l2: 'fr-CA', l3: 'de', l4: undefined };
    const file = ndjson(
      tmp,
      'signups.ndjson',
      Object.entries(locales).flatMap(([id, locale]) => [
        { type: 'identify', userId: id, traits: { email: `${id}@example.com`, ...(locale && { locale }) }, timestamp: '2026-03-02T10:00:00Z' },
        { type: 'track', userId: id, event: 'Signed Up', properties: { method: 'email' }, timestamp: '2026-03-02T10:00:00Z' },
      ]),
    );
    const result = await cli(['simulate', 'hi.yaml', '--events', file, '--config', CONFIG, '--quiet-hours', 'off'], { cwd: tmp });
    expect(result.code, result.stderr).toBe(0);
    const out = lines(result.stdout);
    expect(out.find((l) => l.startsWith('  hello '))?.trim().split(/\s{2,}/)).toEqual(['hello', 'send email welcome', '4', '4']);
    expect(out.slice(out.indexOf('sends per locale'), out.indexOf('sends per locale') + 2)).toEqual(['sends per locale', '  hello  2 default, 2 fr']);
  });

  it("refuses a journey whose template has a broken locale variant, at the variant's line (simulate and graph load one journey alike)", async () => {
    cpSync(CONFIG, join(tmp, 'wf'), { recursive: true });
    writeFileSync(join(tmp, 'wf', 'templates', 'welcome.de.email.liquid'), 'Subject: Willkommen\n\nHallo {{ profile.traits.name \n');
    const result = await cliInProcess(['graph', 'welcome', '--config', 'wf'], { cwd: tmp });
    expect(result.code).toBe(1);
    expect(lines(result.stderr)[0]).toMatch(/^wf\/templates\/welcome\.de\.email\.liquid:3:\d+ {2}\(template\): Liquid: /);
  });
});
