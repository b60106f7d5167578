import { awsProfileDeps } from './aws';
import { createSweepHandler } from './lambda';

/** Lambda entry point: the daily EventBridge Scheduler sweep. */
export const handler = createSweepHandler(awsProfileDeps());
