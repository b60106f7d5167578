/**
 * Names of the environment variables of the broadcast functions (API and page), shared between the CDK
 * stack and `functions/broadcasts/aws.ts`. The page function also reads the journey step function's
 * variables (`JOURNEY_ENV`, `ENV`): it sends through the same gateway, channels and templates.
 */
export const BROADCAST_ENV = {
  /** The broadcast state machine's ARN: the API starts a broadcast's execution on it, the page function a long one's next generation. */
  STATE_MACHINE_ARN: 'RAPPORT_BROADCAST_STATE_MACHINE_ARN',
  /** The events the journey router credits as conversions (a JSON array): a broadcast's `attribution.event` must be one. */
  CONVERSION_EVENTS: 'RAPPORT_CONVERSION_EVENTS',
  /** Messages per second all broadcasts together may send per channel (a JSON object, `{"email": 14}`); unset: no limit. */
  BROADCAST_RATES: 'RAPPORT_BROADCAST_RATES',
  /** The declared subscription topics (a JSON array of `{id, default}`): a broadcast's `topic` must be one; its default is kept with it. */
  TOPICS: 'RAPPORT_TOPICS',
  /**
   * The channels a broadcast cannot send on in this deployment (a JSON array): those whose setting the channel
   * registry's `deployment` names is not given (WhatsApp without `whatsappPhoneNumberId`). Unset: none.
   */
  UNDEPLOYED_CHANNELS: 'RAPPORT_UNDEPLOYED_CHANNELS',
} as const;
