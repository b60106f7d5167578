import type { TestProject } from 'vitest/node';
import { NO_BUILTIN_CFN_VALIDATION } from '../../vitest.config';
import { bundlesFolder, bundleStepFunction } from './bundles';
import { synthTwinTemplate, withoutGrant, type CfnTemplate } from './template';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The synthesized template the twin project's engines authorise against (see tests/twin). */
    twinTemplate: CfnTemplate;
    /** The folder of the step function's bundle as synth bundles it (see tests/twin/bundles.ts). */
    twinStepBundle: string;
  }
}

/** What the setup makes, shared by the projects that use it (`twin` and `twin-bundles`). */
interface TwinSetup {
  template: CfnTemplate;
  stepBundle: string;
  remove: () => void;
}
/**
 * Both twin projects (`twin`, `twin-bundles` in vitest.config.ts) name this global setup, and vitest runs it once
 * per project, in its own process: the first call synthesizes and bundles, the second gets the same result, and the
 * bundles' folder goes when the last of them ends.
 */
const shared = globalThis as typeof globalThis & { rapportTwinSetup?: Promise<TwinSetup>; rapportTwinSetupUsers?: number };

/**
 * Synthesize the stack once for the twin projects' test files, and bundle the step function as synth does.
 * `RAPPORT_TWIN_WITHOUT` (e.g. `rapport-steps:dynamodb:DeleteItem,rapport-starter:states:StartExecution`)
 * removes grants first: which scenarios fail without a grant shows what it is for.
 */
async function twinSetup(): Promise<TwinSetup> {
  // This runs in vitest's own process, which the config's test env does not reach (see NO_BUILTIN_CFN_VALIDATION).
  Object.assign(process.env, NO_BUILTIN_CFN_VALIDATION);
  const bundles = bundlesFolder();
  const [synthesized, stepBundle] = await Promise.all([synthTwinTemplate(), bundleStepFunction(bundles.dir)]);
  let template = synthesized;
  for (const removal of (process.env.RAPPORT_TWIN_WITHOUT ?? '').split(',').filter(Boolean)) {
    const [fn, ...action] = removal.split(':');
    template = withoutGrant(template, fn!, action.join(':'));
  }
  return { template, stepBundle, remove: bundles.remove };
}

export default async function setup(project: TestProject): Promise<() => void> {
  shared.rapportTwinSetupUsers = (shared.rapportTwinSetupUsers ?? 0) + 1;
  const { template, stepBundle, remove } = await (shared.rapportTwinSetup ??= twinSetup());
  project.provide('twinTemplate', template);
  project.provide('twinStepBundle', stepBundle);
  return () => {
    shared.rapportTwinSetupUsers = (shared.rapportTwinSetupUsers ?? 1) - 1;
    if (shared.rapportTwinSetupUsers > 0) return;
    delete shared.rapportTwinSetup;
    remove();
  };
}
