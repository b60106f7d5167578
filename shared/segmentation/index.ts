/**
 * Segmentation: lifecycle stage, RFM scores and computed tags of a customer
 * profile, as pure functions of the profile, the settings and the time, plus
 * the loaders of `segmentation.config.yaml` and `tags.yaml` (text in, typed
 * settings or file:line:col problems out; no I/O).
 */
export {
  DEFAULT_SEGMENTATION_CONFIG,
  LifecycleConfigSchema,
  loadSegmentationConfig,
  loadSegmentationConfigOrThrow,
  RfmConfigSchema,
  RfmTierConfigSchema,
  SegmentationConfigSchema,
  type LifecycleConfig,
  type RfmConfig,
  type RfmTierConfig,
  type SegmentationConfig,
  type SegmentationConfigResult,
} from './config';
export { DAY_MS, RECENT_EVENTS_MAX, RECENT_EVENTS_WINDOW_DAYS, SEGMENTATION_FILES, TAG_RULES_MAX } from './constants';
export {
  formatProblem,
  SegmentationConfigError,
  SegmentationFileError,
  SegmentsFileError,
  TagRulesError,
  type SourceProblem,
} from './errors';
export { evaluateCondition, evaluateTags, type ConditionEvaluation, type TagEvaluation } from './evaluate';
export { evaluateLifecycle, lifecycleStage, type LifecycleResult } from './lifecycle';
export { evaluateRfm, rfmScores, valueTier, type RfmResult } from './rfm';
export { patternShape, recentEventsSpec, type JourneyRetentionInput, type PropertyShape, type RecentEventsSpec } from './retention';
export { createSegmenter, segment, type Segmentation, type SegmentationSetup } from './segment';
export {
  CONDITION_KINDS,
  ConditionSchema,
  DATE_FIELDS,
  MANUAL_TAG_NAME_PATTERN,
  ManualTagSchema,
  OPERATORS,
  RFM_FIELDS,
  STAT_NAMES,
  TAG_NAME_PATTERN,
  TagRuleSchema,
  type AllCondition,
  type AnyCondition,
  type Condition,
  type ConditionKind,
  type DateField,
  type DaysSinceCondition,
  type EventCondition,
  type LifecycleCondition,
  type ManualTag,
  type NoEventCondition,
  type NotCondition,
  type Operator,
  type Operators,
  type RfmCondition,
  type RfmField,
  type StatCondition,
  type StatName,
  type TagRule,
  type TraitCondition,
} from './tag-rules';
export { loadTagRules, loadTagRulesOrThrow, type TagRulesResult } from './tag-rules-load';
export { closest, didYouMean } from './text';
export { durationMs } from './time';
export {
  inSegments,
  isSegmentEntry,
  knownSegments,
  parseSegmentId,
  SEGMENT_CHANGE,
  SEGMENT_KINDS,
  SEGMENT_LEAVE_ALL,
  segmentChanges,
  segmentsOf,
  type SegmentKind,
} from './membership';
export { loadSegments, loadSegmentsOrThrow, NAMED_SEGMENTS_MAX, NamedSegmentSchema, SEGMENT_ID_PATTERN, segmentRules, SEGMENTS_FILE, SegmentsFileSchema, type NamedSegment, type SegmentsResult } from './segments-file';
