import { randomUUID } from 'node:crypto';
import { PinpointSMSVoiceV2Client, SendTextMessageCommand } from '@aws-sdk/client-pinpoint-sms-voice-v2';
import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { encodeTagValue } from '../../feedback/ses-event';
import { decodeWebhookSecret, signWebhook } from '../../ingest/signature';
import { endpointArnPrefix, metaTemplateMessage, snsPushMessage, type PushMessage, type WhatsAppMessage } from '../../../shared/channels';
import { ChannelUnavailableError, type Channels, type EmailMessage, type SmsMessage, type WebhookMessage } from './types';

export interface WhatsAppSenderConfig {
  /** `phone-number-id-<32 hex digits>` (GetLinkedWhatsAppBusinessAccount lists them). */
  originationPhoneNumberId: string;
  /** The Meta Cloud API version the message object is written for, like `v20.0`. */
  metaApiVersion: string;
}

export interface PushSenderConfig {
  /** The SNS platform application (`arn:aws:sns:<region>:<account>:app/<platform>/<name>`) whose endpoints Rapport may publish to. */
  platformApplicationArn: string;
}

/** SNS Publish's input for a mobile push: the customer's endpoint, one payload per platform (MessageStructure json). */
export interface SnsPublishInput {
  TargetArn: string;
  Message: string;
  MessageStructure: 'json';
}

/** Port: SNS Publish. In AWS, `snsPublisher` (the SDK client `@aws-sdk/client-sns`, without SDK retries); tests pass a mock. */
export interface SnsPublisher {
  publish(input: SnsPublishInput): Promise<{ MessageId?: string }>;
}

/** The SNS Publish request of a push to the customer's platform endpoint. */
export function pushRequest(message: PushMessage): SnsPublishInput {
  return { TargetArn: message.to, Message: snsPushMessage(message), MessageStructure: 'json' };
}

/** SendWhatsAppMessage's input (End User Messaging Social): the message is the Meta Cloud API JSON, as bytes. */
export interface SendWhatsAppMessageInput {
  originationPhoneNumberId: string;
  metaApiVersion: string;
  message: Uint8Array;
}

/**
 * Port: End User Messaging Social's SendWhatsAppMessage. In AWS, `socialMessagingSender` (the SDK client
 * `@aws-sdk/client-socialmessaging`, without SDK retries); tests pass a mock and assert the exact input.
 */
export interface SocialMessagingSender {
  sendWhatsAppMessage(input: SendWhatsAppMessageInput): Promise<{ messageId?: string }>;
}

export interface OutboundWebhookTarget {
  url: string;
  /** Standard Webhooks secret (`whsec_...`) the receiver verifies with. */
  secret: string;
  /** How long to wait for the receiver's answer; past it the step is retried (same webhook-id). @default 10000 */
  timeoutMs?: number;
}

export interface AwsChannelsConfig {
  fromAddress: string;
  configurationSet?: string;
  smsOriginationIdentity?: string;
  /** WhatsApp through End User Messaging Social: the origination phone number's id and the Meta API version; absent: no WhatsApp sender. */
  whatsapp?: WhatsAppSenderConfig;
  /** Mobile push through SNS: the platform application the customers' endpoints belong to; absent: no push sender. */
  push?: PushSenderConfig;
  webhooks: Record<string, OutboundWebhookTarget>;
}

/**
 * The provider refused the request (throttled, unavailable, or not even reached): nothing was
 * sent, so the step may send again after a backoff. Anything else (a timeout or a connection
 * reset after the request went out) leaves the outcome unknown, and the message is not resent.
 */
const isThrottleOrOutage = (error: unknown) => {
  const e = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  return (
    /Throttl|TooManyRequests|ServiceUnavailable|InternalFailure|LimitExceeded/.test(e.name ?? '') ||
    (e.$metadata?.httpStatusCode ?? 0) >= 500 ||
    /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN)$/.test(e.code ?? '')
  );
};

/**
 * SDK clients that never retry a send on their own: a retry after a timeout could deliver the
 * message twice. Step Functions retries refusals instead, around the step's once-only claim.
 */
const NO_SDK_RETRY = { maxAttempts: 1 } as const;

