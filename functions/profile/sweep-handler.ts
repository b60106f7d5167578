import { awsSweepJourneys } from '../journeys/aws';
import { awsProfileDeps } from './aws';
import { createSweepHandler } from './lambda';

const journeys = awsSweepJourneys();

/**
 * Lambda entry point: the daily EventBridge Scheduler sweep. After time-based tags, it finishes erasures that were
 * interrupted and never retried (their journeys stopped with StopExecution, as DELETE does), then reconciles journey
 * runs whose end was never reported (Step Functions status changes are best-effort) with DescribeExecution.
 */
export const handler = createSweepHandler(
  { ...awsProfileDeps(), onErase: async (id: string) => void (await journeys.stopAll(id, 'customer erased')) },
  { reconcile: journeys.reconcile },
);
