import { E164_PHONE, type ChannelSpec } from './types';

/**
 * SMS: End User Messaging SMS in AWS (needs an origination identity), the outbox in the embedded engine. Address: the
 * `phone` trait in E.164 (`SendTextMessage` takes no other; separators people write are taken out first), so a STOP is
 * held under the very number texts go to.
 */
export const sms = {
  id: 'sms',
  label: 'SMS',
  audience: 'customer',
  consent: true,
  inEveryProfile: true,
  addressTrait: 'phone',
  address: E164_PHONE,
  sends: true,
  broadcasts: true,
  fallback: true,
  variants: true,
  template: { format: 'text', locales: true },
  sender: 'required',
} as const satisfies ChannelSpec;

export interface SmsMessage {
  to: string;
  body: string;
  kind: 'marketing' | 'transactional';
  tags: Record<string, string>;
}
