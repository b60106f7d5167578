import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { CompiledJourney } from '../../workflows/journeys';
import { JourneySpecSchema } from './journey-spec';
import type { JourneySpec } from './runtime';

/**
 * What the runtime needs of each kept journey version, beside its templates in a releases folder
 * (`<releases>/<journey id>/v<version>/journey.json`): a run in flight ends by the goals and exits of the version it
 * started on and resumes on that version's waits, also after the journey changed or was removed. The embedded engine
 * keeps them in `<data>/releases`; `cdk synth` in the committed `workflows/releases`, from which `journeys.json`
 * carries the older versions' (`retired`) to the starter and the router.
 */
export const RELEASE_SPEC_FILE = 'journey.json';

/** The `JourneySpec` of a compiled journey (no ASL): what `journeys.json` and a release's `journey.json` hold. */
export function journeySpecOf(compiled: CompiledJourney): JourneySpec {
  return {
    id: compiled.id,
    version: compiled.version,
    triggerPatterns: compiled.triggerPatterns,
    triggerMaxAgeSeconds: compiled.triggerMaxAgeSeconds,
    goalPatterns: compiled.goalPatterns,
    exitPatterns: compiled.exitPatterns,
    ...(compiled.audience !== undefined && { audience: structuredClone(compiled.audience) as JourneySpec['audience'] }),
    reentry: compiled.reentry,
    ...(compiled.concurrencyKey !== undefined && { concurrencyKey: compiled.concurrencyKey }),
    triggerProperties: compiled.triggerProperties,
    branchConditions: compiled.branchConditions,
    awaitedEvents: compiled.awaitedEvents,
    attribution: compiled.attribution,
    maxRunSeconds: compiled.maxRunSeconds,
  };
}

/**
 * Writes each journey's `journey.json` into its current version's release folder when that folder exists (its templates
 * were recorded) and has none yet: a version keeps the spec it was first released with, like its templates.
 * Written beside, then renamed. Returns the files it wrote.
 */
export function recordReleaseSpecs(releasesDir: string, journeys: readonly CompiledJourney[]): string[] {
  const written: string[] = [];
  for (const journey of journeys) {
    const dir = join(releasesDir, journey.id, `v${journey.version}`);
    const file = join(dir, RELEASE_SPEC_FILE);
    if (!existsSync(dir) || existsSync(file)) continue;
    writeFileSync(`${file}.partial`, `${JSON.stringify(journeySpecOf(journey), null, 2)}\n`);
    renameSync(`${file}.partial`, file);
    written.push(file);
  }
  return written;
}

/**
 * The specs of every kept version in `releasesDir` that is not a journey's current one (`current`: id → version), a
 * removed journey's too, in id and version order. A version kept without a spec (recorded before specs were) is
 * left out: its runs go by the current version. Throws naming the file when one is not a journey spec.
 */
export function retiredReleaseSpecs(releasesDir: string, current: ReadonlyMap<string, number>): JourneySpec[] {
  if (!existsSync(releasesDir)) return [];
  const specs: JourneySpec[] = [];
  for (const id of readdirSync(releasesDir).sort()) {
    const versions = existsSync(join(releasesDir, id)) ? readdirSync(join(releasesDir, id)).filter((name) => /^v\d+$/.test(name)) : [];
    for (const name of versions.sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)))) {
      const version = Number(name.slice(1));
      const file = join(releasesDir, id, name, RELEASE_SPEC_FILE);
      if (current.get(id) === version || !existsSync(file)) continue;
      const parsed = JourneySpecSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      if (!parsed.success) throw new Error(`${file} is not a journey release spec: ${z.prettifyError(parsed.error)}`);
      if (parsed.data.id !== id || parsed.data.version !== version) throw new Error(`${file} is journey ${parsed.data.id} v${parsed.data.version}, not ${id} v${version}`);
      specs.push(parsed.data as JourneySpec);
    }
  }
  return specs;
}
