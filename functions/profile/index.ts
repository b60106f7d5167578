export { applyEvent, emptyProfile, joinProfiles, mergeProfiles, RECENT_EVENTS_DAYS, RECENT_EVENTS_MAX } from './apply';
export { ProfileStore, VersionConflictError, appliedMark, APPLIED_MAX, ALIAS_CHAIN_MAX, idsOfProfile, queryAll, type ResolvedProfile, type StoredProfile, type OutboxEntry } from './store';
export { createProfileConsumer, type ConsumeResult, type Segmenter, type Segmentation, type ProfileConsumerDeps } from './consumer';
export { createCustomerApi, profileView, type IngestRecords } from './api';
export { createProfileConsumerHandler, createSweepHandler, createCustomerApiHandler } from './lambda';
export { loadProfileConfig, profileRetention, type ProfileConfig } from './config';
export { documentClient } from './aws';
