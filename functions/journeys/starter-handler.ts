import { awsJourneyRuntime } from './aws';
import { createStarterHandler } from './lambda';

/** Lambda entry point: target of every journey's trigger rule on the Rapport bus. */
export const handler = createStarterHandler(awsJourneyRuntime());
