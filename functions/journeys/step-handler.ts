import { awsStepDeps } from './aws';
import { createStepHandler } from './lambda';

/**
 * Lambda entry point: every Task of every journey state machine invokes it
 * (send, branch, split, tag, update, webhook, wait-until, await).
 */
export const handler = createStepHandler(await awsStepDeps());
