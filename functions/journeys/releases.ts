import { existsSync } from 'node:fs';
import { join } from 'node:path';
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

/**
 * `templatesOf` over a releases folder: the templates of a kept release (read once, then cached: a release
 * never changes), undefined for a version with none there or for the journey's current version (`current`,
 * when given), whose runs render the current templates.
 */
export function releasedTemplates(releasesDir: string, current?: ReadonlyMap<string, number>): (journeyId: string, version: number) => TemplateRenderer | undefined {
  const renderers = new Map<string, TemplateRenderer | undefined>();
  return (journeyId, version) => {
    if (current?.get(journeyId) === version) return undefined;
    const key = `${journeyId}\n${version}`;
    if (!renderers.has(key)) {
      const dir = releaseDir(releasesDir, journeyId, version);
      renderers.set(key, existsSync(dir) ? liquidTemplates(readTemplates(dir)) : undefined);
    }
    return renderers.get(key);
  };
}
