/**
 * AWS list prices used by the cost model: us-east-1, on-demand, first pricing
 * tier, no free tier, no Savings Plans. Each price carries where it is published
 * and as of when: they are the list prices as published on the AWS pricing
 * pages on the date given, NOT re-read for this run (this machine has no web
 * access) — re-check the pages before quoting a figure. `npm run cost` prints
 * them all.
 */
export interface Price {
  usd: number;
  per: string;
  source: string;
  asOf: string;
}

const p = (usd: number, per: string, source: string, asOf: string): Price => ({ usd, per, source, asOf });

export const PRICE_LIST = {
  apiRequest: p(1.0 / 1e6, 'HTTP API request (first 300M/month; metered per 512 KB)', 'aws.amazon.com/api-gateway/pricing ("HTTP APIs", US East (N. Virginia))', '2024-11'),
  busEvent: p(1.0 / 1e6, 'EventBridge custom event published (each 64 KB chunk of an entry is one event)', 'aws.amazon.com/eventbridge/pricing ("Custom events")', '2024-11'),
  archivePerGb: p(0.1, 'GB of events archived (archive processing; storage $0.023/GB-month left out)', 'aws.amazon.com/eventbridge/pricing ("Event replay": archive processing)', '2024-11'),
  lambdaRequest: p(0.2 / 1e6, 'Lambda request', 'aws.amazon.com/lambda/pricing (US East (N. Virginia), requests)', '2024-11'),
  lambdaGbSecond: p(0.0000133334, 'Lambda GB-second, arm64 (first 7.5 billion GB-s/month; 1 ms billing)', 'aws.amazon.com/lambda/pricing (Arm price, first tier)', '2024-11'),
  wru: p(0.625 / 1e6, 'DynamoDB on-demand write request unit (standard table class)', 'aws.amazon.com/dynamodb/pricing/on-demand (after the 2024-11-01 on-demand price cut)', '2024-11'),
  rru: p(0.125 / 1e6, 'DynamoDB on-demand read request unit (standard table class)', 'aws.amazon.com/dynamodb/pricing/on-demand (after the 2024-11-01 on-demand price cut)', '2024-11'),
  storageGbMonth: p(0.25, 'DynamoDB storage GB-month (standard table class; first 25 GB free: ignored)', 'aws.amazon.com/dynamodb/pricing/on-demand ("Data storage")', '2024-11'),
  transition: p(0.025 / 1000, 'Step Functions Standard state transition', 'aws.amazon.com/step-functions/pricing (Standard Workflows, US East)', '2024-11'),
  email: p(0.1 / 1000, 'SES outbound email (no attachments)', 'aws.amazon.com/ses/pricing ("Outbound email")', '2024-11'),
  secretMonth: p(0.4, 'Secrets Manager secret per month', 'aws.amazon.com/secrets-manager/pricing', '2024-11'),
  secretsCall: p(0.05 / 10_000, 'Secrets Manager API call', 'aws.amazon.com/secrets-manager/pricing', '2024-11'),
  logsPerGb: p(0.5, 'CloudWatch Logs ingested GB (standard log class)', 'aws.amazon.com/cloudwatch/pricing ("Logs": collect, standard)', '2024-11'),
  customMetric: p(0.3, 'CloudWatch custom metric per month (first 10,000 metrics; EMF)', 'aws.amazon.com/cloudwatch/pricing ("Metrics")', '2024-11'),
  xrayTrace: p(5.0 / 1e6, 'X-Ray trace recorded (first 100,000/month free: ignored)', 'aws.amazon.com/xray/pricing ("Traces recorded")', '2024-11'),
} as const;

/** The prices alone, in dollars per unit. */
export const PRICES = Object.fromEntries(Object.entries(PRICE_LIST).map(([k, v]) => [k, v.usd])) as { [K in keyof typeof PRICE_LIST]: number };

/** API Gateway meters a request per 512 KB of payload; EventBridge bills per 64 KB chunk of an entry. */
export const METERING = { apiBytes: 512 * 1024, busChunkBytes: 64 * 1024 } as const;

/**
 * What a Lambda invocation would wait for in AWS that the embedded engine answers
 * in-process. Billed duration = measured in-process time (wall time minus the time
 * spent waiting for the local stand-ins) + these allowances per call the
 * invocation made: typical in-region p50 latencies (assumptions, not measured).
 */
export const AWS_CALL_MS = {
  dynamo: 5,
  putEvents: 15,
  stepFunctionsApi: 20,
  sesSend: 30,
  outboundWebhook: 150,
} as const;

/**
 * Bytes of CloudWatch Logs per Lambda invocation from the platform alone (START,
 * END and REPORT lines; an estimate). The functions' own lines (Powertools JSON at
 * INFO, the deployed default, and EMF metrics) are measured.
 */
export const PLATFORM_LOG_BYTES_PER_INVOCATION = 300;

/** X-Ray's default sampling rule (active tracing on every function): the first request each second, then 5%. */
export const XRAY_SAMPLING = { reservoirPerSecond: 1, rate: 0.05 } as const;

/** The dollar amount of `units` of a price. */
export const cost = (price: keyof typeof PRICES, units: number) => units * PRICES[price];
