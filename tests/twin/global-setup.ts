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

/**
 * Synthesize the stack once for the twin project's test files, and bundle the step function as synth does.
 * `RAPPORT_TWIN_WITHOUT` (e.g. `rapport-steps:dynamodb:DeleteItem,rapport-starter:states:StopExecution`)
 * removes grants first: which scenarios fail without a grant shows what it is for.
 */
export default async function setup(project: TestProject): Promise<() => void> {
  // This runs in vitest's own process, which the config's test env does not reach (see NO_BUILTIN_CFN_VALIDATION).
  Object.assign(process.env, NO_BUILTIN_CFN_VALIDATION);
  const bundles = bundlesFolder();
  const [synthesized, stepBundle] = await Promise.all([synthTwinTemplate(), bundleStepFunction(bundles.dir)]);
  let template = synthesized;
  for (const removal of (process.env.RAPPORT_TWIN_WITHOUT ?? '').split(',').filter(Boolean)) {
    const [fn, ...action] = removal.split(':');
    template = withoutGrant(template, fn!, action.join(':'));
  }
  project.provide('twinTemplate', template);
  project.provide('twinStepBundle', stepBundle);
  return bundles.remove;
}
