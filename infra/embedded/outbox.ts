import { join } from 'node:path';
import { SES_DETAIL_TYPES, SES_EVENT_SOURCE, type SesEventType } from '../../functions/feedback/ses-event';
import { postWebhook, sesTags, type OutboundWebhookTarget } from '../../functions/journeys/channels/aws';
import type { Channels, EmailMessage, SmsMessage, WebhookMessage } from '../../functions/journeys/channels/types';
import { MESSAGE_CHANNELS, type PushMessage, type WhatsAppMessage, type BusEntry, type ChannelMessages, type Clock, type MessageChannel, type SendChannel } from '../../shared';
import { idNumber, NdjsonLog } from './ndjson-log';

/**
 * `renderedFor`: the customer whose data a test send was rendered with (`POST /v1/admin/send-test {customerId}`),
 * kept on the entry (not as a provider tag: feedback on a test credits no one) so that erasure forgets it with them.
 */
export type OutboxEntry =
  /** A message to a customer, on each customer channel of the registry (shared/channels). */
  | { [C in MessageChannel]: { channel: C; outboxId: string; at: string; renderedFor?: string } & ChannelMessages[C] }[MessageChannel]
  | ({ channel: 'webhook'; outboxId: string; at: string; delivered: boolean; status?: string } & WebhookMessage);

type WithoutStamp<T> = T extends unknown ? Omit<T, 'outboxId' | 'at'> : never;

/**
 * The embedded engine's channels: email and SMS land in a local outbox instead
 * of SES / End User Messaging; webhooks are really posted to configured URLs
 * (or recorded when none is configured). `fail` lets tests take a channel down.
 * With a data folder, the messages are kept in `<dataDir>/outbox.ndjson` and
 * reloaded at start; outbox ids keep increasing across restarts.
 */
export class Outbox implements Channels {
  readonly entries: OutboxEntry[] = [];
  fail: Partial<Record<SendChannel, Error>> = {};
  readonly #file: NdjsonLog<OutboxEntry>;

