/**
 * The channel registry (shared/channels) is the one list of channels (issue 15): every list that used to be kept by
 * hand (the journey schema's, the step payload contract's, the consent contract's, the templates', the broadcasts',
 * the outbox's, the AWS adapter's, test sends', unsubscribe links') is asserted equal to the registry's ids, through
 * what each one publishes or accepts. And no product file outside the registry spells a channel list out again.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { awsChannels } from '../../../functions/journeys/channels/aws';
import { TestSendRequestSchema } from '../../../functions/journeys/test-send';
import { unsubscribeUrl, verifyUnsubscribe } from '../../../functions/journeys/unsubscribe';
import { Outbox } from '../../../infra/embedded/outbox';
import {
  BROADCAST_CHANNELS,
  CHANNEL_SPECS,
  CONSENT_CHANNELS,
  FALLBACK_CHANNELS,
  MESSAGE_CHANNELS,
  parseTemplateFileName,
  SEND_CHANNELS,
  SendConfigSchema,
  StepCallSchema,
  systemClock,
  TEMPLATE_CHANNELS,
  VARIANT_CHANNELS,
  CHANNEL_ADDRESS_TRAIT,
} from '../../../shared';
import { parseBroadcastRates } from '../../../shared/broadcasts';

const ROOT = path.resolve(__dirname, '../../..');
const json = (file: string) => JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as Record<string, unknown>;
const at = (value: unknown, ...keys: Array<string | number>): unknown => keys.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], value);
const ids = (keep: (s: (typeof CHANNEL_SPECS)[number]) => boolean) => CHANNEL_SPECS.filter(keep).map((s) => s.id);

describe('the channel registry', () => {
  it('derives its lists from the specs', () => {
    expect(CONSENT_CHANNELS).toEqual(ids((s) => s.consent));
    expect(SEND_CHANNELS).toEqual(ids((s) => s.sends));
    expect(MESSAGE_CHANNELS).toEqual(ids((s) => s.sends && s.audience === 'customer'));
    expect(FALLBACK_CHANNELS).toEqual(ids((s) => s.fallback));
    expect(VARIANT_CHANNELS).toEqual(ids((s) => s.variants));
    expect(BROADCAST_CHANNELS).toEqual(ids((s) => s.broadcasts));
    expect(TEMPLATE_CHANNELS).toEqual(ids((s) => 'template' in s));
    expect(Object.keys(CHANNEL_ADDRESS_TRAIT)).toEqual([...CONSENT_CHANNELS]);
  });

  it('is what the journey schema (journey.schema.json) accepts on a send, its fallback and its variants, and for an audience consent', () => {
    const schema = json('workflows/journeys/journey.schema.json');
    const send = at(schema, 'properties', 'steps', 'items', 'anyOf', 0, 'properties', 'send', 'properties');
    expect(at(send, 'channel', 'enum')).toEqual([...SEND_CHANNELS]);
    expect(at(send, 'fallback', 'enum')).toEqual([...FALLBACK_CHANNELS]);
    expect(at(send, 'variants', 'items', 'properties', 'channel', 'enum')).toEqual([...VARIANT_CHANNELS]);
    expect(at(schema, 'properties', 'audience', 'properties', 'consent', 'enum')).toEqual([...CONSENT_CHANNELS]);
  });

  it('is what the step payload contract (compiler to step runner) accepts', () => {
    const send = SendConfigSchema.shape;
    expect(StepCallSchema.options.find((o) => o.shape.action.value === 'send')!.shape.config).toBe(SendConfigSchema);
    expect(send.channel.options).toEqual([...SEND_CHANNELS]);
    expect(send.fallback.unwrap().options).toEqual([...FALLBACK_CHANNELS]);
    expect(send.variants.unwrap().element.shape.channel.options).toEqual([...VARIANT_CHANNELS]);
  });

  it('is what the consent events (known-event-properties.schema.json) name', () => {
    const events = json('shared/contract/schema/known-event-properties.schema.json');
    expect(at(events, 'properties', 'Unsubscribed', 'properties', 'channel', 'enum')).toEqual([...CONSENT_CHANNELS, 'all']);
    for (const event of ['Subscribed', 'Message Bounced', 'Message Complained']) expect(at(events, 'properties', event, 'properties', 'channel', 'enum')).toEqual([...CONSENT_CHANNELS]);
  });

  it('is what a broadcast (broadcast.schema.json) and the broadcast rates accept', () => {
    expect(at(json('shared/contract/schema/broadcast.schema.json'), 'properties', 'send', 'properties', 'channel', 'enum')).toEqual([...BROADCAST_CHANNELS]);
    expect(Object.keys(parseBroadcastRates(Object.fromEntries(BROADCAST_CHANNELS.map((c) => [c, 1])), 'rates'))).toEqual([...BROADCAST_CHANNELS]);
    const other = CHANNEL_SPECS.find((s) => !s.broadcasts)!.id;
    expect(() => parseBroadcastRates({ [other]: 1 }, 'rates')).toThrow(`rates.${other}: expected a channel a broadcast sends on (${BROADCAST_CHANNELS.join(', ')})`);
  });

  it('is what template file names may end in', () => {
    for (const channel of CHANNEL_SPECS.map((s) => s.id)) {
      expect(parseTemplateFileName(`welcome.${channel}.liquid`)?.channel, channel).toBe((TEMPLATE_CHANNELS as readonly string[]).includes(channel) ? channel : undefined);
    }
  });

  it('is what the embedded outbox and the AWS adapter send on, and what test sends and unsubscribe links take', () => {
    const outbox = new Outbox(systemClock);
    expect(SEND_CHANNELS.filter((c) => typeof (outbox as unknown as Record<string, unknown>)[c] === 'function')).toEqual([...SEND_CHANNELS]);
    expect(Object.keys(outbox.renderedFor('c1')).sort()).toEqual([...SEND_CHANNELS].sort());
    // Every sender, the optional ones (WhatsApp) when configured.
    const aws = awsChannels({ fromAddress: 'a@example.com', webhooks: {}, whatsapp: { originationPhoneNumberId: 'phone-number-id-1', metaApiVersion: 'v20.0' }, push: { platformApplicationArn: 'arn:aws:sns:eu-west-1:123456789012:app/GCM/a' } });
    expect(Object.keys(aws).sort()).toEqual([...SEND_CHANNELS].sort());
    expect(TestSendRequestSchema.shape.channel.unwrap().options).toEqual([...MESSAGE_CHANNELS]);
    for (const channel of CONSENT_CHANNELS) {
      const link = new URL(unsubscribeUrl('https://r.example', 'k', 'c1', channel));
      expect(verifyUnsubscribe('k', link.searchParams)).toEqual({ customerId: 'c1', channel });
    }
  });

  it('is the only place a list of channels is spelled out in product code', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => {
        const full = path.join(dir, name);
        if (statSync(full).isDirectory()) return name === 'node_modules' || name === 'cdk.out' ? [] : files(full);
        return full.endsWith('.ts') ? [full] : [];
      });
    // Two or more channel names side by side in quotes: a list (an enum, an array, a union of literals).
    const names = CHANNEL_SPECS.map((s) => s.id).join('|');
    const list = new RegExp(`'(?:${names})'\\s*(?:,|\\|)\\s*'(?:${names})'`);
    const offenders = ['functions', 'shared', 'workflows', 'infra']
      .flatMap((dir) => files(path.join(ROOT, dir)))
      .filter((file) => !file.includes(`${path.sep}shared${path.sep}channels${path.sep}`))
      .filter((file) => list.test(readFileSync(file, 'utf8')))
      .map((file) => path.relative(ROOT, file));
    expect(offenders).toEqual([]);
  });
});
