import { awsRunEndedRuntime } from './aws';
import { createRunEndedHandler } from './lambda';

/**
 * Lambda entry point: target of the rule on the default bus for the journeys'
 * "Step Functions Execution Status Change" events (succeeded, failed, timed out, aborted).
 */
export const handler = createRunEndedHandler(awsRunEndedRuntime());
