/**
 * The channel registry: the one list of channels, and every list Rapport derives from it. A channel is its module
 * (`./<channel>.ts`: what it is, as data, and the message its senders take) and its line here; its senders are the
 * AWS adapter (functions/journeys/channels/) and the embedded outbox (infra/embedded/outbox.ts).
 */
import { email, type EmailMessage } from './email';
import { push, pushMessage, PUSH_PARTS, type PushMessage } from './push';
import { sms, type SmsMessage } from './sms';
import type { ChannelSpec } from './types';
import { webhook, type WebhookMessage } from './webhook';
import { whatsapp, whatsAppMessage, WHATSAPP_PARTS, type WhatsAppMessage } from './whatsapp';
import type { PartsFormat } from '../templates/parts';

export type { ChannelSpec, TemplateFormat } from './types';
export { E164_PHONE } from './types';
export type { EmailMessage } from './email';
export type { SmsMessage } from './sms';
export type { WebhookMessage } from './webhook';
export { metaTemplateMessage, type WhatsAppMessage } from './whatsapp';
export { endpointArnPrefix, snsPushMessage, type PushMessage } from './push';

/** Every channel, in the order lists and messages name them. */
export const CHANNEL_SPECS = [email, sms, whatsapp, webhook, push] as const satisfies readonly ChannelSpec[];

/** The message each channel's sender takes. */
export interface ChannelMessages {
  email: EmailMessage;
  sms: SmsMessage;
  webhook: WebhookMessage;
  whatsapp: WhatsAppMessage;
  push: PushMessage;
}

type Spec = (typeof CHANNEL_SPECS)[number];
export type ChannelId = Spec['id'];
type IdsWhere<F> = Extract<Spec, F>['id'];
type NonEmpty<T> = readonly [T, ...T[]];

function idsWhere<F>(keep: (spec: Spec) => boolean): NonEmpty<IdsWhere<F>> {
  return CHANNEL_SPECS.filter(keep).map((s) => s.id) as unknown as NonEmpty<IdsWhere<F>>;
}

/** The channels the profile keeps consent and suppression for (the consent events' `channel`). */
export const CONSENT_CHANNELS = idsWhere<{ consent: true }>((s) => s.consent);
export type ConsentChannel = IdsWhere<{ consent: true }>;
/** The consent channels every profile has a record for (new profiles start with `unknown` on each). */
export const PROFILE_CONSENT_CHANNELS = idsWhere<{ consent: true; inEveryProfile: true }>((s) => s.consent && 'inEveryProfile' in s && s.inEveryProfile);
export type ProfileConsentChannel = IdsWhere<{ consent: true; inEveryProfile: true }>;
/** The channels a journey's send step may use. */
export const SEND_CHANNELS = idsWhere<{ sends: true }>((s) => s.sends);
export type SendChannel = IdsWhere<{ sends: true }>;
/** The channels a send reaches a customer on (their address, consent, policy): what the send gateway sends. */
export const MESSAGE_CHANNELS = idsWhere<{ sends: true; audience: 'customer' }>((s) => s.sends && s.audience === 'customer');
export type MessageChannel = IdsWhere<{ sends: true; audience: 'customer' }>;
/** The channels a send's `fallback` may name (and that a send with a fallback may be on). */
export const FALLBACK_CHANNELS = idsWhere<{ fallback: true }>((s) => s.fallback);
export type FallbackChannel = IdsWhere<{ fallback: true }>;
/** The channels an experiment's variant may name. */
export const VARIANT_CHANNELS = idsWhere<{ variants: true }>((s) => s.variants);
export type VariantChannel = IdsWhere<{ variants: true }>;
/** The channels a broadcast may send on. */
export const BROADCAST_CHANNELS = idsWhere<{ broadcasts: true }>((s) => s.broadcasts);
export type BroadcastChannel = IdsWhere<{ broadcasts: true }>;
/** The channels with template files (`<template>[.<locale>].<channel>.liquid`). */
export const TEMPLATE_CHANNELS = idsWhere<{ template: object }>((s) => 'template' in s);
export type TemplateChannel = IdsWhere<{ template: object }>;
/** The channels whose template is one text (a message body, a JSON body): `TemplateRenderer.text` renders them. */
export type TextTemplateChannel = IdsWhere<{ template: { format: 'text' | 'json' } }>;
/** The channels whose template is header parts and a body (`parts`): `TemplateRenderer.parts` renders them. */
export type PartsTemplateChannel = IdsWhere<{ template: { format: 'parts' } }>;
/** The channels whose templates have locale variants. */
export const LOCALE_CHANNELS = idsWhere<{ template: { locales: true } }>((s) => 'template' in s && s.template.locales);
/** The senders every engine provides; the others are optional (refused at send time where not configured). */
export type RequiredSenderChannel = IdsWhere<{ sender: 'required'; sends: true }>;

const BY_ID: ReadonlyMap<string, Spec> = new Map(CHANNEL_SPECS.map((s) => [s.id, s]));

/** The spec of channel `id`. */
export function channelSpec<C extends ChannelId>(id: C): Extract<Spec, { id: C }> {
  return BY_ID.get(id) as Extract<Spec, { id: C }>;
}

export const isChannelId = (value: unknown): value is ChannelId => typeof value === 'string' && BY_ID.has(value);

/** The trait that holds a customer's address on each consent channel. */
export const CHANNEL_ADDRESS_TRAIT = Object.fromEntries(CHANNEL_SPECS.filter((s) => s.consent).map((s) => [s.id, (s as { addressTrait: string }).addressTrait])) as Readonly<Record<ConsentChannel, string>>;

/** `a, b or c` (with `quote`: `"a", "b" or "c"`): how messages list the channels a field takes. */
export function orList(ids: readonly string[], quote = false): string {
  const names = quote ? ids.map((id) => `"${id}"`) : [...ids];
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
}

/** Whether `value` names a channel a send reaches a customer on (`MESSAGE_CHANNELS`). */
export const isMessageChannel = (value: unknown): value is MessageChannel => (MESSAGE_CHANNELS as readonly unknown[]).includes(value);

/** Each `parts` channel's template parts, and the message its rendered parts make. */
export const CHANNEL_PARTS: { readonly [C in PartsTemplateChannel]: { readonly format: PartsFormat; readonly message: (parts: Readonly<Record<string, string>>, base: { to: string; kind: 'marketing' | 'transactional'; tags: Record<string, string> }) => ChannelMessages[C] } } = {
  whatsapp: { format: WHATSAPP_PARTS, message: whatsAppMessage },
  push: { format: PUSH_PARTS, message: pushMessage },
};

/** What a customer's address on a channel must look like, for the channels that say. */
export function addressFormat(channel: ChannelId): { regex: RegExp; expected: string } | undefined {
  const spec: ChannelSpec = channelSpec(channel);
  return spec.address;
}

/** The channels whose AWS sender needs a deployment setting, with it. */
export const DEPLOYED_CHANNELS = CHANNEL_SPECS.flatMap((s): Array<{ id: ChannelId; label: string; context: string; hint: string }> => {
  const spec: ChannelSpec = s;
  return spec.deployment ? [{ id: s.id, label: s.label, ...spec.deployment }] : [];
});
