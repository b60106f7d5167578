import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { templateRelease } from '../../shared';
import type { TemplateRenderer } from './steps';
import { liquidTemplates, readTemplates } from './templates';

/**
 * Kept journey releases: the templates each journey version rendered while it was current, in a folder
 * `<releases>/<journey id>/v<version>/<template>[.<locale>].<channel>.liquid`. A run renders its messages with
 * the templates of the version it started on (`GatewayDeps.templatesOf`): the release's when one is kept,
 * else the current templates. The embedded engine keeps them in `<data>/releases`; in AWS the step function's
 * bundle carries `releases/` (synth copies the committed `workflows/releases` there, current versions left out).
 */

/** The folder of `journeyId`'s release `version` under `releasesDir`. */
export const releaseDir = (releasesDir: string, journeyId: string, version: number): string => join(releasesDir, journeyId, `v${version}`);

/** The folder of a later template release of `journeyId` `version`: its files changed without a version bump. */
export const laterReleaseDir = (releasesDir: string, journeyId: string, version: number, release: string): string => join(releasesDir, journeyId, `v${version}@${release}`);

/**
 * `templatesOf` over a releases folder: the templates of a kept release (read once, then cached: a release never
 * changes), undefined when none is kept (the current templates render).
 * - A run with a template `release` (compiled into its steps) renders that release: `v<version>@<release>` (files
 *   changed without a bump), or `v<version>` when its files are that release; else the current templates.
 * - A run without one (started before releases were compiled in) renders its version's first files, `v<version>`.
 */
export function releasedTemplates(releasesDir: string): (journeyId: string, version: number, release?: string) => TemplateRenderer | undefined {
  const folders = new Map<string, { release: string; renderer: TemplateRenderer } | undefined>();
  const folder = (dir: string) => {
    if (!folders.has(dir)) {
      const sources = existsSync(dir) ? readTemplates(dir) : undefined;
      folders.set(dir, sources && { release: templateRelease(sources), renderer: liquidTemplates(sources) });
    }
    return folders.get(dir);
  };
  return (journeyId, version, release) => {
    if (release !== undefined) {
      const later = folder(laterReleaseDir(releasesDir, journeyId, version, release));
      if (later?.release === release) return later.renderer;
      const first = folder(releaseDir(releasesDir, journeyId, version));
      return first?.release === release ? first.renderer : undefined;
    }
    return folder(releaseDir(releasesDir, journeyId, version))?.renderer;
  };
}
