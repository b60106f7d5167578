import { sourceFileNames } from '../../shared/source-files';
/**
 * Message templates: Liquid files in workflows/templates named
 * `<template>.<channel>.liquid` (channel email, sms or webhook), and locale
 * variants of email and SMS templates `<template>.<locale>.<channel>.liquid`
 * (`welcome.fr.email.liquid`), each checked like its default file. The format
 * itself (file names, email parts) lives in shared/templates, used by the
 * step runtime too; this module checks templates before a journey is accepted.
 *
 * - email: the first line is `Subject: <liquid>`, then a blank line, then the
 *   plain-text body; an optional HTML body follows a line `--- html ---`. The
 *   HTML body escapes every `{{ output }}`; `{{ x | raw }}` outputs HTML as it is.
 * - sms: the whole file is the message body.
 * - webhook: the whole file renders to the JSON request body (use the `json`
 *   filter for values: `{{ trigger.complaintId | json }}`).
 *
 * Render context (provided by the send/webhook step): `profile` (the customer
 * as templates see it, `templateProfile` in shared/templates: id, traits, stats,
 * lifecycleStage, rfm, tags, firstSeenAt, lastSeenAt), `trigger` (the trigger's
 * properties carried by the run, e.g. `trigger.complaintId`), `triggerEvent`
 * (`{ messageId, event }`), `customer` (`{ id }`), `journey` (`{ id, step,
 * execution }`) and, for email/sms, `unsubscribe_url`. What a template reads is
 * checked per journey by template-variables.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Liquid } from 'liquidjs';
import { CHANNEL_PARTS, channelSpec, HTML_SEPARATOR, type PartsTemplateChannel, orList, parseEmailTemplate, parseTemplateFileName, TEMPLATE_CHANNELS, templateKey, type TemplateChannel, type TemplateProfileField } from '../../shared';
import { jsonBodyLiquid } from '../../shared/templates/json-body';
import { parsePartsTemplate } from '../../shared/templates/parts';
import type { JourneyProblem } from './errors';
import type { Journey } from './schema';
import { templateTriggerReferences } from './references';

/** The templates a journey may use: keys `<template>.<channel>`, and their sources when read from disk. */
export interface TemplateCatalog {
  readonly templates: readonly string[];
  /** Sources by key: `<template>.<channel>`, and `<template>.<locale>.<channel>` for a locale variant. */
  readonly templateSources?: Readonly<Record<string, string>>;
  /** Their files (as read), so a problem in one names its place. */
  readonly templateFiles?: Readonly<Record<string, string>>;
  /** The locale variants of a template (normalised tags, `zh-tw`), by its key `<template>.<channel>`. */
  readonly locales?: Readonly<Record<string, readonly string[]>>;
}

/** The keys of a template's sources: its default file's, then each locale variant's (a send may render any of them). */
export function templateVariantKeys(catalog: Pick<TemplateCatalog, 'locales'>, template: string, channel: TemplateChannel): string[] {
  return [templateKey(template, channel), ...(catalog.locales?.[templateKey(template, channel)] ?? []).map((locale) => templateKey(template, channel, locale))];
}

export function templateFileName(template: string, channel: TemplateChannel): string {
  return `${templateKey(template, channel)}.liquid`;
}

const liquid = new Liquid({ strictFilters: true });
/** Webhook bodies are checked as they render: every output JSON-escaped (`jsonBodyLiquid`). */
const jsonLiquid = jsonBodyLiquid({ strictFilters: true });

const SAMPLE_AT = '2026-01-01T00:00:00.000Z';
/** A customer with every field of the template profile view (shared/templates `templateProfile`), for rendering webhook bodies as a check. */
const SAMPLE_PROFILE = {
  id: 'cust-1',
  traits: {},
  stats: {
    eventCount: 1,
    orderCount: 1,
    totalRevenue: 10,
    averageOrderValue: 10,
    firstOrderAt: SAMPLE_AT,
    lastOrderAt: SAMPLE_AT,
    productsViewed: [],
    complaintCount: 0,
    openComplaints: [],
    resolvedComplaints: [],
    lastComplaintAt: SAMPLE_AT,
    lastResolutionAt: SAMPLE_AT,
    lastSurvey: { type: 'nps', score: 9, at: SAMPLE_AT },
  },
  lifecycleStage: 'new',
  rfm: { recency: 5, frequency: 1, monetary: 1, tier: 'potential' },
  tags: ['sample'],
  firstSeenAt: SAMPLE_AT,
  lastSeenAt: SAMPLE_AT,
} satisfies Record<TemplateProfileField, unknown>;

