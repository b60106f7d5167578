import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScaledClock } from '../../shared';

/** How often a scaled clock notes where it is (real milliseconds), by default. */
const TICK_MS = 1000;

/**
 * The engine's journey clock on a data folder at `scale` (RAPPORT_TIME_SCALE). At 1x it is the real
 * clock. Faster, it goes on from where the last engine on this folder left it (noted in
 * `clock.json` every second), with the time the engine was down counted at 1x: saved Waits and
 * callback deadlines, which are instants on this clock, then fire when they were due, not a whole
 * scaled restart later. A crash loses what the clock moved since its last note: at most `noteEveryMs`
 * real milliseconds, `scale` times as much journey time. @see LocalStepFunctions.resume
 */
export function dataFolderClock(dataDir: string, scale: number, options: { noteEveryMs?: number } = {}): ScaledClock {
  const file = join(dataDir, 'clock.json');
  if (scale === 1) {
    rmSync(file, { force: true });
    return new ScaledClock(1);
  }
  let start = Date.now();
  if (existsSync(file)) {
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { journeyTime?: unknown; realTime?: unknown };
      if (typeof saved.journeyTime === 'number' && typeof saved.realTime === 'number') start = saved.journeyTime + Math.max(0, Date.now() - saved.realTime);
    } catch {
      // a file cut short by a crash: start from the real time
    }
  }
  const clock = new ScaledClock(scale, new Date(start));
  mkdirSync(dataDir, { recursive: true });
  const note = () => {
    try {
      writeFileSync(`${file}.tmp`, JSON.stringify({ scale, journeyTime: clock.now().getTime(), realTime: Date.now() }));
      renameSync(`${file}.tmp`, file);
    } catch {
      // the folder went away (a test's temporary folder): nothing to note
    }
  };
  note();
  setInterval(note, options.noteEveryMs ?? TICK_MS).unref();
  return clock;
}
