import { join } from 'node:path';
import { postWebhook, type OutboundWebhookTarget } from '../../functions/journeys/channels/aws';
import type { Channels, EmailMessage, SmsMessage, WebhookMessage } from '../../functions/journeys/channels/types';
import type { Clock } from '../../shared';
import { idNumber, NdjsonLog } from './ndjson-log';

export type OutboxEntry =
  | ({ channel: 'email'; outboxId: string; at: string } & EmailMessage)
  | ({ channel: 'sms'; outboxId: string; at: string } & SmsMessage)
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
  fail: Partial<Record<'email' | 'sms' | 'webhook', Error>> = {};
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
    if (this.fail.email) throw this.fail.email;
    return this.#add({ channel: 'email', ...message });
  }

  async sms(message: SmsMessage) {
    if (this.fail.sms) throw this.fail.sms;
    return this.#add({ channel: 'sms', ...message });
  }

  async webhook(message: WebhookMessage) {
    if (this.fail.webhook) throw this.fail.webhook;
    if (this.webhooks[message.target]) {
      await postWebhook(fetch, this.webhooks, message);
      return this.#add({ channel: 'webhook', delivered: true, ...message });
    }
    return this.#add({ channel: 'webhook', delivered: false, status: 'recorded (no URL configured)', ...message });
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
