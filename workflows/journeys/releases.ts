import { cpSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { sourceFileNames } from '../../shared/source-files';
import { join } from 'node:path';
import type { Journey } from './schema';
import { templatesOfJourney } from './templates';

/**
 * Record each journey's current version as a release: the files of every template its steps render (every
 * channel and locale), copied to `<releasesDir>/<journey id>/v<version>/`. A version already recorded keeps
 * its first files: a template changed without a version bump is not recorded again, and reaches every run of that version
 * still to send, those in flight too (`rapport
 * plan` warns of it). Returns the releases it recorded now, `<journey id>/v<version>`.
 *
 * The embedded engine records into `<data>/releases` at each start; `cdk synth` (infra/cdk/app.ts) into the
 * committed `workflows/releases`, which the step function's bundle carries to AWS.
 */
export function recordReleases(releasesDir: string, templatesDir: string, journeys: readonly Pick<Journey, 'id' | 'version' | 'steps'>[]): string[] {
  const files = existsSync(templatesDir) ? sourceFileNames(templatesDir).filter((f) => f.endsWith('.liquid')) : [];
  const recorded: string[] = [];
  for (const journey of journeys) {
    const dir = join(releasesDir, journey.id, `v${journey.version}`);
    if (existsSync(dir)) continue;
    // Written beside, then renamed: a crash leaves no half release under the version's name.
    const partial = `${dir}.partial`;
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial, { recursive: true });
    for (const name of templatesOfJourney(journey)) for (const file of files.filter((f) => f.startsWith(`${name}.`))) cpSync(join(templatesDir, file), join(partial, file));
    renameSync(partial, dir);
    recorded.push(`${journey.id}/v${journey.version}`);
  }
  return recorded;
}
