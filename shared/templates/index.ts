/**
 * The message template format, shared by the journey compiler (which checks
 * templates) and the step runtime (which renders them). Files in
 * workflows/templates are named `<template>.<channel>.liquid`:
 * - email: first line `Subject: <liquid>`, a blank line, the text body, and
 *   optionally a line `--- html ---` followed by the HTML body;
 * - sms: the whole file is the body;
 * - webhook: the whole file renders to the JSON request body.
 */
export const TEMPLATE_CHANNELS = ['email', 'sms', 'webhook'] as const;
export type TemplateChannel = (typeof TEMPLATE_CHANNELS)[number];
export const TEMPLATE_FILE = /^([a-z][a-z0-9]*(?:-[a-z0-9]+)*)\.(email|sms|webhook)\.liquid$/;
export const HTML_SEPARATOR = '--- html ---';
const SUBJECT_LINE = /^Subject:[ \t]*(.*)$/;

export interface EmailTemplate {
  subject: string;
  text: string;
  html?: string;
}

export function templateKey(template: string, channel: TemplateChannel): string {
  return `${template}.${channel}`;
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
export { templateProfile, TEMPLATE_PROFILE_FIELDS, type TemplateProfileField } from './context';
