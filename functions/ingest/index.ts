export { createIngestHandler, type IngestHandlerOptions } from './lambda';
export { createIngestService, INGEST_PATHS, MAX_BODY_BYTES, WEBHOOK_PATH, SEGMENT_BATCH_PATH, type IngestDeps, type IngestRequest, type IngestResponse } from './service';
export { forgettingRecords, ingestClaimKey, powertoolsDeduplicator, type EventDeduplicator, type ClaimOutcome } from './dedupe';
export { verifyWebhook, signWebhook, decodeWebhookSecret, WebhookVerificationError, WEBHOOK_TOLERANCE_SECONDS } from './signature';
export { compileSources, staticSources, sourceFromSecretValue, SourceConfigError, type IngestSource, type SourceProvider } from './sources';
export { permissionProblems, type SourcePermissions } from './permissions';
export { secretsManagerSources } from './aws';
export { loadSenderTagPolicy, senderTagPolicy } from './tags';
