import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks v1 verification (https://www.standardwebhooks.com):
 * `webhook-signature` holds space-separated `v1,<base64 HMAC-SHA256>` values over
 * `${webhook-id}.${webhook-timestamp}.${raw body}`, keyed with the base64 part
 * of a `whsec_` secret. Several signatures and several secrets are accepted, so
 * a sender and Rapport can rotate secrets without downtime.
 */

export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;
const SECRET_PREFIX = 'whsec_';

export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

/** Decode a `whsec_<base64>` secret into its HMAC key. Throws on a malformed secret. */
export function decodeWebhookSecret(secret: string): Buffer {
  const body = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) {
    throw new Error(`webhook secret must be "whsec_" followed by base64, got ${body.length} characters that are not base64`);
  }
  const key = Buffer.from(body, 'base64');
  if (key.length < 16) throw new Error(`webhook secret is too short: ${key.length} bytes, need at least 16`);
  return key;
}

export function signWebhook(key: Buffer, id: string, timestamp: number, body: Buffer | string): string {
  const mac = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

export interface SourceKey {
  sourceId: string;
  key: Buffer;
}

export interface VerifiedWebhook {
  webhookId: string;
  sourceId: string;
}

export interface VerifyInput {
  headers: Readonly<Record<string, string | undefined>>;
  body: Buffer;
  /** Candidate HMAC keys (decoded secrets), each with the source it belongs to. */
  keys: readonly SourceKey[];
  now: Date;
  toleranceSeconds?: number;
}

/** Verify a request; returns its webhook-id and source, or throws a WebhookVerificationError saying what is wrong. */
export function verifyWebhook({ headers, body, keys, now, toleranceSeconds = WEBHOOK_TOLERANCE_SECONDS }: VerifyInput): VerifiedWebhook {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signature = headers['webhook-signature'];
  const missing = [!id && 'webhook-id', !timestamp && 'webhook-timestamp', !signature && 'webhook-signature'].filter(Boolean);
  if (missing.length > 0) throw new WebhookVerificationError(`missing header(s): ${missing.join(', ')} (Standard Webhooks v1)`);

  if (!/^\d{1,12}$/.test(timestamp!)) throw new WebhookVerificationError('webhook-timestamp must be whole seconds since the Unix epoch');
  const seconds = Number(timestamp);
  const skew = Math.floor(now.getTime() / 1000) - seconds;
  if (skew > toleranceSeconds) throw new WebhookVerificationError(`webhook-timestamp is ${skew} s old; the tolerance is ${toleranceSeconds} s`);
  if (-skew > toleranceSeconds) throw new WebhookVerificationError(`webhook-timestamp is ${-skew} s in the future; the tolerance is ${toleranceSeconds} s`);

  const offered = signature!
    .split(' ')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('v1,'))
    .map((s) => Buffer.from(s.slice(3), 'base64'));
  if (offered.length === 0) throw new WebhookVerificationError('webhook-signature holds no v1 signature');

  for (const { sourceId, key } of keys) {
    const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
    for (const candidate of offered) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) return { webhookId: id!, sourceId };
    }
  }
  throw new WebhookVerificationError('webhook-signature does not match the body for any secret of this endpoint');
}
