/**
 * Audit 15: reloading journeys while an editor holds a lock file. Emacs marks a file it is editing with a
 * dangling symlink beside it (`.#welcome.yaml` -> `user@host.pid:...`), created at the first unsaved change; the
 * `npm start` watcher sees the folder change and reloads. `loadJourneysFromDir` reads every `*.yaml` name,
 * dotfiles and dangling links included: the read throws ENOENT, which is no JourneyError, so `reloadJourneys`
 * throws instead of answering. Under `npm start` that throw happens in the watcher's timer: an uncaught
 * exception, and the engine process dies (the README: "a broken file changes nothing"). `POST /v1/admin/reload`
 * answers 500. On virtual time.
 */
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { reloadJourneys } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { ROOT } from '../cli/helpers';
import { useTestEngine } from '../helpers/engine';

const START = Date.parse('2026-03-02T10:00:00Z');
const folder = mkdtempSync(join(tmpdir(), 'rapport-audit15-reload-lock-'));
cpSync(join(ROOT, 'workflows'), join(folder, 'workflows'), { recursive: true });
afterAll(() => rmSync(folder, { recursive: true, force: true }));
const journeysDir = join(folder, 'workflows/journeys.d');

describe('audit 15: a reload while an editor holds a lock file', () => {
  const clock = new VirtualClock(START);
  const world = useTestEngine({ clock, journeysDir, templatesDir: join(folder, 'workflows/templates'), sweepEveryMs: 0, sendPolicy: { quietHours: undefined }, logLevel: 'SILENT' });

  it('control: a broken journey file is answered 422, nothing thrown', () => {
    writeFileSync(join(journeysDir, 'broken.yaml'), 'id: broken\nversion: [\n');
    try {
      expect(reloadJourneys(world.engine.journeys).status).toBe(422);
    } finally {
      rmSync(join(journeysDir, 'broken.yaml'));
    }
    expect(reloadJourneys(world.engine.journeys).status).toBe(200);
  });

  // BREAK (audit 15): a dangling `.#welcome.yaml` (Emacs' lock file) makes loadJourneysFromDir throw ENOENT, not a JourneyError: reloadJourneys throws (an uncaught exception in main.ts's watcher timer kills `npm start`; the HTTP reload answers 500); fix idea: skip dotfiles (and entries that are not regular files) in loadJourneysFromDir/readTemplates, and catch any error in main.ts's reloadSoon.
  it.fails('ignores an editor lock file (a dangling dot-symlink) and reloads', async () => {
    symlinkSync('audit@localhost.4242:1700000000', join(journeysDir, '.#welcome.yaml'));
    try {
      expect(() => reloadJourneys(world.engine.journeys)).not.toThrow();
      expect((await fetch(`${world.engine.url}/v1/admin/reload`, { method: 'POST' })).status).toBe(200);
    } finally {
      rmSync(join(journeysDir, '.#welcome.yaml'));
    }
  });
});
