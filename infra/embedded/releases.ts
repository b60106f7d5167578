/**
 * Journey releases in the embedded engine: the templates each journey version was released with, kept in the
 * data folder (`<data>/releases/<journey>/v<version>/`), so a run finishes with the templates it started with
 * after the journey changed and the engine restarted (its definition is kept by its execution journal).
 *
 * At start and reload, each journey's current version is recorded once (`recordReleases`: the files of every
 * template its steps render, every channel and locale), and again as a later release `v<version>@<release>` when
 * its files changed without a version bump. The compiler writes the release into every step of the journey, so a
 * run renders the files it started with: a template changed without a bump reaches new runs only (`rapport plan`
 * lists it). A run started before releases were compiled in renders its version's first files (the current files
 * for a version never recorded). AWS does the same from the step function's bundle
 * (`releasedTemplates`, docs/operations.md "Releases"). Each version's compiled journey is kept
 * too (`journey.json`): runs in flight end by their version's goals and exits and resume on its waits (`retired`).
 */
import { join } from 'node:path';
import { releasedTemplates, type JourneySpec, type TemplateRenderer } from '../../functions/journeys';
import { recordReleaseSpecs, retiredReleaseSpecs } from '../../functions/journeys/release-specs';
import { recordReleases, type CompiledJourney, type Journey } from '../../workflows/journeys';

export interface Releases {
  /**
   * The templates of `journeyId` at `version` and template `release` when kept (the release a run's steps carry);
   * without a release, the version's first files when kept; else undefined (the current templates).
   */
  templatesOf(journeyId: string, version: number, release?: string): TemplateRenderer | undefined;
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
    templatesOf: releasedTemplates(root),
    retired: () => retiredReleaseSpecs(root, current),
  };
}
