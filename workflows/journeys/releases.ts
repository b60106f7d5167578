import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { sourceFileNames } from '../../shared/source-files';
import { join, relative, sep } from 'node:path';
import { parseTemplateFileName, templateKey, templateRelease } from '../../shared';
import type { Journey } from './schema';
import { templatesOfJourney } from './templates';

/** The release of a kept release folder: `templateRelease` of its template files, as the step runner reads them. */
export const releaseOfFolder = (dir: string): string => templateRelease(folderSources(dir, sourceFileNames(dir)));

/** The template sources of release files in a folder (`templateKey` → text), as the step runner reads them. */
function folderSources(dir: string, files: readonly string[]): Record<string, string> {
  const sources: Record<string, string> = {};
  for (const file of files) {
    const name = parseTemplateFileName(file);
    if (name) sources[templateKey(name.template, name.channel, name.locale)] = readFileSync(join(dir, file), 'utf8');
  }
  return sources;
}

/**
 * Record each journey's current version as a release: the files of every template its steps render (every
 * channel and locale), copied to `<releasesDir>/<journey id>/v<version>/`. When that version is recorded and its
 * files changed since without a version bump, they are recorded as a later release of the version,
 * `v<version>@<release>` (`templateRelease` of their sources: the release the compiler writes into the journey's
 * steps), once. A run renders the release it started with (functions/journeys/releases.ts): a changed file
 * reaches new runs only. Returns the releases it recorded now, `<journey id>/v<version>[@<release>]`.
 *
 * The embedded engine records into `<data>/releases` at each start and reload; `cdk synth` (infra/cdk/app.ts) into
 * the committed `workflows/releases`, which the step function's bundle carries to AWS.
 */
export function recordReleases(releasesDir: string, templatesDir: string, journeys: readonly Pick<Journey, 'id' | 'version' | 'steps'>[]): string[] {
  const files = existsSync(templatesDir) ? sourceFileNames(templatesDir).filter((f) => f.endsWith('.liquid')) : [];
  const recorded: string[] = [];
  for (const journey of journeys) {
    const mine = templatesOfJourney(journey).flatMap((name) => files.filter((f) => f.startsWith(`${name}.`)));
    let dir = join(releasesDir, journey.id, `v${journey.version}`);
    if (existsSync(dir)) {
      const release = templateRelease(folderSources(templatesDir, mine));
      if (releaseOfFolder(dir) === release) continue;
      dir = `${dir}@${release}`;
      if (existsSync(dir)) continue;
    }
    // Written beside, then renamed: a crash leaves no half release under the version's name.
    const partial = `${dir}.partial`;
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial, { recursive: true });
    for (const file of mine) cpSync(join(templatesDir, file), join(partial, file));
    renameSync(partial, dir);
    recorded.push(relative(releasesDir, dir).split(sep).join('/'));
  }
  return recorded;
}
