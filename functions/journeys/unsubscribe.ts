import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Channel } from '../../shared';

/**
 * Signed one-click unsubscribe links (RFC 8058). The link names the customer and
 * channel and carries an HMAC, so only the recipient of a message can use it and
 * no lookup table is needed. Rapport serves it at `/v1/unsubscribe`.
 */
export const UNSUBSCRIBE_PATH = '/v1/unsubscribe';

function mac(secret: string, customerId: string, channel: Channel): string {
  return createHmac('sha256', secret).update(`unsubscribe\n${customerId}\n${channel}`).digest('base64url');
}

export function unsubscribeUrl(baseUrl: string, secret: string, customerId: string, channel: Channel): string {
  const url = new URL(UNSUBSCRIBE_PATH, baseUrl);
  url.searchParams.set('c', customerId);
  url.searchParams.set('ch', channel);
  url.searchParams.set('t', mac(secret, customerId, channel));
  return url.toString();
}

/** Check a link's parameters; the customer and channel it unsubscribes, or undefined if forged or malformed. */
export function verifyUnsubscribe(secret: string, params: URLSearchParams): { customerId: string; channel: Channel } | undefined {
  const customerId = params.get('c');
  const channel = params.get('ch');
  const token = params.get('t');
  if (!customerId || !token || (channel !== 'email' && channel !== 'sms' && channel !== 'push')) return undefined;
  const expected = Buffer.from(mac(secret, customerId, channel));
  const given = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected) ? { customerId, channel } : undefined;
}
