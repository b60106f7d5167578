/**
 * Reloading journeys while an editor holds a lock file (audit 15): Emacs marks a file it is editing with a dangling
 * symlink beside it (`.#welcome.yaml` -> `user@host.pid:...`), and the `npm start` watcher reloads on the folder's
 * change. Journeys and templates are read from regular files only, never dot-files (`sourceFileNames`), so the reload
 * answers as usual; under `npm start` any other failure of a reload is reported and the engine runs on. On virtual time.
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

  it('ignores an editor lock file (a dangling dot-symlink) and reloads', async () => {
    symlinkSync('audit@localhost.4242:1700000000', join(journeysDir, '.#welcome.yaml'));
    try {
      expect(() => reloadJourneys(world.engine.journeys)).not.toThrow();
      expect((await fetch(`${world.engine.url}/v1/admin/reload`, { method: 'POST' })).status).toBe(200);
    } finally {
      rmSync(join(journeysDir, '.#welcome.yaml'));
    }
  });
});
