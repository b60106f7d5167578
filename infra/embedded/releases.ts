/**
 * Journey releases in the embedded engine: the templates each journey version was released with, kept in the
 * data folder (`<data>/releases/<journey>/v<version>/`), so a run finishes with the templates it started with
 * after the journey changed and the engine restarted (its definition is kept by its execution journal).
 *
 * At start, each journey's current version is snapshotted once: the files of every template its steps render
 * (every channel and locale). A version already snapshotted keeps its first files: a template changed without
 * a version bump reaches new runs of that version only (`rapport plan` warns of it). A run of the current version
 * renders the current files; a run of an older version, its snapshot (or the current files, when the version was
 * never snapshotted: runs started before releases were kept).
 */
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { liquidTemplates, readTemplates, type TemplateRenderer } from '../../functions/journeys';
import { templatesOfJourney, type Journey } from '../../workflows/journeys';

export interface Releases {
  /** The templates of `journeyId` at `version` when that is not its current version and it was kept; else undefined. */
  templatesOf(journeyId: string, version: number): TemplateRenderer | undefined;
}

export function keepReleases(dataDir: string, templatesDir: string, journeys: readonly Pick<Journey, 'id' | 'version' | 'steps'>[]): Releases {
  const root = join(dataDir, 'releases');
  const current = new Map(journeys.map((j) => [j.id, j.version]));
  const files = existsSync(templatesDir) ? readdirSync(templatesDir).filter((f) => f.endsWith('.liquid')) : [];
  for (const journey of journeys) {
    const dir = join(root, journey.id, `v${journey.version}`);
    if (existsSync(dir)) continue;
    // Written beside, then renamed: a crash leaves no half snapshot under the version's name.
    const partial = `${dir}.partial`;
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial, { recursive: true });
    for (const name of templatesOfJourney(journey)) for (const file of files.filter((f) => f.startsWith(`${name}.`))) cpSync(join(templatesDir, file), join(partial, file));
    renameSync(partial, dir);
  }
  const renderers = new Map<string, TemplateRenderer | undefined>();
  return {
    templatesOf(journeyId, version) {
      if (current.get(journeyId) === version) return undefined;
      const key = `${journeyId}\n${version}`;
      if (!renderers.has(key)) {
        const dir = join(root, journeyId, `v${version}`);
        renderers.set(key, existsSync(dir) ? liquidTemplates(readTemplates(dir)) : undefined);
      }
      return renderers.get(key);
    },
  };
}
