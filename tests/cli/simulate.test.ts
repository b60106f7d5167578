import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG, draftJourneys, ndjson, welcomeEvents } from './fixtures';
import { SIMULATION_TIMEOUT, cliInProcess, lines, ROOT } from './helpers';

/**
 * `rapport simulate` (in process: run(), what the bin calls; exit codes through the bin are
 * simulate-determinism.test.ts's and send.test.ts's): quiet hours, events the engine
 * rejects, and every refusal before the engine starts (malformed events file,
 * broken or unknown journey, bad options). The funnel: simulate-funnel.test.ts.
 */
const tmp = mkdtempSync(join(tmpdir(), 'rapport-simulate-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const DRAFTS = draftJourneys(tmp);

describe('rapport simulate', { timeout: SIMULATION_TIMEOUT }, () => {
  it('defers marketing in quiet hours (the engine\'s 21:00-08:00 by default; customer time zone, else UTC) instead of dropping it', async () => {
    const file = ndjson(tmp, 'night.ndjson', [
      // 22:30 in UTC (no timezone trait): quiet; 12:30 in Honolulu: not.
      { type: 'identify', userId: 'owl', traits: { email: 'owl@example.com' }, timestamp: '2026-03-02T22:30:00Z' },
      { type: 'identify', userId: 'lark', traits: { email: 'lark@example.com', timezone: 'Pacific/Honolulu' }, timestamp: '2026-03-02T22:30:00Z' },
      { type: 'track', userId: 'owl', event: 'Signed Up', timestamp: '2026-03-02T22:30:00Z' },
      { type: 'track', userId: 'lark', event: 'Signed Up', timestamp: '2026-03-02T22:30:00Z' },
    ]);
    // A journey file named by its path, from a folder that is not journeys.d.
    const result = await cliInProcess(['simulate', join(DRAFTS, 'hello.yaml'), '--events', file, '--config', CONFIG], { cwd: tmp });
    expect(result.code, result.stderr).toBe(0);
    const out = lines(result.stdout);
    expect(out).toContain("  quiet hours  21:00-08:00 (customer's time zone)");
    expect(out.find((l) => l.startsWith('  hello '))?.trim().split(/\s{2,}/)).toEqual(['hello', 'send email welcome', '2', '2', '1 quiet-hours']);
    expect(out).toContain('  completed  2');
    // The run waited for the morning: the deferred send went out when quiet hours ended, to the second.
    expect(out[2]).toMatch(/to 2026-03-03T08:00:00Z/);
  });

  it('reports events the engine rejects at their line, and exits 1 after the funnel', async () => {
    const file = ndjson(tmp, 'rejected.ndjson', [
      { type: 'identify', userId: 'r1', traits: { email: 'r1@example.com' }, timestamp: '2026-03-02T09:00:00Z' },
      { type: 'track', userId: 'r1', event: 'Signed Up', timestamp: '2026-03-02T09:00:00Z' },
      // Refused for every source: a Subscribed that names no channel (an order's bad revenue is only flagged).
      { type: 'track', userId: 'r1', event: 'Subscribed', properties: {}, timestamp: '2026-03-02T09:00:00Z' },
    ]);
    const result = await cliInProcess(['simulate', 'hello', '--events', file, '--journeys', DRAFTS, '--config', CONFIG], { cwd: tmp });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^rejected\.ndjson:3:1 {2}\$\.properties\.channel: .+$/m);
    expect(lines(result.stderr).at(-1)).toBe('1 event rejected by the engine (listed above)');
    expect(lines(result.stdout)).toContain('  entered    1');
    expect(lines(result.stderr)[0]).toBe('simulate: 3 events from rejected.ndjson, 2026-03-02T09:00:00Z to 2026-03-02T09:00:00Z, on virtual time');
  });

  it('refuses a malformed events file with file:line:col for every bad line, before starting the engine (exit 1)', async () => {
    const file = join(tmp, 'bad.ndjson');
    writeFileSync(
      file,
      [
        // A byte-order mark before the first line is not a problem.
        '\uFEFF{"type":"track","userId":"u1","event":"Signed Up","timestamp":"2026-03-02T09:00:00Z"}',
        '',
        '{"type":"track","userId":"u2","event":"Signed Up","timestamp": "yesterday"}',
        '{not json',
        '{"type":"track","userId":"u3"}',
        '["track"]',
        '{"type":"track","userId":"u4","event":"Signed Up","timestamp":"2026-03-02T09:00:00"}',
      ].join('\n'),
    );
    const result = await cliInProcess(['simulate', 'hello', '--events', 'bad.ndjson', '--journeys', DRAFTS, '--config', CONFIG], { cwd: tmp });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(lines(result.stderr)).toEqual([
      'bad.ndjson:3:64  timestamp: expected an ISO 8601 time with a zone, like 2026-03-02T09:00:00Z, got "yesterday"',
      "bad.ndjson:4:1  (line): not JSON: Expected property name or '}' in JSON at position 1 (line 1 column 2)",
      'bad.ndjson:5:1  timestamp: missing: every event needs a "timestamp" (ISO 8601 with a zone, like 2026-03-02T09:00:00Z) to be replayed at',
      'bad.ndjson:6:1  (line): expected one event object per line, like {"type":"track","userId":"u1","event":"Signed Up","timestamp":"2026-03-02T09:00:00Z"}',
      'bad.ndjson:7:63  timestamp: expected an ISO 8601 time with a zone, like 2026-03-02T09:00:00Z, got "2026-03-02T09:00:00"',
      '5 problems in 1 file',
    ]);
  });

  it('refuses a broken journey with file:line:col (exit 1), an unknown one with the known ids (exit 1)', async () => {
    const broken = join(tmp, 'broken.yaml');
    writeFileSync(broken, ['id: broken', 'name: Broken', 'version: 1', 'trigger: { event: Signed Up }', 'steps:', '  - id: wait', '    wait: forever', ''].join('\n'));
    const events = ndjson(tmp, 'one.ndjson', [{ type: 'track', userId: 'u1', event: 'Signed Up', timestamp: '2026-03-02T09:00:00Z' }]);
    const [bad, unknown] = await Promise.all([
      cliInProcess(['simulate', 'broken.yaml', '--events', events, '--config', CONFIG], { cwd: tmp }),
      cliInProcess(['simulate', 'onboarding', '--events', events, '--journeys', DRAFTS, '--config', CONFIG], { cwd: tmp }),
    ]);
    expect(bad).toMatchObject({ code: 1, stdout: '' });
    expect(lines(bad.stderr)).toEqual([expect.stringMatching(/^broken\.yaml:7:11 {2}steps\[0\]\.wait: expected a duration/), '1 problem in 1 file']);
    expect(unknown).toMatchObject({ code: 1, stdout: '' });
    expect(lines(unknown.stderr)).toEqual(['unknown journey "onboarding" in drafts: expected one of hello, nudge']);
  });

  it('exits 2 without --events, with a missing events file, a bad --quiet-hours, a missing --journeys folder', async () => {
    const results = await Promise.all([
      cliInProcess(['simulate', 'welcome']),
      cliInProcess(['simulate', 'welcome', '--events', 'no-such.ndjson']),
      cliInProcess(['simulate', 'welcome', '--events', 'tests/cli/fixtures/welcome.ndjson', '--quiet-hours', '9pm-8am']),
      cliInProcess(['simulate', 'welcome', '--events', 'tests/cli/fixtures/welcome.ndjson', '--journeys', 'no-such-folder']),
    ]);
    expect(results.map((r) => r.code)).toEqual([2, 2, 2, 2]);
    expect(results.map((r) => lines(r.stderr)[0])).toEqual([
      'rapport simulate: missing --events <file.ndjson>: the events to replay, one JSON event with a "timestamp" per line',
      'rapport simulate: --events: no file no-such.ndjson',
      'rapport simulate: --quiet-hours: expected HH:MM-HH:MM, like 21:00-08:00, or off, got "9pm-8am"',
      'rapport simulate: --journeys: no folder no-such-folder: expected a folder of <id>.yaml journey files',
    ]);
  });

  it("ships the README's sample histories (tests/cli/fixtures/welcome.ndjson) as tests/cli/fixtures.ts describes them", () => {
    expect(readFileSync(join(ROOT, 'tests', 'cli', 'fixtures', 'welcome.ndjson'), 'utf8')).toBe(welcomeEvents());
  });
});
