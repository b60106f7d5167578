import { BROADCAST_CHANNELS, type BroadcastChannel } from '../channels';
import { BROADCAST_RATE_MAX } from './schema';

/** The channels a broadcast sends on (the channel registry's). */
export type { BroadcastChannel };
/** Messages per second all broadcasts together may send on a channel; a channel not named is not limited. */
export type BroadcastRates = Partial<Record<BroadcastChannel, number>>;

const CHANNELS: readonly BroadcastChannel[] = BROADCAST_CHANNELS;

/**
 * The rates of `RAPPORT_BROADCAST_RATES` (or the CDK prop / context `broadcastRates`): a JSON object like
 * `{"email": 14, "sms": 1}`. Throws an error naming `where` and the field that is wrong.
 */
export function parseBroadcastRates(value: unknown, where: string): BroadcastRates {
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value) as unknown;
    } catch {
      throw new Error(`${where}: expected a JSON object like {"email": 14, "sms": 1} (messages per second per channel), got ${JSON.stringify(value)}`);
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`${where}: expected an object like {"email": 14, "sms": 1} (messages per second per channel), got ${JSON.stringify(parsed)}`);
  }
  const rates: BroadcastRates = {};
  for (const [channel, rate] of Object.entries(parsed)) {
    if (!(CHANNELS as readonly string[]).includes(channel)) throw new Error(`${where}.${channel}: expected a channel a broadcast sends on (${CHANNELS.join(', ')})`);
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0 || rate > BROADCAST_RATE_MAX) {
      throw new Error(`${where}.${channel}: expected messages per second, a number above 0 and at most ${BROADCAST_RATE_MAX}, got ${JSON.stringify(rate)}`);
    }
    rates[channel as BroadcastChannel] = rate;
  }
  return rates;
}

