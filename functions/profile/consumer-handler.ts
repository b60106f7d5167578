import { awsJourneyConsumerHooks, awsJourneySpecs } from '../journeys/aws';
import { awsProfileDeps } from './aws';
import { createProfileConsumerHandler } from './lambda';

/**
 * Lambda entry point: target of the bus rule for customer events
 * (`PROFILE_CONSUMER_PATTERN`). After each event is on the profile, the journey
 * router resumes the customer's runs waiting for it (SendTaskSuccess) and stops
 * the runs whose goal or exit it is (StopExecution), then enrols the customer in the journeys
 * the event triggers (StartExecution), as the embedded engine does; a dropped event of an erased
 * customer counts its skip, and a visitor the consumer erases with an erased customer has its runs stopped.
 * The profile keeps only the recent events the tag rules and the bundled journeys read.
 */
const hooks = awsJourneyConsumerHooks();
export const handler = createProfileConsumerHandler({ ...awsProfileDeps(process.env, awsJourneySpecs()), onErase: hooks.onErase }, hooks);
