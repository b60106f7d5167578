import { sourceFileNames } from '../../shared/source-files';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Liquid } from 'liquidjs';
import { CHANNEL_PARTS, chooseLocale, parseEmailTemplate, parseTemplateFileName, templateKey, type TemplateChannel } from '../../shared';
import { parsePartsTemplate } from '../../shared/templates/parts';
import { jsonBodyLiquid } from '../../shared/templates/json-body';
import { TemplateRenderError, type TemplateRenderer } from './steps';

/**
 * Read every `<template>[.<locale>].<channel>.liquid` in a folder into a source map keyed `<template>.<channel>`
 * (a locale variant: `<template>.<locale>.<channel>`, the locale in lower case, `templateKey`).
 */
export function readTemplates(dir: string): Record<string, string> {
  const sources: Record<string, string> = {};
  for (const file of sourceFileNames(dir)) {
    const name = parseTemplateFileName(file);
    if (name) sources[templateKey(name.template, name.channel, name.locale)] = readFileSync(join(dir, file), 'utf8');
  }
  return sources;
}

/**
 * Every file of template `name` (each channel and locale) among `sources` (`readTemplates`' keys and contents) as one
 * text: equal on two sides when none of its files changed (`rapport plan`, a reload's plan).
 */
export function templateFilesText(sources: Readonly<Record<string, string>>, name: string): string {
  return Object.keys(sources)
    .filter((key) => key.startsWith(`${name}.`))
    .sort()
    .map((key) => `${key}\n${sources[key]}`)
    .join('\n\0');
}

/**
 * Liquid templates, rendered strictly: an unknown filter or a missing template
 * fails the step with a clear error. Rendering is all-or-nothing: a message is
 * only sent once every part rendered.
 *
 * The HTML part of an email escapes every `{{ output }}` (`outputEscape: 'escape'`),
 * so a trait or property a sender controls cannot add markup; `{{ x | raw }}` is
 * the only way to output HTML as it is. A webhook body (JSON) JSON-escapes every
 * output the same way (`jsonBodyLiquid`: `| json` writes a JSON value). Subjects,
 * text parts and SMS are plain text and are rendered as written.
 */
export function liquidTemplates(sources: Readonly<Record<string, string>>): TemplateRenderer {
  const liquid = new Liquid({ strictFilters: true, ownPropertyOnly: true });
  const htmlLiquid = new Liquid({ strictFilters: true, ownPropertyOnly: true, outputEscape: 'escape' });
  const jsonLiquid = jsonBodyLiquid({ strictFilters: true, ownPropertyOnly: true });
  const source = (template: string, channel: TemplateChannel, locale?: string) => {
    const s = sources[templateKey(template, channel, locale)];
    if (s === undefined) throw new TemplateRenderError(`no template "${template}" for channel ${channel} (expected workflows/templates/${templateKey(template, channel, locale)}.liquid)`);
    return s;
  };
  return {
    localeFor(template, channel, locale) {
      return chooseLocale((key) => Object.hasOwn(sources, key), template, channel, locale);
    },
    async email(template, data, locale) {
      const parsed = parseEmailTemplate(source(template, 'email', locale));
      if (!parsed) throw new TemplateRenderError(`template "${templateKey(template, 'email', locale)}" must start with a "Subject: ..." line`);
      const [subject, text, html] = await Promise.all([
        liquid.parseAndRender(parsed.subject, data),
        liquid.parseAndRender(parsed.text, data),
        parsed.html === undefined ? undefined : htmlLiquid.parseAndRender(parsed.html, data),
      ]);
      return { subject: String(subject).trim(), text: String(text), ...(html !== undefined && { html: String(html) }) };
    },
    async text(template, channel, data, locale) {
      return String(await (channel === 'webhook' ? jsonLiquid : liquid).parseAndRender(source(template, channel, locale), data));
    },
    async parts(template, channel, data, locale) {
      const { format } = CHANNEL_PARTS[channel];
      const parsed = parsePartsTemplate(source(template, channel, locale), format);
      if ('problems' in parsed) throw new TemplateRenderError(`template "${templateKey(template, channel, locale)}": line ${parsed.problems[0]!.line}: ${parsed.problems[0]!.message}`);
      const rendered: Record<string, string> = {};
      for (const [key, part] of Object.entries(parsed.parts)) {
        const header = format.headers.find((h) => h.key === key);
        const value = String(await (header?.json ? jsonLiquid : liquid).parseAndRender(part, data)).trim();
        // A part that must look a certain way (a WhatsApp template name) is checked once rendered, before anything is sent.
        if (header?.pattern && value !== '' && !header.pattern.regex.test(value)) throw new TemplateRenderError(`template "${templateKey(template, channel, locale)}": "${header.header}:" rendered ${JSON.stringify(value)}: expected ${header.pattern.expected}`);
        if (header?.json && value !== '') {
          let json: unknown;
          try {
            json = JSON.parse(value);
          } catch (error) {
            throw new TemplateRenderError(`template "${templateKey(template, channel, locale)}": "${header.header}:" did not render to JSON: ${(error as Error).message}`);
          }
          if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new TemplateRenderError(`template "${templateKey(template, channel, locale)}": "${header.header}:" rendered ${value.slice(0, 60)}: expected a JSON object`);
        }
        rendered[key] = value;
      }
      return rendered;
    },
  };
}
