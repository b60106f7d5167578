import { inject } from 'vitest';
import type { AwsCallAuthorizer } from '../../infra/embedded/authorization';
import type { CfnTemplate } from './template';
import type { TwinIam } from './iam';

let iam: Promise<TwinIam> | undefined;

/** The template the twin project synthesized: undefined in other projects, and in a process that is no test worker (a fixture a test spawns). */
function injectedTemplate(): CfnTemplate | undefined {
  try {
    return inject('twinTemplate') as CfnTemplate | undefined;
  } catch {
    return undefined;
  }
}

/** The twin's IAM for the template the twin project synthesized; undefined outside that project. */
export function twinIam(): Promise<TwinIam> | undefined {
  const template = injectedTemplate();
  if (!template) return undefined;
  return (iam ??= loadIam(template));
}

/** An authoriser by the roles of `template` (loaded only where used: the simulator is a test-only dependency). */
export async function loadIam(template: CfnTemplate): Promise<TwinIam> {
  const [{ templateIam }, { Deployed }] = await Promise.all([import('./iam'), import('./template')]);
  return templateIam(new Deployed(template));
}

/** The authoriser engines of the twin project start with, if this is that project. */
export async function twinAuthorizer(): Promise<AwsCallAuthorizer | undefined> {
  return (await twinIam())?.authorize;
}
