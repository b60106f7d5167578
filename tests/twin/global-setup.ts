import type { TestProject } from 'vitest/node';
import { synthTwinTemplate, type CfnTemplate } from './template';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The synthesized template the twin project's engines authorise against (see tests/twin). */
    twinTemplate: CfnTemplate;
  }
}

/** Synthesize the stack once for the twin project's test files. */
export default async function setup(project: TestProject): Promise<void> {
  project.provide('twinTemplate', await synthTwinTemplate());
}
