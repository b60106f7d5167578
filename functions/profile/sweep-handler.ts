import { awsRunReconciler } from '../journeys/aws';
import { awsProfileDeps } from './aws';
import { createSweepHandler } from './lambda';

/**
 * Lambda entry point: the daily EventBridge Scheduler sweep. After time-based tags, it reconciles journey
 * runs whose end was never reported (Step Functions status changes are best-effort) with DescribeExecution.
 */
export const handler = createSweepHandler(awsProfileDeps(), { reconcile: awsRunReconciler() });
