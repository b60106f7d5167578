/**
 * A template changed without a version bump (issue 15: "a run finishes on the definition, templates and goals it
 * started with"). The compiler writes the journey's template release (a hash of the files its steps render) into
 * every step; a run renders the release it started with, kept in the data folder (`v<version>` for the version's
 * first files, `v<version>@<release>` for a change in place) or, without one, in memory across a reload. So a
 * customer already waiting in the journey gets the files the run started with, a new run the changed ones: after a
 * reload, after a restart on the data folder, and after a later version bump. On virtual time.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { ROOT } from '../cli/helpers';
import { client } from '../helpers/client';
import { startTestEngine, useTestEngine } from '../helpers/engine';

const HOUR = 3_600_000;
const START = Date.parse('2026-03-02T10:00:00Z');
const ORIGINAL = 'there, three ways to get started';
const scratch = mkdtempSync(join(tmpdir(), 'rapport-release-no-bump-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of the repository's workflows in a fresh folder. */
function workflowsCopy(): { folder: string; template: string; journey: string } {
  const folder = mkdtempSync(join(scratch, 'project-'));
  cpSync(join(ROOT, 'workflows'), join(folder, 'workflows'), { recursive: true });
  return { folder, template: join(folder, 'workflows/templates/getting-started.email.liquid'), journey: join(folder, 'workflows/journeys.d/welcome.yaml') };
}
const setSubject = (file: string, subject: string) => writeFileSync(file, readFileSync(file, 'utf8').replace(/^Subject: .*$/m, `Subject: ${subject}`));
const signUp = (id: string) => [{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Signed Up', messageId: `${id}-signup` }];
const subjectOf = (engine: Engine, id: string) => {
  const m = engine.outbox.entries.find((e) => e.channel === 'email' && e.tags.customer === id && e.tags.step === 'send-getting-started');
  return m && 'subject' in m ? m.subject : undefined;
};
const reload = async (engine: Engine) => (await fetch(`${engine.url}/v1/admin/reload`, { method: 'POST' })).status;

describe('a template changed without a version bump, runs in flight (data folder, reload)', () => {
  const project = workflowsCopy();
  const clock = new VirtualClock(START);
  const world = useTestEngine({ clock, dataDir: join(project.folder, 'data'), journeysDir: join(project.folder, 'workflows/journeys.d'), templatesDir: join(project.folder, 'workflows/templates'), sweepEveryMs: 0, sendPolicy: { quietHours: undefined }, logLevel: 'SILENT' });

  it('control: a run started before any change renders the original file', async () => {
    await world.api.sendAndSettle(signUp('nb-0'));
    await clock.run(START + 2 * 24 * HOUR);
    expect(subjectOf(world.engine, 'nb-0')).toBe(ORIGINAL);
  });

  it('a run waiting when the template changed renders the files it started with; a new run the changed ones', async () => {
    await world.api.sendAndSettle(signUp('nb-1'));
    await clock.run(clock.now().getTime() + HOUR);
    setSubject(project.template, 'Changed in place');
    expect(await reload(world.engine)).toBe(200);
    await world.api.sendAndSettle(signUp('nb-2'));
    await clock.run(clock.now().getTime() + 2 * 24 * HOUR);
    expect(subjectOf(world.engine, 'nb-2')).toBe('Changed in place');
    expect(subjectOf(world.engine, 'nb-1')).toBe(ORIGINAL);
  });
});

describe('a template changed without a version bump, then the journey bumped, across restarts (data folder)', () => {
  const project = workflowsCopy();
  const dataDir = join(project.folder, 'data');
  const engines: Engine[] = [];
  afterAll(async () => {
    for (const engine of engines) await engine.stop().catch(() => undefined);
  });
  const start = async (clock: VirtualClock) => {
    const engine = await startTestEngine({ clock, dataDir, journeysDir: join(project.folder, 'workflows/journeys.d'), templatesDir: join(project.folder, 'workflows/templates'), sweepEveryMs: 0, sendPolicy: { quietHours: undefined }, logLevel: 'SILENT' });
    engines.push(engine);
    return engine;
  };

  it('each run renders the release it started on: the first files, the change in place, the next version', async () => {
    // Prepare: nr-1 starts on version 1's first files and waits; the engine stops.
    const clock1 = new VirtualClock(START);
    const first = await start(clock1);
    await client(first).sendAndSettle(signUp('nr-1'));
    await clock1.run(START + HOUR);
    await first.stop();

    // Act: the subject changed in place (version 1 still); restarted, nr-2 starts on it.
    setSubject(project.template, 'Changed in place');
    const clock2 = new VirtualClock(START + HOUR);
    const second = await start(clock2);
    await client(second).sendAndSettle(signUp('nr-2'));
    await clock2.run(START + 2 * HOUR);
    // Then version 2 with another subject, reloaded: nr-3 starts on it.
    setSubject(project.template, 'Version two');
    writeFileSync(project.journey, readFileSync(project.journey, 'utf8').replace(/^version: 1$/m, 'version: 2'));
    expect(await reload(second)).toBe(200);
    await client(second).sendAndSettle(signUp('nr-3'));
    await clock2.run(START + 3 * HOUR);
    await second.stop();
    // Restarted again: what each run renders is on disk now.
    const clock3 = new VirtualClock(START + 3 * HOUR);
    const third = await start(clock3);
    await clock3.run(START + 3 * 24 * HOUR);

    // Assess
    expect([subjectOf(third, 'nr-1'), subjectOf(third, 'nr-2'), subjectOf(third, 'nr-3')]).toEqual([ORIGINAL, 'Changed in place', 'Version two']);
    const kept = (name: string) => existsSync(join(dataDir, 'releases', 'welcome', name));
    expect([kept('v1'), kept('v2')]).toEqual([true, true]);
  });
});

describe('a template changed without a version bump, no data folder (reload, in memory)', () => {
  const project = workflowsCopy();
  const clock = new VirtualClock(START);
  const world = useTestEngine({ clock, journeysDir: join(project.folder, 'workflows/journeys.d'), templatesDir: join(project.folder, 'workflows/templates'), sweepEveryMs: 0, sendPolicy: { quietHours: undefined }, logLevel: 'SILENT' });

  it('a run waiting across two changes in place renders the files it started with', async () => {
    await world.api.sendAndSettle(signUp('nm-1'));
    await clock.run(START + HOUR);
    setSubject(project.template, 'Changed once');
    expect(await reload(world.engine)).toBe(200);
    await world.api.sendAndSettle(signUp('nm-2'));
    await clock.run(START + 2 * HOUR);
    setSubject(project.template, 'Changed twice');
    expect(await reload(world.engine)).toBe(200);
    await world.api.sendAndSettle(signUp('nm-3'));
    await clock.run(START + 3 * 24 * HOUR);
    expect([subjectOf(world.engine, 'nm-1'), subjectOf(world.engine, 'nm-2'), subjectOf(world.engine, 'nm-3')]).toEqual([ORIGINAL, 'Changed once', 'Changed twice']);
  });
});