/** The SES v2 request for an email, with the one-click unsubscribe headers as message headers. */
export function sesRequest(message: EmailMessage, config: Pick<AwsChannelsConfig, 'fromAddress' | 'configurationSet'>) {
  return {
    FromEmailAddress: config.fromAddress,
    Destination: { ToAddresses: [message.to] },
    Content: {
      Simple: {
        Subject: { Data: message.subject, Charset: 'UTF-8' },
        Body: { Text: { Data: message.text, Charset: 'UTF-8' }, ...(message.html !== undefined && { Html: { Data: message.html, Charset: 'UTF-8' } }) },
        Headers: Object.entries(message.headers).map(([Name, Value]) => ({ Name, Value })),
      },
    },
    EmailTags: sesTags(message.tags),
    ...(config.configurationSet !== undefined && { ConfigurationSetName: config.configurationSet }),
  };
}

/**
 * The message's tags as SES message tags, each value encoded so that SES accepts it and the feedback
 * function reads it back exactly (`encodeTagValue`): Rapport's ids come back on every SES event of the
 * message. A value too long even encoded is left out (its feedback is then dropped as untagged).
 */
export function sesTags(tags: Record<string, string>): Array<{ Name: string; Value: string }> {
  return Object.entries(tags).flatMap(([Name, value]) => {
    const Value = encodeTagValue(value);
    return Value === undefined ? [] : [{ Name, Value }];
  });
}

export function smsRequest(message: SmsMessage, originationIdentity: string | undefined) {
  return {
    DestinationPhoneNumber: message.to,
    MessageBody: message.body,
    MessageType: message.kind === 'transactional' ? ('TRANSACTIONAL' as const) : ('PROMOTIONAL' as const),
    ...(originationIdentity !== undefined && { OriginationIdentity: originationIdentity }),
    Context: message.tags,
  };
}

/** The SendWhatsAppMessage request of a WhatsApp template message: the Meta Cloud API message object, as UTF-8 JSON bytes. */
export function whatsappRequest(message: WhatsAppMessage, config: WhatsAppSenderConfig): SendWhatsAppMessageInput {
  return {
    originationPhoneNumberId: config.originationPhoneNumberId,
    metaApiVersion: config.metaApiVersion,
    message: new TextEncoder().encode(JSON.stringify(metaTemplateMessage(message))),
  };
}

/**
 * SendWhatsAppMessage through `@aws-sdk/client-socialmessaging`, without SDK retries (as SES and SMS: Step Functions
 * retries a refusal around the send's claim). The client is bundled (a plain `import()` esbuild follows: the
 * pinned version, never the runtime's), parsed at cold start but evaluated and made at the first WhatsApp message.
 */
export function socialMessagingSender(): SocialMessagingSender {
  let send: Promise<(input: SendWhatsAppMessageInput) => Promise<{ messageId?: string }>> | undefined;
  const load = async () => {
    const { SocialMessagingClient, SendWhatsAppMessageCommand } = await import('@aws-sdk/client-socialmessaging');
    const client = new SocialMessagingClient(NO_SDK_RETRY);
    return (input: SendWhatsAppMessageInput) => client.send(new SendWhatsAppMessageCommand(input));
  };
  return {
    async sendWhatsAppMessage(input) {
      return (await (send ??= load()))(input);
    },
  };
}

/** Channels in AWS: SES v2 email, End User Messaging SMS and Social (WhatsApp), Standard-Webhooks-signed HTTP POSTs. */
export function awsChannels(config: AwsChannelsConfig, clients: { ses?: SESv2Client; sms?: PinpointSMSVoiceV2Client; whatsapp?: SocialMessagingSender; push?: SnsPublisher; fetch?: typeof fetch } = {}): Channels {
  const ses = clients.ses ?? new SESv2Client(NO_SDK_RETRY);
  const sms = clients.sms ?? new PinpointSMSVoiceV2Client(NO_SDK_RETRY);
  const doFetch = clients.fetch ?? fetch;
  return {
    async email(message) {
      try {
        const out = await ses.send(new SendEmailCommand(sesRequest(message, config)));
        return { providerId: out.MessageId ?? randomUUID() };
      } catch (error) {
        if (isThrottleOrOutage(error)) throw new ChannelUnavailableError(`SES is unavailable: ${(error as Error).message}`, { cause: error });
        throw error;
      }
    },
    async sms(message) {
      try {
        const out = await sms.send(new SendTextMessageCommand(smsRequest(message, config.smsOriginationIdentity)));
        return { providerId: out.MessageId ?? randomUUID() };
      } catch (error) {
        if (isThrottleOrOutage(error)) throw new ChannelUnavailableError(`SMS is unavailable: ${(error as Error).message}`, { cause: error });
        throw error;
      }
    },
    async webhook(message) {
      return postWebhook(doFetch, config.webhooks, message);
    },
    ...(config.whatsapp !== undefined && { whatsapp: whatsappSender(config.whatsapp, clients.whatsapp ?? socialMessagingSender()) }),
    ...(config.push !== undefined && { push: pushSender(config.push, clients.push ?? snsPublisher()) }),
  };
}

