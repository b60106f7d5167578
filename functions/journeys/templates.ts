import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Liquid } from 'liquidjs';
import { parseEmailTemplate, TEMPLATE_FILE, templateKey, type TemplateChannel } from '../../shared';
import { jsonBodyLiquid } from '../../shared/templates/json-body';
import { TemplateRenderError, type TemplateRenderer } from './steps';

/** Read every `<template>.<channel>.liquid` in a folder into a source map keyed `<template>.<channel>`. */
export function readTemplates(dir: string): Record<string, string> {
  const sources: Record<string, string> = {};
  for (const file of readdirSync(dir)) {
    const m = TEMPLATE_FILE.exec(file);
    if (m) sources[templateKey(m[1]!, m[2] as TemplateChannel)] = readFileSync(join(dir, file), 'utf8');
  }
  return sources;
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
  const source = (template: string, channel: TemplateChannel) => {
    const s = sources[templateKey(template, channel)];
    if (s === undefined) throw new TemplateRenderError(`no template "${template}" for channel ${channel} (expected workflows/templates/${templateKey(template, channel)}.liquid)`);
    return s;
  };
  return {
    async email(template, data) {
      const parsed = parseEmailTemplate(source(template, 'email'));
      if (!parsed) throw new TemplateRenderError(`template "${template}.email" must start with a "Subject: ..." line`);
      const [subject, text, html] = await Promise.all([
        liquid.parseAndRender(parsed.subject, data),
        liquid.parseAndRender(parsed.text, data),
        parsed.html === undefined ? undefined : htmlLiquid.parseAndRender(parsed.html, data),
      ]);
      return { subject: String(subject).trim(), text: String(text), ...(html !== undefined && { html: String(html) }) };
    },
    async text(template, channel, data) {
      return String(await (channel === 'webhook' ? jsonLiquid : liquid).parseAndRender(source(template, channel), data));
    },
  };
}
