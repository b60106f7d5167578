import type { TestProject } from 'vitest/node';
import { synthTwinTemplate, withoutGrant, type CfnTemplate } from './template';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The synthesized template the twin project's engines authorise against (see tests/twin). */
    twinTemplate: CfnTemplate;
  }
}

/**
 * Synthesize the stack once for the twin project's test files. `RAPPORT_TWIN_WITHOUT` (e.g.
 * `rapport-steps:dynamodb:DeleteItem,rapport-starter:states:StopExecution`) removes grants first:
 * which scenarios fail without a grant shows what it is for.
 */
export default async function setup(project: TestProject): Promise<void> {
  let template = await synthTwinTemplate();
  for (const removal of (process.env.RAPPORT_TWIN_WITHOUT ?? '').split(',').filter(Boolean)) {
    const [fn, ...action] = removal.split(':');
    template = withoutGrant(template, fn!, action.join(':'));
  }
  project.provide('twinTemplate', template);
}
