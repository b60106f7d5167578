import type { ChannelSpec } from './types';

/** Mobile push. So far consent only: customers may subscribe and unsubscribe; no journey sends on it yet. */
export const push = {
  id: 'push',
  label: 'push',
  audience: 'customer',
  consent: true,
  inEveryProfile: true,
  addressTrait: 'pushToken',
  sends: false,
  broadcasts: false,
  fallback: false,
  variants: false,
  sender: 'optional',
} as const satisfies ChannelSpec;
