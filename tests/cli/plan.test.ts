/**
 * `rapport plan` in a scratch git repository holding a copy of workflows/: nothing changed (exit 0); a journey
 * added, removed and changed (steps, settings, a template's locale file, the version not bumped) named per
 * journey (exit 4); and, against a running engine, the runs waiting now at a step that changes. In process.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { CHILD_PROCESS_TIMEOUT, cliInProcess, lines, ROOT } from './helpers';

let repo: string;
const git = (...args: string[]) => execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd: repo, stdio: 'pipe' });
const edit = (file: string, from: RegExp, to: string) => {
  const path = join(repo, 'workflows', file);
  const text = readFileSync(path, 'utf8');
  expect(text).toMatch(from);
  writeFileSync(path, text.replace(from, to));
};

beforeAll(() => {
  repo = mkdtempSync(join(tmpdir(), 'rapport-plan-test-'));
  cpSync(join(ROOT, 'workflows'), join(repo, 'workflows'), { recursive: true });
  git('init', '-q');
  git('add', '.');
  git('commit', '-q', '-m', 'journeys');
});
afterAll(() => rmSync(repo, { recursive: true, force: true }));

describe('rapport plan', () => {
  it('says nothing changed when the journeys are those of HEAD', async () => {
    const result = await cliInProcess(['plan'], { cwd: repo });
    expect(result.code).toBe(0);
    expect(lines(result.stdout).at(-1)).toBe('No change to the journeys.');
  }, CHILD_PROCESS_TIMEOUT);

  it('names each journey added, removed and changed, with its steps, settings and templates', async () => {
    // Prepare: welcome waits two days instead of one, its version not bumped, and a French line changed; win-back
    // gets another goal; complaint-follow-up is removed; a new journey is added.
    edit('journeys.d/welcome.yaml', /wait: 1d\b/, 'wait: 2d');
    edit('templates/welcome.fr.email.liquid', /^Subject: .*$/m, 'Subject: Bienvenue, encore');
    edit('journeys.d/win-back.yaml', /^goals:\n/m, 'goals:\n  - event: Subscription Renewed\n');
    const added = readFileSync(join(repo, 'workflows/journeys.d/welcome.yaml'), 'utf8').replace(/^id: welcome$/m, 'id: welcome-again');
    writeFileSync(join(repo, 'workflows/journeys.d/welcome-again.yaml'), added);
    unlinkSync(join(repo, 'workflows/journeys.d/complaint-follow-up.yaml'));

    // Act
    const result = await cliInProcess(['plan'], { cwd: repo });

    // Assess
    expect(result.stderr).toBe('');
    expect(result.code).toBe(4);
    expect(lines(result.stdout).slice(1)).toEqual([
      '- complaint-follow-up v1: removed (new customers no longer enter)',
      '~ welcome v1',
      '    steps: ~ wait-a-day',
      '    templates changed: welcome (new runs use the new files; runs in flight keep theirs)',
      '    warning: its steps changed but its version (1) did not: bump it, so runs can be told apart by version',
      `+ welcome-again v1: new, ${readFileSync(join(repo, 'workflows/journeys.d/welcome.yaml'), 'utf8').match(/^ {2}- id: /gm)!.length} steps`,
      '~ win-back v1',
      '    changed: goals',
      '4 journeys changed.',
    ]);
  }, CHILD_PROCESS_TIMEOUT);

  it('refuses a ref that is not a commit, naming it', async () => {
    const result = await cliInProcess(['plan', '--against', 'no-such-branch'], { cwd: repo });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--against: no commit "no-such-branch"');
  }, CHILD_PROCESS_TIMEOUT);
});

describe('rapport plan --engine', () => {
  const START = Date.parse('2026-03-02T10:00:00Z');
  let engine: Engine;
  beforeAll(async () => {
    const clock = new VirtualClock(START);
    engine = await startTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
    // Two customers wait a day in the welcome journey.
    const api = client(engine);
    for (const id of ['pl-1', 'pl-2']) await api.sendAndSettle([{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Signed Up', messageId: `${id}-signup` }]);
    await clock.run(START + 3_600_000);
  });
  afterAll(() => engine.stop());

  it('counts the runs waiting at each step that changes, and says what they finish on', async () => {
    const result = await cliInProcess(['plan', '--engine', engine.url], { cwd: repo });
    expect(result.code).toBe(4);
    const out = lines(result.stdout);
    expect(out[0]).toMatch(new RegExp(`^Plan: workflows/journeys.d against HEAD \\([0-9a-f]{7}\\), runs from ${engine.url.replace(/[.]/g, '\\.')}$`));
    const welcome = out.indexOf('~ welcome v1');
    expect(out.slice(welcome, welcome + 6)).toEqual([
      '~ welcome v1',
      '    steps: ~ wait-a-day',
      '    templates changed: welcome (new runs use the new files; runs in flight keep theirs)',
      '    warning: its steps changed but its version (1) did not: bump it, so runs can be told apart by version',
      '    running now: 2 at wait-a-day (changed)',
      '    2 runs there finish on the definition they started with (v1); new runs take the new one',
    ]);
  }, CHILD_PROCESS_TIMEOUT);
});
