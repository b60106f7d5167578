export { BusArea, type BusAreaProps } from './bus';
export { ACCESS_LOG_FIELDS, eventPattern, grantProfileTable, loggedDefaultStage, type AreaContext } from './context';
export { FeedbackArea, type FeedbackAreaProps } from './feedback';
export { EncryptionArea, encryptionProblems, KEY_USER_ACTIONS } from './encryption';
export { IngestArea, type IngestAreaProps } from './ingest';
export { JourneysArea, type JourneysAreaProps } from './journeys';
export { ProfilesArea, type ProfilesAreaProps } from './profiles';
export { DEFAULT_RATE_PER_IP_PER_5_MINUTES, FirewallArea, firewallProblems, type FirewallAreaProps } from './firewall';
export { BroadcastsArea, type BroadcastsAreaProps } from './broadcasts';
