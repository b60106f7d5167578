/**
 * Journeys: the YAML language marketers write, its two-pass validation
 * (shape, then meaning) and the compiler to Step Functions (JSONPath ASL),
 * EventBridge patterns and a Mermaid picture. Pure: no AWS calls.
 */
export { loadJourney, loadJourneysFromDir, type DirOptions, type LoadedJourneys, type LoadOptions, type LoadResult } from './load';
export { addedTags, addedTagsInDocument, tagReads, type KnownTags, type TagRead } from './tags';
export { busPattern, compileJourney, SEND_DEFERRAL_MAX_SECONDS, type CompiledJourney, type CompileOptions, type EndOutcome, type StepAction } from './compile';
export { formatProblems, JourneyError, type JourneyProblem } from './errors';
export {
  ACTIONS,
  END,
  HOLDOUT,
  JourneySchema,
  MESSAGE_KINDS,
  SEND_CHANNELS,
  StepSchema,
  WEEKDAYS,
  type ActionName,
  type EventFilter,
  type Journey,
  type JourneyInput,
  type Step,
} from './schema';
export { journeyJsonSchema } from './json-schema';
export { ConditionSchema, describeCondition, type Condition } from './conditions';
export { DURATION_PATTERN, formatDuration, MAX_WAIT_SECONDS, parseDuration } from './duration';
export { EXECUTION_MAX_SECONDS, longestRunSeconds, MAX_PATHS, statePaths, type StatePath } from './paths';
export { TRIGGER_REFERENCE, triggerReferences } from './references';
export { checkTemplate, journeyTemplateSources, loadTemplateCatalog, templateFileName, templatesOfJourney, templateVariantKeys, type TemplateCatalog } from './templates';
export { recordReleases, releaseOfFolder } from './releases';
export { journeyTemplateProblems, journeyTemplates, templateVariableProblems, triggerFields } from './template-variables';
export {
  LAMBDA_INVOKE,
  LAMBDA_INVOKE_WAIT_FOR_TOKEN,
  RESULT,
  RETRYABLE_ERRORS,
  STATE,
  STEP_FAILED_ERROR,
  STEP_RETRY,
  type State,
  type StateMachineDefinition,
} from './asl';