/** Problems in one template file: Liquid syntax (unknown filters included) and the channel's format. */
export function checkTemplate(file: string, channel: TemplateChannel, source: string): JourneyProblem[] {
  const problem = (line: number, column: number, message: string): JourneyProblem => ({ file, line, column, path: '(template)', message });
  try {
    liquid.parse(source);
  } catch (error) {
    const err = error as Error & { token?: { getPosition(): [number, number] } };
    const [line, column] = err.token?.getPosition() ?? [1, 1];
    return [problem(line, column, `Liquid: ${err.message.replace(/, line:\d+, col:\d+$/, '')}`)];
  }
  // The channel's template format (the channel registry's, shared/channels).
  const format = channelSpec(channel).template.format;
  if (format === 'email') {
    const email = parseEmailTemplate(source);
    if (!email) return [problem(1, 1, 'expected the first line to be "Subject: <subject>", then a blank line, then the text body')];
    const problems: JourneyProblem[] = [];
    if (email.subject === '') problems.push(problem(1, 1, 'expected a subject after "Subject:"'));
    if (email.text === '') problems.push(problem(2, 1, `expected a plain-text body after the subject (an HTML body may follow a line "${HTML_SEPARATOR}")`));
    problems.push(...escapedTwice(source, problem));
    return problems;
  }
  if (format === 'parts') return checkPartsTemplate(channel as PartsTemplateChannel, source, problem);
  if (source.trim() === '') return [problem(1, 1, format === 'text' ? 'expected the message text' : 'expected a JSON body')];
  if (format === 'json') {
    const trigger = Object.fromEntries([...templateTriggerReferences(source)].map((name) => [name, `sample-${name}`]));
    const rendered = jsonLiquid.parseAndRenderSync(source, { profile: SAMPLE_PROFILE, customer: { id: 'cust-1' }, trigger, triggerEvent: { messageId: 'sample', event: 'Sample' }, journey: { id: 'sample', step: 'sample', execution: 'sample' } });
    try {
      JSON.parse(rendered);
    } catch (error) {
      return [problem(1, 1, `expected the body to render to JSON (checked with sample data): ${(error as Error).message}; write values with the json filter, e.g. {{ trigger.complaintId | json }}`)];
    }
  }
  return [];
}

/**
 * A `parts` template (WhatsApp, push): the channel's header lines and body (shared/templates/parts.ts), each part's
 * Liquid, a literal part in the form it must have (a WhatsApp template name), a JSON part rendering to an object.
 */
