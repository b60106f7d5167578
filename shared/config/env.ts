/**
 * Names of the environment variables shared between the CDK stack (which sets
 * them on Lambda functions) and the runtime loaders (which read them). One list,
 * so a rename cannot leave the two sides out of step.
 */
export const ENV = {
  /** Name of the EventBridge bus events are published to. */
  EVENT_BUS_NAME: 'RAPPORT_EVENT_BUS_NAME',
  /** DynamoDB table holding idempotency records (webhook-id / messageId), TTL on `expiration`. */
  IDEMPOTENCY_TABLE_NAME: 'RAPPORT_IDEMPOTENCY_TABLE_NAME',
  /**
   * JSON array of ingest sources: `[{ "id": "default", "secretArn": "arn:..." }]` in AWS.
   * Each secret's value is JSON `{ "webhookSecrets": ["whsec_..."], "writeKeys": ["..."] }`.
   */
  SOURCES: 'RAPPORT_SOURCES',
  /** Stage name (dev, prod, ...), used in metric dimensions and logs. */
  STAGE: 'RAPPORT_STAGE',
  /** Embedded engine: Standard Webhooks secret of the default source (`whsec_...`). */
  WEBHOOK_SECRET: 'RAPPORT_WEBHOOK_SECRET',
  /** Embedded engine: Segment write key of the default source. */
  WRITE_KEY: 'RAPPORT_WRITE_KEY',
  /** Embedded engine: folder for local data (dynalite files, bus log). */
  DATA_DIR: 'RAPPORT_DATA_DIR',
  /** Embedded engine: HTTP port. */
  PORT: 'PORT',
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];

/** EventBridge `Source` of events accepted by the ingest function. */
export const INGEST_EVENT_SOURCE = 'rapport.ingest';

/** Time an event's messageId (or a webhook-id) is remembered for duplicate suppression. */
export const IDEMPOTENCY_WINDOW_SECONDS = 72 * 60 * 60;
