/**
 * Journey releases in the embedded engine: the templates each journey version was released with, kept in the
 * data folder (`<data>/releases/<journey>/v<version>/`), so a run finishes with the templates it started with
 * after the journey changed and the engine restarted (its definition is kept by its execution journal).
 *
 * At start, each journey's current version is recorded once (`recordReleases`: the files of every template its
 * steps render, every channel and locale; a version already recorded keeps its first files: a template changed
 * without a version bump is not recorded again and reaches every run of that version still to send, those in
 * flight too; `rapport plan` lists it). A run of the
 * current version renders the current files; a run of an older version, its release (or the current files, when
 * the version was never recorded: runs started before releases were kept). AWS does the same from the step
 * function's bundle (`releasedTemplates`, docs/operations.md "Releases"). Each version's compiled journey is kept
 * too (`journey.json`): runs in flight end by their version's goals and exits and resume on its waits (`retired`).
 */
import { join } from 'node:path';
import { releasedTemplates, type JourneySpec, type TemplateRenderer } from '../../functions/journeys';
import { recordReleaseSpecs, retiredReleaseSpecs } from '../../functions/journeys/release-specs';
import { recordReleases, type CompiledJourney, type Journey } from '../../workflows/journeys';

export interface Releases {
  /** The templates of `journeyId` at `version` when that is not its current version and it was kept; else undefined. */
  templatesOf(journeyId: string, version: number): TemplateRenderer | undefined;
  /**
   * The compiled journeys of every kept version that is not current (a removed journey's too): the runtime ends and
   * resumes their runs in flight by those versions' goals, exits and waits. Versions kept before this was saved: none.
   */
  retired(): JourneySpec[];
}

export function keepReleases(dataDir: string, templatesDir: string, journeys: readonly Pick<Journey, 'id' | 'version' | 'steps'>[], compiled: readonly CompiledJourney[] = []): Releases {
  const root = join(dataDir, 'releases');
  const current = new Map(journeys.map((j) => [j.id, j.version]));
  recordReleases(root, templatesDir, journeys);
  recordReleaseSpecs(root, compiled);
  return {
    templatesOf: releasedTemplates(root, current),
    retired: () => retiredReleaseSpecs(root, current),
  };
}
