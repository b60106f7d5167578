import type { ChannelSpec } from './types';

/** Email: SES v2 in AWS, the outbox in the embedded engine. Address: the `email` trait. */
export const email = {
  id: 'email',
  label: 'email',
  audience: 'customer',
  consent: true,
  inEveryProfile: true,
  addressTrait: 'email',
  sends: true,
  broadcasts: true,
  fallback: true,
  variants: true,
  template: { format: 'email', locales: true },
  sender: 'required',
} as const satisfies ChannelSpec;

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