  constructor(
    private readonly clock: Clock,
    private readonly webhooks: Record<string, OutboundWebhookTarget> = {},
    dataDir?: string,
  ) {
    this.#file = new NdjsonLog<OutboxEntry>(dataDir ? join(dataDir, 'outbox.ndjson') : undefined, (e) => idNumber(e.outboxId));
    for (const entry of this.#file.load()) this.entries.push(entry);
  }

  async email(message: EmailMessage) {
    return this.#message('email', message);
  }

  async sms(message: SmsMessage) {
    return this.#message('sms', message);
  }

  async whatsapp(message: WhatsAppMessage) {
    return this.#message('whatsapp', message);
  }

  async push(message: PushMessage) {
    return this.#message('push', message);
  }

  async webhook(message: WebhookMessage) {
    if (this.fail.webhook) throw this.fail.webhook;
    if (this.webhooks[message.target]) {
      await postWebhook(fetch, this.webhooks, message);
      return this.#add({ channel: 'webhook', delivered: true, ...message });
    }
    return this.#add({ channel: 'webhook', delivered: false, status: 'recorded (no URL configured)', ...message });
  }

  /** The channels of a test send rendered with customer `customerId`'s data: its entries say so (`renderedFor`). */
  renderedFor(customerId: string): Channels {
    const senders = Object.fromEntries(MESSAGE_CHANNELS.map((channel) => [channel, (message: ChannelMessages[typeof channel]) => this.#message(channel, message, customerId)]));
    return { ...senders, webhook: (message: WebhookMessage) => this.webhook(message) } as Channels;
  }

  /** A message to a customer on `channel`, into the outbox (unless a test took the channel down). */
  async #message<C extends MessageChannel>(channel: C, message: ChannelMessages[C], renderedFor?: string): Promise<{ providerId: string }> {
    const down = this.fail[channel];
    if (down) throw down;
    return this.#add({ channel, ...message, ...(renderedFor !== undefined && { renderedFor }) } as WithoutStamp<OutboxEntry>);
  }

  /** Remove a customer's messages (erasure), from memory and from the outbox log file. */
  forget(predicate: (entry: OutboxEntry) => boolean): void {
    const kept = this.entries.filter((e) => !predicate(e));
    if (kept.length === this.entries.length) return;
    this.entries.splice(0, this.entries.length, ...kept);
    this.#file.rewrite(kept);
  }

  #add(entry: WithoutStamp<OutboxEntry>): { providerId: string } {
    const full = { ...entry, outboxId: `outbox-${this.#file.next()}`, at: this.clock.now().toISOString() } as OutboxEntry;
    this.entries.push(full);
    this.#file.append(full);
    return { providerId: full.outboxId };
  }
}

/** The feedback the outbox can simulate for an email (`POST /v1/outbox/{id}/feedback`). */
export const SIMULATED_FEEDBACK = ['bounce', 'complaint', 'delivery', 'open', 'click', 'reject', 'deliveryDelay'] as const;
export type SimulatedFeedbackType = (typeof SIMULATED_FEEDBACK)[number];
export interface SimulatedFeedback {
  type: SimulatedFeedbackType;
  /** Bounces: `Permanent` (hard, the default), `Transient` or `Undetermined` (soft). */
  bounceType?: 'Permanent' | 'Transient' | 'Undetermined';
  /** Clicks: the link clicked. @default https://example.com/ */
  link?: string;
}

const EVENT_TYPE: Record<SimulatedFeedbackType, SesEventType> = {
  bounce: 'Bounce',
  complaint: 'Complaint',
  delivery: 'Delivery',
  open: 'Open',
  click: 'Click',
  reject: 'Reject',
  deliveryDelay: 'DeliveryDelay',
};

/** The account and configuration set the embedded engine's simulated SES events name. */
export const SIMULATED_SES = { account: '000000000000', region: 'local', configurationSet: 'rapport-embedded', from: 'rapport@localhost' } as const;

/**
 * The EventBridge entry SES would publish for this feedback on an outbox email, through a configuration set with
 * an EventBridge destination: `source` aws.ses, the documented `detail-type` and `detail` (`eventType`, `mail` with
 * the message's tags as SES sends them, and the object of the type). The engine puts it on its bus, where the same
 * rule and function as in AWS map it (one code path). `feedbackId`s are derived from the message and `n`, so the
 * same call twice is one SES event delivered twice.
 */
export function sesFeedbackEntry(email: Extract<OutboxEntry, { channel: 'email' }>, feedback: SimulatedFeedback, now: Date, n = 0): BusEntry {
  const eventType = EVENT_TYPE[feedback.type];
  const timestamp = now.toISOString();
  const feedbackId = `${email.outboxId}-${feedback.type}-${n}-000000`;
  const recipient = { emailAddress: email.to };
  const tags: Record<string, string[]> = {
    'ses:configuration-set': [SIMULATED_SES.configurationSet],
    'ses:source-ip': ['127.0.0.1'],
    'ses:from-domain': [SIMULATED_SES.from.split('@')[1]!],
    'ses:caller-identity': ['rapport-steps'],
    ...Object.fromEntries(sesTags(email.tags).map(({ Name, Value }) => [Name, [Value]])),
  };
  const mail = {
    timestamp: email.at,
    source: SIMULATED_SES.from,
    sourceArn: `arn:aws:ses:${SIMULATED_SES.region}:${SIMULATED_SES.account}:identity/${SIMULATED_SES.from}`,
    sendingAccountId: SIMULATED_SES.account,
    messageId: email.outboxId,
    destination: [email.to],
    headersTruncated: false,
    headers: [
      { name: 'From', value: SIMULATED_SES.from },
      { name: 'To', value: email.to },
      { name: 'Subject', value: email.subject },
      ...Object.entries(email.headers).map(([name, value]) => ({ name, value })),
    ],
    commonHeaders: { from: [SIMULATED_SES.from], to: [email.to], messageId: email.outboxId, subject: email.subject },
    tags,
  };
  const detailOf: Record<SesEventType, Record<string, unknown>> = {
    Bounce: {
      bounce: {
        bounceType: feedback.bounceType ?? 'Permanent',
        bounceSubType: feedback.bounceType === 'Transient' ? 'MailboxFull' : 'General',
        bouncedRecipients: [{ ...recipient, action: 'failed', status: feedback.bounceType === 'Transient' ? '4.2.2' : '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' }],
        timestamp,
        feedbackId,
        reportingMTA: 'dsn; localhost',
      },
    },
    Complaint: { complaint: { feedbackId, complaintSubType: null, complainedRecipients: [recipient], timestamp, userAgent: 'Rapport embedded engine', complaintFeedbackType: 'abuse', arrivalDate: timestamp } },
    Delivery: { delivery: { timestamp, processingTimeMillis: 0, recipients: [email.to], smtpResponse: '250 2.6.0 Message received', reportingMTA: 'localhost', remoteMtaIp: '127.0.0.1' } },
    Open: { open: { ipAddress: '127.0.0.1', timestamp, userAgent: 'Rapport embedded engine' } },
    Click: { click: { ipAddress: '127.0.0.1', link: feedback.link ?? 'https://example.com/', linkTags: {}, timestamp, userAgent: 'Rapport embedded engine' } },
    Reject: { reject: { reason: 'Bad content' } },
    DeliveryDelay: { deliveryDelay: { timestamp, delayType: 'MailboxFull', expirationTime: new Date(now.getTime() + 86_400_000).toISOString(), delayedRecipients: [{ ...recipient, status: '4.2.2', diagnosticCode: 'smtp; 452 4.2.2 mailbox full' }] } },
  };
  return {
    Source: SES_EVENT_SOURCE,
    DetailType: SES_DETAIL_TYPES[eventType],
    Detail: JSON.stringify({ eventType, mail, ...detailOf[eventType] }),
    Time: now,
    Resources: [`arn:aws:ses:${SIMULATED_SES.region}:${SIMULATED_SES.account}:configuration-set/${SIMULATED_SES.configurationSet}`],
  };
}
