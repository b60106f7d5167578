import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG, ndjson } from './fixtures';
import { cli, lines, SIMULATION_TIMEOUT } from './helpers';

/** `rapport simulate` (a child process) on a journey customers may enter again: the funnel counts runs. */
const tmp = mkdtempSync(join(tmpdir(), 'rapport-simulate-reentry-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('rapport simulate: re-entry', { timeout: SIMULATION_TIMEOUT }, () => {
  it('counts runs per step, and says how many customers they were when a customer entered more than once', async () => {
    writeFileSync(
      join(tmp, 'again.yaml'),
      ['id: again', 'name: Again', 'version: 1', 'trigger: { event: Product Viewed }', 'entry: { reentry: always }', 'steps:', '  - id: hello', '    send: { channel: email, template: welcome }', ''].join('\n'),
    );
    const file = ndjson(tmp, 'views.ndjson', [
      { type: 'identify', userId: 'v1', traits: { email: 'v1@example.com' }, timestamp: '2026-03-02T09:00:00Z' },
      { type: 'identify', userId: 'v2', traits: { email: 'v2@example.com' }, timestamp: '2026-03-02T09:00:00Z' },
      { type: 'track', userId: 'v1', event: 'Product Viewed', properties: { productId: 'p1' }, timestamp: '2026-03-02T10:00:00Z' },
      { type: 'track', userId: 'v2', event: 'Product Viewed', properties: { productId: 'p1' }, timestamp: '2026-03-02T10:00:00Z' },
      // 4 hours later: v1's first run has long ended, so this one enters again.
      { type: 'track', userId: 'v1', event: 'Product Viewed', properties: { productId: 'p2' }, timestamp: '2026-03-02T14:00:00Z' },
    ]);
    const result = await cli(['simulate', 'again.yaml', '--events', file, '--config', CONFIG], { cwd: tmp });
    expect(result.code, result.stderr).toBe(0);
    const out = lines(result.stdout);
    expect(out.find((l) => l.startsWith('  hello '))?.trim().split(/\s{2,}/)).toEqual(['hello', 'send email welcome', '3 (2 customers)', '3']);
    expect(out).toContain('  entered    3');
  });
});
