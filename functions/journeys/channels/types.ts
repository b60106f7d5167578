import type { ChannelMessages, RequiredSenderChannel } from '../../../shared/channels';

export type { EmailMessage, SmsMessage, WebhookMessage } from '../../../shared/channels';

/**
 * A channel's sender: takes its message, answers the provider's message id. `reaches`, when it has one: whether it
 * can send to `address` at all, beyond the channel's address format (AWS push: an endpoint of the configured
 * platform application); the send gateway skips a customer whose address it cannot (`invalid-address`), so a
 * fallback can take over, instead of failing the send at the provider.
 */
export type ChannelSender<C extends keyof ChannelMessages> = ((message: ChannelMessages[C]) => Promise<{ providerId: string }>) & { readonly reaches?: (address: string) => boolean };

/**
 * Ports: where messages go, one sender per sending channel of the registry (shared/channels). AWS: SES v2, End User
 * Messaging SMS, HTTP (./aws.ts). Embedded: a local outbox (infra/embedded/outbox.ts). A channel whose sender is
 * optional is refused at send time where the engine has none.
 */
export type Channels = { [C in RequiredSenderChannel]: ChannelSender<C> } & { [C in Exclude<keyof ChannelMessages, RequiredSenderChannel>]?: ChannelSender<C> };

/** A provider is down or throttling: the step is retried with backoff (Step Functions Retry on this name). */
export class ChannelUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChannelUnavailableError';
  }
}
