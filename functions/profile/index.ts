export { applyEvent, emptyProfile, joinProfiles, mergeProfiles, RECENT_EVENTS_DAYS, RECENT_EVENTS_MAX } from './apply';
export { ProfileStore, VersionConflictError, appliedMark, belongsAfter, dedupeKey, eventMark, APPLIED_MAX, ALIAS_CHAIN_MAX, idsOfProfile, queryAll, queryShardsBefore, startsNewLife, type ResolvedProfile, type StoredProfile, type OutboxEntry, type Tombstone } from './store';
export { createProfileConsumer, type ConsumeResult, type Segmenter, type Segmentation, type ProfileConsumerDeps } from './consumer';
export { createCustomerApi, profileView, VIOLATIONS_PATH, type IngestRecords, type TrackingPlanViolations } from './api';
export { createProfileConsumerHandler, createSweepHandler, createCustomerApiHandler, type SweepOutcome } from './lambda';
export { loadProfileConfig, profileRetention, type ProfileConfig } from './config';
export { documentClient } from './aws';
export { PROFILE_LIMITS, setTraitWithin, traitBytes, type RefusedTrait } from './limits';
export { COUNT_ONCE_ATTRIBUTES, countOnce, COUNTED_RECENT_MAX } from './count-once';
