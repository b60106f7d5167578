/**
 * Names of the environment variables shared between the CDK stack (which sets
 * them on Lambda functions) and the runtime loaders (which read them). One list,
 * so a rename cannot leave the two sides out of step.
 */
export const ENV = {
  /** Name of the EventBridge bus events are published to. */
  EVENT_BUS_NAME: 'RAPPORT_EVENT_BUS_NAME',
  /** The single DynamoDB table of profiles, timelines and aliases. */
  PROFILE_TABLE_NAME: 'RAPPORT_PROFILE_TABLE_NAME',
  /** Folder holding tags.yaml and segmentation.config.yaml (bundled next to the handler in AWS). */
  CONFIG_DIR: 'RAPPORT_CONFIG_DIR',
  /** `opt-out` (default) or `opt-in`: may marketing reach a customer who never said yes? */
  CONSENT_MODE: 'RAPPORT_CONSENT_MODE',
  /** Days a customer's timeline events are kept. */
  TIMELINE_RETENTION_DAYS: 'RAPPORT_TIMELINE_RETENTION_DAYS',
  /** Days an erasure's tombstone lives (derived from the archive and redelivery retentions at synth). */
  ERASURE_TOMBSTONE_DAYS: 'RAPPORT_ERASURE_TOMBSTONE_DAYS',
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
  /** Key that signs one-click unsubscribe links (AWS: the ARN of a secret holding it; embedded: the key). */
  UNSUBSCRIBE_SECRET: 'RAPPORT_UNSUBSCRIBE_SECRET',
  /** Public base URL of Rapport, for links in messages (unsubscribe). */
  PUBLIC_URL: 'RAPPORT_PUBLIC_URL',
  /** Embedded engine: Segment write key of the default source. */
  WRITE_KEY: 'RAPPORT_WRITE_KEY',
  /** Embedded engine: folder for local data (dynalite files, bus log). */
  DATA_DIR: 'RAPPORT_DATA_DIR',
  /** Embedded engine: journeys' clock runs this many times faster (86400: a day per second). */
  TIME_SCALE: 'RAPPORT_TIME_SCALE',
  /** Outbound webhooks by name, JSON: {"support": {"url": "https://...", "secret": "whsec_..."}}. */
  OUTBOUND_WEBHOOKS: 'RAPPORT_OUTBOUND_WEBHOOKS',
  /** Embedded engine: Host names it answers to besides 127.0.0.1, localhost and [::1] (comma-separated, `name[:port]`). */
  ALLOWED_HOSTS: 'RAPPORT_ALLOWED_HOSTS',
  /** Embedded engine: HTTP port. */
  PORT: 'PORT',
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];

/** EventBridge `Source` of events accepted by the ingest function. */
export const INGEST_EVENT_SOURCE = 'rapport.ingest';

/** Time an event's messageId (or a webhook-id) is remembered for duplicate suppression. */
export const IDEMPOTENCY_WINDOW_SECONDS = 72 * 60 * 60;

/** Single-table layout of the profile table, shared by the CDK stack and the store. */
export const PROFILE_TABLE_LAYOUT = {
  partitionKey: 'PK',
  sortKey: 'SK',
  ttlAttribute: 'ttl',
  /** Sparse index: profiles due for time-based re-evaluation (GSI1PK = DUE#<shard>, GSI1SK = <nextChangeAt>#<id>). */
  dueIndex: { name: 'GSI1', partitionKey: 'GSI1PK', sortKey: 'GSI1SK' },
  /** Sparse index: customers by last order time (GSI2PK = ORD#<shard>, GSI2SK = <lastOrderAt>#<id>). */
  lastOrderIndex: { name: 'GSI2', partitionKey: 'GSI2PK', sortKey: 'GSI2SK' },
  /** Sparse index: customers by email, on the profile item (GSI3PK = EM#<sha256 of the address, trimmed and lower-cased>, GSI3SK = <id>). */
  emailIndex: { name: 'GSI3', partitionKey: 'GSI3PK', sortKey: 'GSI3SK' },
  /** Write sharding of the two sparse indexes, so no index partition is hot. */
  shards: 8,
} as const;

/** EventBridge `Source` of the events the profile consumer and sweep derive. */
export const PROFILE_EVENT_SOURCE = 'rapport.profile';

/**
 * The bus rule that feeds the profile consumer: customer events from ingest
 * only. Derived events (source rapport.profile) never match it, so a tag change
 * cannot re-trigger the rules that produced it. Shared by the CDK stack and the
 * embedded bus.
 */
export const PROFILE_CONSUMER_PATTERN = { source: [INGEST_EVENT_SOURCE] } as const;
