import type { ChannelSpec } from './types';

/** A signed HTTP POST (Standard Webhooks) to a configured target: a system, not a customer (no consent, no policy). */
export const webhook = {
  id: 'webhook',
  label: 'webhook',
  audience: 'system',
  consent: false,
  sends: true,
  broadcasts: false,
  fallback: false,
  variants: false,
  template: { format: 'json', locales: false },
  sender: 'required',
} as const satisfies ChannelSpec;

export interface WebhookMessage {
  target: string;
  /** Delivery id, stable for one execution+step so receivers can deduplicate. */
  id: string;
  body: string;
  /** The customer the step posted for: not sent, but what erasure finds a local outbox entry by (the body may name them by email only). */
  customerId: string;
}
