export { createJourneyRuntime, isStarterPattern, type JourneySpec, type BusEventLike, type EnrolOutcome, type JourneyRuntimeDeps, type ReconcileOutcome } from './runtime';
export { createStepRunner, StepInputSchema, TemplateRenderError, StepConfigError, resolveTriggerRefs, type StepDeps, type StepInput, type StepResult, type TemplateRenderer, type ConditionEvaluator } from './steps';
export { createStepHandler, createStarterHandler, createRunEndedHandler } from './lambda';
export { InvalidRunsCursorError, JourneyStore, type RunAtStep, type RunRecord, type MessageRecord, type WaitRecord, type RunStatus } from './store';
export { type AttributionRecord } from './store';
export { experimentView, holdoutView, normalCdf, twoProportionPValue, EXPERIMENT_METHOD, HOLDOUT_METHOD, type ExperimentView, type HoldoutView, type VariantStats } from './experiments';
export { attributionView, formatAttribution, type AttributionView, type Earned } from './attribution';
export { awsExecutions, executionName, type Executions, type ExecutionInput, type ExecutionState } from './executions';
export { liquidTemplates, readTemplates, templateFilesText } from './templates';
export { releaseDir, releasedTemplates } from './releases';
export { loadTopicsFile } from './topics';
export { renderMessage, type RenderDeps, type RenderRequest, type RenderedMessage } from './render';
export { segmentationConditions } from './conditions';
export { decideSend, DEFAULT_SEND_POLICY, type SendPolicy, type SendDecision } from './policy';
export {
  unsubscribeUrl,
  verifyUnsubscribe,
  preferencesUrl,
  verifyPreferences,
  PREFERENCES_PATH,
  PREFERENCES_LINK_DAYS,
  type PreferencesLink,
  unsubscribeKeysFromValue,
  staticUnsubscribeKeys,
  secretUnsubscribeKeys,
  UnsubscribeKeyConfigError,
  UNSUBSCRIBE_PATH,
  DEV_UNSUBSCRIBE_KEY,
  type UnsubscribeKeyProvider,
} from './unsubscribe';
export { ChannelUnavailableError, type Channels, type EmailMessage, type SmsMessage, type WebhookMessage } from './channels/types';
export { awsChannels, postWebhook, type OutboundWebhookTarget } from './channels/aws';
