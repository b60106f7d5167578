/** A rendered email, ready for a provider. */
export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** Extra headers, e.g. List-Unsubscribe and List-Unsubscribe-Post (RFC 8058). */
  headers: Record<string, string>;
  /** Provider tags for tracking: journey, step, execution. */
  tags: Record<string, string>;
}

export interface SmsMessage {
  to: string;
  body: string;
  kind: 'marketing' | 'transactional';
  tags: Record<string, string>;
}

export interface WebhookMessage {
  target: string;
  /** Delivery id, stable for one execution+step so receivers can deduplicate. */
  id: string;
  body: string;
  /** The customer the step posted for: not sent, but what erasure finds a local outbox entry by (the body may name them by email only). */
  customerId: string;
}

/** Ports: where messages go. AWS: SES v2, End User Messaging SMS, HTTP. Embedded: a local outbox. */
export interface Channels {
  email(message: EmailMessage): Promise<{ providerId: string }>;
  sms(message: SmsMessage): Promise<{ providerId: string }>;
  webhook(message: WebhookMessage): Promise<{ providerId: string }>;
}

/** A provider is down or throttling: the step is retried with backoff (Step Functions Retry on this name). */
export class ChannelUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChannelUnavailableError';
  }
}