function checkPartsTemplate(channel: PartsTemplateChannel, source: string, problem: (line: number, column: number, message: string) => JourneyProblem): JourneyProblem[] {
  const { format } = CHANNEL_PARTS[channel];
  const parsed = parsePartsTemplate(source, format);
  if ('problems' in parsed) return parsed.problems.map((p) => problem(p.line, 1, p.message));
  const problems: JourneyProblem[] = [];
  for (const header of format.headers) {
    const part = parsed.parts[header.key];
    const line = parsed.lines[header.key] ?? 1;
    if (part === undefined) continue;
    if (header.pattern && !/\{[{%]/.test(part) && !header.pattern.regex.test(part)) problems.push(problem(line, 1, `"${header.header}:" ${JSON.stringify(part)}: expected ${header.pattern.expected}`));
    if (header.json) {
      const trigger = Object.fromEntries([...templateTriggerReferences(part)].map((name) => [name, `sample-${name}`]));
      const rendered = jsonLiquid.parseAndRenderSync(part, { profile: SAMPLE_PROFILE, customer: { id: 'cust-1' }, trigger, triggerEvent: { messageId: 'sample', event: 'Sample' }, journey: { id: 'sample', step: 'sample', execution: 'sample' } });
      let json: unknown;
      try {
        json = JSON.parse(rendered);
      } catch (error) {
        problems.push(problem(line, 1, `expected "${header.header}:" to render to a JSON object (checked with sample data): ${(error as Error).message}; write values with the json filter, e.g. {{ trigger.orderId | json }}`));
        continue;
      }
      if (json === null || typeof json !== 'object' || Array.isArray(json)) problems.push(problem(line, 1, `expected "${header.header}:" to render to a JSON object, like {"orderId": {{ trigger.orderId | json }}}`));
    }
  }
  return problems;
}

/**
 * The HTML part escapes every output itself; an explicit `| escape` (or `escape_once`) there
 * escapes twice (`&amp;lt;` in the message). Flag it, at its line, with the fix.
 */
function escapedTwice(source: string, problem: (line: number, column: number, message: string) => JourneyProblem): JourneyProblem[] {
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  const start = lines.findIndex((line) => line.trim() === HTML_SEPARATOR);
  if (start === -1) return [];
  const problems: JourneyProblem[] = [];
  for (let i = start + 1; i < lines.length; i++) {
    for (const m of lines[i]!.matchAll(/\|\s*(escape|escape_once)\b/g)) {
      problems.push(
        problem(i + 1, m.index + 1, `"| ${m[1]}" in the HTML part escapes twice: the HTML part escapes every {{ output }} already; remove it (and write {{ value | raw }} for HTML you trust)`),
      );
    }
  }
  return problems;
}

/**
 * The templates in `dir` (files named `<template>[.<locale>].<channel>.liquid`), with their sources. A locale
 * variant needs its default file (a customer with another locale would get nothing), and webhook bodies, read
 * by systems rather than customers, have none.
 */
export function loadTemplateCatalog(dir: string): { catalog: TemplateCatalog; problems: JourneyProblem[] } {
  const templates: string[] = [];
  const templateSources: Record<string, string> = {};
  const templateFiles: Record<string, string> = {};
  const locales: Record<string, string[]> = {};
  const problems: JourneyProblem[] = [];
  const variants: Array<{ file: string; defaultKey: string; locale: string }> = [];
  for (const name of sourceFileNames(dir)) {
    if (!name.endsWith('.liquid')) continue;
    const file = join(dir, name);
    const parsed = parseTemplateFileName(name);
    if (!parsed) {
      problems.push({
        file,
        line: 1,
        column: 1,
        path: '(template)',
        message: `expected a file name <template>.<channel>.liquid (or <template>.<locale>.<channel>.liquid, e.g. welcome.fr.email.liquid) with a kebab-case template name and channel ${orList(TEMPLATE_CHANNELS)}`,
      });
      continue;
    }
    const { template, channel, locale } = parsed;
    if (locale !== undefined && !channelSpec(channel).template.locales) {
      problems.push({ file, line: 1, column: 1, path: '(template)', message: `a webhook body goes to a system, not a customer: it has no locale variants; rename it ${templateFileName(template, channel)} or render the locale into the body ({{ profile.traits.locale | json }})` });
      continue;
    }
    const source = readFileSync(file, 'utf8');
    problems.push(...checkTemplate(file, channel, source));
    const key = templateKey(template, channel, locale);
    if (templateSources[key] !== undefined) {
      problems.push({ file, line: 1, column: 1, path: '(template)', message: `another file is the same locale variant (${templateFiles[key]}): locale tags are matched without regard to case, and "_" is read as "-"` });
      continue;
    }
    templateSources[key] = source;
    templateFiles[key] = file;
    if (locale === undefined) templates.push(key);
    else variants.push({ file, defaultKey: templateKey(template, channel), locale });
  }
  for (const { file, defaultKey, locale } of variants) {
    if (templateSources[defaultKey] === undefined) {
      problems.push({ file, line: 1, column: 1, path: '(template)', message: `a locale variant needs its default file ${defaultKey}.liquid: a customer with another locale (or none) would get no message` });
      continue;
    }
    (locales[defaultKey] ??= []).push(locale);
  }
  return { catalog: { templates, templateSources, templateFiles, locales }, problems };
}

/** The sources (`templateKey` → text) of every file of the templates a journey renders, each channel and locale: its release's. */
export function journeyTemplateSources(journey: Pick<Journey, 'steps'>, sources: Readonly<Record<string, string>>): Record<string, string> {
  const names = templatesOfJourney(journey);
  return Object.fromEntries(Object.entries(sources).filter(([key]) => names.some((name) => key.startsWith(`${name}.`))));
}

/** The templates a journey's steps render, by name (send steps, their variants, webhook steps), sorted. */
export function templatesOfJourney(journey: Pick<Journey, 'steps'>): string[] {
  const names = new Set<string>();
  for (const step of journey.steps) {
    if ('send' in step) {
      names.add(step.send.template);
      for (const v of step.send.variants ?? []) if (v.template !== undefined) names.add(v.template);
    }
    if ('webhook' in step) names.add(step.webhook.template);
  }
  return [...names].sort();
}
