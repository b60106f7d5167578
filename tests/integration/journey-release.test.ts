/**
 * Journey releases on the embedded engine (issue 15): a run waiting in version 1 of a journey, the journey and a
 * template changed (version 2) and the engine restarted on its data folder: the run finishes with version 1's
 * template, a new run takes version 2's; `rapport plan` printed both changes before the restart; the stats count
 * each version apart and in total.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { cliInProcess, lines, ROOT } from '../cli/helpers';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';

const HOUR = 3_600_000;
const START = Date.parse('2026-03-02T10:00:00Z');
const scratch = mkdtempSync(join(tmpdir(), 'rapport-release-'));
const workflows = join(scratch, 'workflows');
const dataDir = join(scratch, 'data');
const engines: Engine[] = [];
afterAll(async () => {
  for (const engine of engines) await engine.stop().catch(() => undefined);
  rmSync(scratch, { recursive: true, force: true });
});

async function start(clock: VirtualClock): Promise<Engine> {
  const engine = await startTestEngine({ clock, dataDir, journeysDir: join(workflows, 'journeys.d'), templatesDir: join(workflows, 'templates'), sweepEveryMs: 0, sendPolicy: { quietHours: undefined }, logLevel: 'SILENT' });
  engines.push(engine);
  return engine;
}
const subjects = (engine: Engine, customerId: string) =>
  engine.outbox.entries.flatMap((m) => (m.channel === 'email' && m.tags.customer === customerId ? [`${m.tags.step}: ${m.subject}`] : []));
const signUp = (id: string) => [{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Signed Up', messageId: `${id}-signup` }];

describe('a journey changed while a run waits', () => {
  it('finishes the waiting run with the version it started on, and starts new runs on the new one', async () => {
    // Prepare: version 1 in a git repository; rl-1 gets the welcome email and waits a day.
    cpSync(join(ROOT, 'workflows'), workflows, { recursive: true });
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd: scratch, stdio: 'pipe' });
    git('init', '-q');
    git('add', '.');
    git('commit', '-q', '-m', 'v1');
    const clock1 = new VirtualClock(START);
    const first = await start(clock1);
    await client(first).sendAndSettle(signUp('rl-1'));
    await clock1.run(START + HOUR);
    const gettingStartedV1 = readFileSync(join(workflows, 'templates/getting-started.email.liquid'), 'utf8').split('\n')[0];
    expect(subjects(first, 'rl-1')).toHaveLength(1);
    await first.stop();

    // Act: version 2 changes the second email's subject and waits two days before it instead of one.
    const journeyFile = join(workflows, 'journeys.d/welcome.yaml');
    writeFileSync(journeyFile, readFileSync(journeyFile, 'utf8').replace(/^version: 1$/m, 'version: 2').replace(/wait: 1d\b/, 'wait: 2d'));
    const templateFile = join(workflows, 'templates/getting-started.email.liquid');
    writeFileSync(templateFile, readFileSync(templateFile, 'utf8').replace(/^Subject: .*$/m, 'Subject: Version two, {{ profile.traits.email }}'));
    const plan = await cliInProcess(['plan', '--config', workflows], { cwd: scratch });
    const clock2 = new VirtualClock(START + HOUR);
    const second = await start(clock2);
    await client(second).sendAndSettle(signUp('rl-2'));
    await clock2.run(START + 4 * 24 * HOUR);

    // Assess
    expect(plan.code).toBe(4);
    expect(lines(plan.stdout).slice(1, 4)).toEqual(['~ welcome v1 -> v2', '    steps: ~ wait-a-day', '    templates changed: getting-started (new runs use the new files; runs in flight keep theirs)']);
    // rl-1 started on version 1: a day's wait, then version 1's subject.
    const rl1 = second.outbox.entries.find((m) => m.channel === 'email' && m.tags.customer === 'rl-1' && m.tags.step === 'send-getting-started');
    expect(gettingStartedV1).toBe('Subject: {{ profile.traits.name | default: "there" }}, three ways to get started');
    expect(rl1 && 'subject' in rl1 && rl1.subject).toBe('there, three ways to get started');
    expect(rl1?.at.slice(0, 13)).toBe('2026-03-03T10');
    // rl-2 started on version 2: two days' wait, then version 2's subject.
    const rl2 = second.outbox.entries.find((m) => m.channel === 'email' && m.tags.customer === 'rl-2' && m.tags.step === 'send-getting-started');
    expect(rl2 && 'subject' in rl2 && rl2.subject).toBe('Version two, rl-2@example.com');
    expect(rl2?.at.slice(0, 13)).toBe('2026-03-04T11');
    // Stats per version and in total.
    const stats = (await (await fetch(`${second.url}/v1/journeys/welcome/stats`)).json()) as { version: number; counters: Record<string, number>; versions: Record<string, Record<string, number>> };
    expect(stats.version).toBe(2);
    expect(stats.counters).toMatchObject({ entered: 2, 'send-welcome.sent': 2, 'send-getting-started.sent': 2 });
    expect(stats.versions['1']).toMatchObject({ entered: 1, 'send-welcome.sent': 1, 'send-getting-started.sent': 1 });
    expect(stats.versions['2']).toMatchObject({ entered: 1, 'send-welcome.sent': 1, 'send-getting-started.sent': 1 });
  });
});
