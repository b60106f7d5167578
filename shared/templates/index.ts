/**
 * The message template format, shared by the journey compiler (which checks
 * templates) and the step runtime (which renders them). Files in
 * workflows/templates are named `<template>.<channel>.liquid`, and a locale
 * variant `<template>.<locale>.<channel>.liquid` (`welcome.fr.email.liquid`,
 * `welcome.zh-CN.email.liquid`; see `localeChain` for how one is chosen):
 * - email: first line `Subject: <liquid>`, a blank line, the text body, and
 *   optionally a line `--- html ---` followed by the HTML body;
 * - sms: the whole file is the body;
 * - webhook: the whole file renders to the JSON request body.
 * The channels with templates, and each one's format, are the channel registry's (shared/channels).
 */
import { createHash } from 'node:crypto';
import { TEMPLATE_CHANNELS, type TemplateChannel } from '../channels';

export { TEMPLATE_CHANNELS, type TemplateChannel };
/** `<template>[.<locale>].<channel>.liquid`: groups template, locale (optional, a BCP 47-like tag) and channel. */
export const TEMPLATE_FILE = new RegExp(`^([a-z][a-z0-9]*(?:-[a-z0-9]+)*)(?:\\.([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*))?\\.(${TEMPLATE_CHANNELS.join('|')})\\.liquid$`);
export const HTML_SEPARATOR = '--- html ---';
const SUBJECT_LINE = /^Subject:[ \t]*(.*)$/;

export interface EmailTemplate {
  subject: string;
  text: string;
  html?: string;
}

/** The key of a template's source: `<template>.<channel>`, or `<template>.<locale>.<channel>` for a locale variant (locale normalised). */
export function templateKey(template: string, channel: TemplateChannel, locale?: string): string {
  return locale === undefined ? `${template}.${channel}` : `${template}.${normalizeLocale(locale)}.${channel}`;
}

/** A template file's name, split: undefined when it is not `<template>[.<locale>].<channel>.liquid`. */
export function parseTemplateFileName(name: string): { template: string; locale?: string; channel: TemplateChannel } | undefined {
  const m = TEMPLATE_FILE.exec(name);
  if (!m) return undefined;
  return { template: m[1]!, ...(m[2] !== undefined && { locale: normalizeLocale(m[2]) }), channel: m[3] as TemplateChannel };
}

/**
 * A locale tag as templates are keyed by it: lower case, `_` read as `-` (`zh_TW` from a CRM is `zh-tw`),
 * surrounding space dropped. Tags are matched case-insensitively (BCP 47 says case carries no meaning).
 */
export function normalizeLocale(locale: string): string {
  return locale.trim().replace(/_/g, '-').toLowerCase();
}

/**
 * The locale variants to try for a customer's locale, most specific first: `zh-Hant-TW` gives
 * `zh-hant-tw`, `zh-hant`, `zh` (then the default file, which is not in the list). Empty for no locale.
 */
export function localeChain(locale: unknown): string[] {
  if (typeof locale !== 'string') return [];
  const tag = normalizeLocale(locale);
  if (!/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(tag) || tag.length > 35) return [];
  const parts = tag.split('-');
  return parts.map((_, i) => parts.slice(0, parts.length - i).join('-'));
}

/**
 * The variant of `template` on `channel` a customer with `locale` gets: the first of `localeChain(locale)`
 * that `has`, else undefined (the default file).
 */
export function chooseLocale(has: (key: string) => boolean, template: string, channel: TemplateChannel, locale: unknown): string | undefined {
  return localeChain(locale).find((l) => has(templateKey(template, channel, l)));
}

/** Split an email template into its Liquid parts; undefined when the first line is not `Subject: ...`. */
export function parseEmailTemplate(source: string): EmailTemplate | undefined {
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  const subject = SUBJECT_LINE.exec(lines[0] ?? '');
  if (!subject) return undefined;
  const body = lines.slice(lines[1]?.trim() === '' ? 2 : 1);
  const separator = body.findIndex((line) => line.trim() === HTML_SEPARATOR);
  const text = (separator === -1 ? body : body.slice(0, separator)).join('\n').trim();
  const html = separator === -1 ? undefined : body.slice(separator + 1).join('\n').trim();
  return { subject: subject[1]!.trim(), text, ...(html !== undefined && { html }) };
}
export { customerLocale, templateProfile, TEMPLATE_PROFILE_FIELDS, type TemplateProfileField } from './context';

/**
 * The release of a set of template sources (`templateKey` → text): a short hash of every key and text, in key order.
 * The compiler writes a journey's (the sources of the templates it renders) into each step payload, so a run renders
 * with the files it started with; a kept release folder's sources hash to the same value, whatever line endings the
 * checkout that deploys it has.
 */
export function templateRelease(sources: Readonly<Record<string, string>>): string {
  const hash = createHash('sha256');
  // Line endings as git normalises them: a checkout with CRLF (Git for Windows' `core.autocrlf`) is the same release.
  for (const key of Object.keys(sources).sort()) hash.update(`${key}\n${sources[key]!.replace(/\r\n?/g, '\n')}\n\0`);
  return hash.digest('hex').slice(0, 16);
}
