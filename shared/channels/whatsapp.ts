import type { PartsFormat } from '../templates/parts';
import { E164_PHONE, type ChannelSpec } from './types';

/**
 * WhatsApp: template messages through AWS End User Messaging Social (SendWhatsAppMessage) in AWS, the outbox in the
 * embedded engine. Address: the profile's `phone` trait in E.164 (`+447700900123`), the number WhatsApp knows the
 * customer by; consent is WhatsApp's own (`consent.whatsapp`), apart from SMS's. Marketing WhatsApp messages have
 * consent, topics, the frequency cap and quiet hours as SMS has. Its AWS sender needs a deployment setting (the
 * origination phone number id).
 *
 * `<template>.whatsapp.liquid` names an approved WhatsApp business template and fills its body parameters:
 * ```liquid
 * Template: order_shipped
 * Language: en_US
 *
 * {{ profile.traits.firstName }}
 * {{ trigger.orderId }}
 * ```
 * Each line of the body is one parameter, in order ({{1}}, {{2}} of the business template).
 */
export const whatsapp = {
  id: 'whatsapp',
  label: 'WhatsApp',
  audience: 'customer',
  consent: true,
  inEveryProfile: true,
  addressTrait: 'phone',
  address: E164_PHONE,
  sends: true,
  // A broadcast may send on it where the deployment gives its setting (its grant follows the setting, not the journeys).
  broadcasts: true,
  fallback: true,
  variants: true,
  template: { format: 'parts', locales: true },
  sender: 'optional',
  deployment: {
    context: 'whatsappPhoneNumberId',
    hint: 'npx cdk deploy -c whatsappPhoneNumberId=phone-number-id-<32 hex digits> (or "whatsappPhoneNumberId" under context in cdk.json, or the whatsapp prop of the Rapport construct)',
  },
} as const satisfies ChannelSpec;

/** The parts of a WhatsApp template file. */
export const WHATSAPP_PARTS: PartsFormat = {
  headers: [
    { key: 'template', header: 'Template', required: true, describe: 'the name of an approved WhatsApp business template, like order_shipped', pattern: { regex: /^[a-z0-9_]{1,512}$/, expected: 'a WhatsApp template name (lowercase letters, digits and "_"), like order_shipped' } },
    { key: 'language', header: 'Language', required: true, describe: "the business template's language code, like en_US", pattern: { regex: /^[a-z]{2,3}(?:_[A-Z]{2})?$/, expected: 'a WhatsApp language code, like en or en_US' } },
  ],
  body: { key: 'parameters', required: false, describe: "template's body parameters, one per line" },
};

/** A rendered WhatsApp template message, ready for a provider. */
export interface WhatsAppMessage {
  to: string;
  /** The approved business template's name and language. */
  template: string;
  language: string;
  /** Its body parameters, in order. */
  parameters: string[];
  kind: 'marketing' | 'transactional';
  tags: Record<string, string>;
}

/** The message from its rendered parts. */
export function whatsAppMessage(parts: Readonly<Record<string, string>>, base: Pick<WhatsAppMessage, 'to' | 'kind' | 'tags'>): WhatsAppMessage {
  const parameters = (parts.parameters ?? '').split('\n').map((line) => line.trim()).filter((line) => line !== '');
  return { to: base.to, template: parts.template!.trim(), language: parts.language!.trim(), parameters, kind: base.kind, tags: base.tags };
}

/**
 * The WhatsApp Cloud API message object (Meta's `messages` request body) of a template message: what
 * SendWhatsAppMessage takes, as bytes, in its `message` field.
 */
export function metaTemplateMessage(message: WhatsAppMessage): Record<string, unknown> {
  return {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    to: message.to,
    type: 'template',
    template: {
      name: message.template,
      language: { code: message.language },
      ...(message.parameters.length > 0 && { components: [{ type: 'body', parameters: message.parameters.map((text) => ({ type: 'text', text })) }] }),
    },
  };
}