/** WhatsApp through End User Messaging Social: a throttle or an outage is a refusal (retried); anything else leaves the outcome unknown. */
function whatsappSender(config: WhatsAppSenderConfig, client: SocialMessagingSender): NonNullable<Channels['whatsapp']> {
  return async (message) => {
    try {
      const out = await client.sendWhatsAppMessage(whatsappRequest(message, config));
      return { providerId: out.messageId ?? randomUUID() };
    } catch (error) {
      if (isThrottleOrOutage(error)) throw new ChannelUnavailableError(`WhatsApp is unavailable: ${(error as Error).message}`, { cause: error });
      throw error;
    }
  };
}

/** POST a signed webhook to a configured target; 5xx/429/network errors are retryable, 4xx are not. */
export async function postWebhook(doFetch: typeof fetch, targets: Record<string, OutboundWebhookTarget>, message: WebhookMessage): Promise<{ providerId: string }> {
  const target = targets[message.target];
  if (!target) throw new Error(`no outbound webhook named "${message.target}" is configured`);
  const timestamp = Math.floor(Date.now() / 1000);
  let response: Response;
  try {
    response = await doFetch(target.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': message.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signWebhook(decodeWebhookSecret(target.secret), message.id, timestamp, message.body),
      },
      body: message.body,
      signal: AbortSignal.timeout(target.timeoutMs ?? 10_000),
    });
  } catch (error) {
    throw new ChannelUnavailableError(`webhook "${message.target}" unreachable: ${(error as Error).message}`, { cause: error });
  }
  if (response.status >= 500 || response.status === 429) throw new ChannelUnavailableError(`webhook "${message.target}" answered ${response.status}`);
  if (response.status >= 400) throw new Error(`webhook "${message.target}" refused the message: ${response.status}`);
  return { providerId: message.id };
}

/**
 * A push through SNS to the customer's endpoint of the configured platform application. It reaches only that
 * application's endpoints (`reaches`: the send gateway skips another address, `invalid-address`, so a fallback takes
 * over); one that comes here all the same is refused before anything is sent. A throttle or an outage is a refusal
 * (retried); a disabled endpoint or anything else leaves the step failed (the outcome is not retried blindly).
 */
function pushSender(config: PushSenderConfig, client: SnsPublisher): NonNullable<Channels['push']> {
  const prefix = endpointArnPrefix(config.platformApplicationArn);
  const reaches = (address: string) => address.startsWith(prefix) && !address.slice(prefix.length).includes('/');
  const send = async (message: PushMessage) => {
    if (!reaches(message.to)) throw new Error(`push: the customer's pushToken is not an endpoint of ${config.platformApplicationArn} (expected ${prefix}<id>)`);
    try {
      const out = await client.publish(pushRequest(message));
      return { providerId: out.MessageId ?? randomUUID() };
    } catch (error) {
      if (isThrottleOrOutage(error)) throw new ChannelUnavailableError(`SNS push is unavailable: ${(error as Error).message}`, { cause: error });
      throw error;
    }
  };
  return Object.assign(send, { reaches });
}

/**
 * SNS Publish through `@aws-sdk/client-sns`, without SDK retries: bundled, evaluated and made at the first push (see
 * `socialMessagingSender`).
 */
export function snsPublisher(): SnsPublisher {
  let publish: Promise<(input: SnsPublishInput) => Promise<{ MessageId?: string }>> | undefined;
  const load = async () => {
    const { SNSClient, PublishCommand } = await import('@aws-sdk/client-sns');
    const client = new SNSClient(NO_SDK_RETRY);
    return (input: SnsPublishInput) => client.send(new PublishCommand(input));
  };
  return {
    async publish(input) {
      return (await (publish ??= load()))(input);
    },
  };
}
