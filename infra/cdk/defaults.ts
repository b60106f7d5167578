import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { RapportSource, RapportThrottle } from './rapport';

/**
 * Defaults of the `Rapport` construct's optional props, kept apart from the
 * wiring so a reader sees every default in one place. The reasons are in the
 * `@default` docs of `RapportProps`.
 */
export const RAPPORT_DEFAULTS = {
  sources: [{ id: 'default' }] as readonly RapportSource[],
  eventArchiveRetention: Duration.days(30),
  logRetention: logs.RetentionDays.ONE_MONTH,
  removalPolicy: RemovalPolicy.RETAIN,
  apiThrottle: { rateLimit: 1000, burstLimit: 2000 } as RapportThrottle,
} as const;

/** Fixed settings of the first leg of the data path; not props, because the runtime depends on them. */
export const INGEST = {
  /** Relative to the repository root. */
  entry: 'functions/ingest/handler.ts',
  handler: 'handler',
  memorySize: 512,
  /** One second under the HTTP API integration limit of 30 s, so API Gateway never cuts the function off. */
  timeout: Duration.seconds(29),
  /** Powertools service name (logs, metrics, traces). */
  serviceName: 'rapport-ingest',
  metricsNamespace: 'Rapport',
  /** Segment HTTP Tracking API paths; `/v1/events` is the Standard Webhooks endpoint. */
  routes: ['/v1/events', '/v1/track', '/v1/identify', '/v1/page', '/v1/screen', '/v1/group', '/v1/alias', '/v1/batch'],
  /** Failed deliveries wait here for inspection and redrive; 14 days is the SQS maximum. */
  deadLetterRetention: Duration.days(14),
} as const;

/** Source ids become part of config keys and logical ids: lower-case letters, digits and hyphens. */
export const SOURCE_ID_PATTERN = /^[a-z0-9-]+$/;
export const SOURCE_ID_MAX_LENGTH = 64;
/**
 * Lambda allows 4 KB of environment variables in total; each source adds about
 * 150 bytes (id and secret ARN) to `RAPPORT_SOURCES`, so 20 leaves room for the rest.
 */
export const MAX_SOURCES = 20;
/** Stage names go into the stack name, API name and tags. */
export const STAGE_NAME_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;
