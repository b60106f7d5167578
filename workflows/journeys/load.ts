import { sourceFileNames } from '../../shared/source-files';
/**
 * Loading journeys: YAML -> shape (zod) -> meaning, each problem located at its
 * node (file:line:column). A file with any problem is refused as a whole.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LineCounter, parse, parseDocument } from 'yaml';
import type { z } from 'zod';
import { DEPLOYED_CHANNELS, type Topics } from '../../shared';
import { isMinutesForMonths } from './duration';
import { formatPath, JourneyError, type JourneyProblem, type PathSegment } from './errors';
import { createLocator } from './locate';
import { ACTIONS, JourneySchema, StepSchema, STEP_SCHEMAS, type Journey } from './schema';
import { addedTagsInDocument, type KnownTags } from './tags';
import { journeyTemplateProblems } from './template-variables';
import { loadTemplateCatalog, type TemplateCatalog } from './templates';
import { validateMeaning } from './validate';

export interface LoadOptions {
  /** Available templates, as keys `<template>.<channel>` (e.g. `welcome.email`). */
  readonly templates: Iterable<string>;
  /** Names of the configured outbound webhooks; unchecked when absent. */
  readonly webhookTargets?: Iterable<string>;
  /** The id the journey must have; by default the file name without .yaml/.yml (unchecked for other names). */
  readonly expectedId?: string;
  /** The tags that can exist; the tags the journey reads are unchecked when absent. */
  readonly tags?: KnownTags;
  /** The declared subscription topics (topics.yaml); a `topic` is unchecked when absent. */
  readonly topics?: Topics | undefined;
  /** The templates folder, as messages name it. */
  readonly templatesDir?: string;
  /**
   * Whether the AWS deployment has an SMS origination identity (the app's `smsOriginationIdentity` context): when
   * false, each SMS send is warned about at its place (synth refuses it); unchecked when absent.
   */
  readonly smsDeployable?: boolean;
  /**
   * The channels whose AWS deployment setting (the channel registry's `deployment`, e.g. WhatsApp's
   * `whatsappPhoneNumberId`) is not given: each send on one is warned about at its place, with the setting and how
   * to give it (synth refuses it). Unchecked when absent.
   */
  readonly undeployedChannels?: Iterable<string>;
}

/** What deploying a journey that sends SMS needs, and how to give it (the app's context, as `cdk synth` asks). */
export const SMS_DEPLOYMENT_HINT =
  'sends SMS: deploying it to AWS needs an SMS origination identity: npx cdk deploy -c smsOriginationIdentity=arn:aws:sms-voice:<region>:<account>:phone-number/<id> (or "smsOriginationIdentity" under context in cdk.json, or the sms prop of the Rapport construct); the embedded engine needs none';

/** The place of every SMS send of a journey (the send's channel, or a variant's). */
function smsSends(journey: Journey): PathSegment[][] {
  return journey.steps.flatMap((step, i) => {
    if (!('send' in step)) return [];
    const own: PathSegment[][] = step.send.channel === 'sms' ? [['steps', i, 'send', 'channel']] : [];
    const variants = (step.send.variants ?? []).flatMap((v, j): PathSegment[][] => (v.channel === 'sms' ? [['steps', i, 'send', 'variants', j, 'channel']] : []));
    return [...own, ...variants];
  });
}

/** The place of every send of a journey on `channel`: the send's channel, a variant's, or its fallback. */
export function sendsOn(journey: Journey, channel: string): PathSegment[][] {
  return journey.steps.flatMap((step, i) => {
    if (!('send' in step)) return [];
    const own: PathSegment[][] = step.send.channel === channel ? [['steps', i, 'send', 'channel']] : [];
    const fallback: PathSegment[][] = step.send.fallback === channel ? [['steps', i, 'send', 'fallback']] : [];
    const variants = (step.send.variants ?? []).flatMap((v, j): PathSegment[][] => (v.channel === channel ? [['steps', i, 'send', 'variants', j, 'channel']] : []));
    return [...own, ...fallback, ...variants];
  });
}

/** What deploying a send on `channel` needs (its registry `deployment`), as validate warns it. */
export function deploymentHint(channel: string): string | undefined {
  const deployed = DEPLOYED_CHANNELS.find((c) => c.id === channel);
  return deployed && `sends ${deployed.label}: deploying it to AWS needs the ${deployed.context} setting: ${deployed.hint}; the embedded engine needs none`;
}

/** What `loadJourneysFromDir` checks besides the shape and the templates. */
export interface DirOptions {
  /** Names of the configured outbound webhooks; unchecked when absent. */
  readonly webhookTargets?: Iterable<string>;
  /**
   * The tag rules' names and the declared manual tags (tags.yaml); with them, every
   * tag a journey reads must be one of these or a tag some journey in the folder adds.
   * Unchecked when absent.
   */
  readonly tags?: Pick<KnownTags, 'rules' | 'manual'>;
  /** The declared subscription topics (topics.yaml): every `topic` must be one. Unchecked when absent. */
  readonly topics?: Topics | undefined;
  /** The templates folder as messages name it (default: as given). */
  readonly showTemplatesDir?: string;
  /** See LoadOptions.smsDeployable. */
  readonly smsDeployable?: boolean;
  /** See LoadOptions.undeployedChannels. */
  readonly undeployedChannels?: Iterable<string>;
}

export type LoadResult = { ok: true; journey: Journey; warnings: JourneyProblem[] } | { ok: false; errors: JourneyProblem[] };

/** Keys whose duration is a wait, a timeout or a delay: where `6m` likely meant six months (`isMinutesForMonths`). */
const LONG_DURATION_KEYS = new Set(['wait', 'timeout', 'after', 'max_age', 'frequency_cap_max_delay']);

/** A warning for every such duration written in a few minutes, at its place. */
function minutesForMonths(input: unknown, path: PathSegment[] = []): Array<{ path: PathSegment[]; message: string }> {
  if (Array.isArray(input)) return input.flatMap((v, i) => minutesForMonths(v, [...path, i]));
  if (input === null || typeof input !== 'object') return [];
  return Object.entries(input).flatMap(([key, value]) =>
    typeof value === 'string' && LONG_DURATION_KEYS.has(key) && isMinutesForMonths(value)
      ? [{ path: [...path, key], message: `"${value}" is ${value.slice(0, -1)} minute(s); if you meant ${value.slice(0, -1)} month(s), write "${value.slice(0, -1)}mo"` }]
      : minutesForMonths(value, [...path, key]),
  );
}

const YAML_FILE = /\.ya?ml$/;

/** Parse and validate one journey file's text. `file` names it in errors (and gives the expected id). */
export function loadJourney(text: string, file: string, options: LoadOptions): LoadResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) => ({
        file,
        line: e.linePos?.[0].line ?? 1,
        column: e.linePos?.[0].col ?? 1,
        path: '(root)',
        message: `YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
      })),
    };
  }
  const locator = createLocator(doc, lineCounter);
  const input: unknown = doc.toJS({ maxAliasCount: 100 });
  const problem = (path: readonly PathSegment[], message: string, key = false): JourneyProblem => ({
    file,
    ...locator.locate(path, { key }),
    path: formatPath(path),
    message,
  });

  const shape = JourneySchema.safeParse(input);
  if (!shape.success) {
    let found = shapeProblems(shape.error.issues, JourneySchema, input, []);
    // Never refuse a file without saying why: fall back to zod's own issues.
    if (found.length === 0) found = shape.error.issues.map((i) => ({ path: i.path as PathSegment[], message: i.message }));
    return { ok: false, errors: sortProblems(found.map((p) => problem(p.path, p.message, p.key))) };
  }

  const expectedId = options.expectedId ?? (YAML_FILE.test(file) ? basename(file).replace(YAML_FILE, '') : undefined);
  const meaning = validateMeaning(shape.data, {
    templates: options.templates,
    ...(expectedId !== undefined && { expectedId }),
    ...(options.webhookTargets !== undefined && { webhookTargets: options.webhookTargets }),
    ...(options.tags !== undefined && { tags: options.tags }),
    topics: options.topics,
    ...(options.templatesDir !== undefined && { templatesDir: options.templatesDir }),
  });
  if (meaning.length > 0) return { ok: false, errors: sortProblems(meaning.map((p) => problem(p.path, p.message, p.key))) };
  const sms = options.smsDeployable === false ? smsSends(shape.data).map((path) => ({ path, message: SMS_DEPLOYMENT_HINT })) : [];
  const undeployed = [...(options.undeployedChannels ?? [])].flatMap((channel) => sendsOn(shape.data, channel).map((path) => ({ path, message: deploymentHint(channel)! })));
  return { ok: true, journey: shape.data, warnings: sortProblems([...minutesForMonths(input), ...sms, ...undeployed].map((p) => problem(p.path, p.message))) };
}

export interface LoadedJourneys {
  readonly journeys: ReadonlyArray<{ readonly file: string; readonly journey: Journey }>;
  /** The templates folder's contents: pass it to `compileJourney`. */
  readonly catalog: TemplateCatalog;
  /** What is valid but likely not meant (e.g. `wait: 6m` where six months were meant). */
  readonly warnings: readonly JourneyProblem[];
  /** The topics they were checked against (DirOptions.topics): pass them to `compileJourney` with the catalog. */
  readonly topics?: Topics | undefined;
}

/**
 * Every `*.yaml` journey in `dir`, validated against the templates in `templatesDir`.
 * Throws `JourneyError` listing every problem of every file (templates included).
 */
export function loadJourneysFromDir(dir: string, templatesDir: string, options: DirOptions = {}): LoadedJourneys {
  const { catalog, problems } = loadTemplateCatalog(templatesDir);
  const errors: JourneyProblem[] = [...problems];
  const journeys: Array<{ file: string; journey: Journey }> = [];
  const warnings: JourneyProblem[] = [];
  const seen = new Map<string, string>();
  const files = sourceFileNames(dir)
    .filter((name) => YAML_FILE.test(name))
    .map((name) => ({ file: join(dir, name), text: readFileSync(join(dir, name), 'utf8') }));
  // A tag one journey adds may be read by another: gather the adds of every file first.
  const tags = options.tags && { ...options.tags, added: [...new Set(files.flatMap(({ text }) => addedTagsIn(text)))] };
  for (const { file, text } of files) {
    const result = loadJourney(text, file, {
      templates: catalog.templates,
      templatesDir: options.showTemplatesDir ?? templatesDir,
      ...(options.webhookTargets !== undefined && { webhookTargets: options.webhookTargets }),
      ...(tags !== undefined && { tags }),
      topics: options.topics,
      ...(options.smsDeployable !== undefined && { smsDeployable: options.smsDeployable }),
      ...(options.undeployedChannels !== undefined && { undeployedChannels: options.undeployedChannels }),
    });
    if (!result.ok) {
      errors.push(...result.errors);
      continue;
    }
    const other = seen.get(result.journey.id);
    if (other !== undefined) {
      errors.push({ file, line: 1, column: 1, path: 'id', message: `journey id "${result.journey.id}" is also used by ${other}: expected one file per journey` });
      continue;
    }
    seen.set(result.journey.id, file);
    // A template must read only what this journey's runs give it (a broken template is reported above).
    const variables = journeyTemplateProblems(result.journey, catalog).filter((p) => !problems.some((q) => q.file === p.file));
    if (variables.length > 0) {
      errors.push(...variables);
      continue;
    }
    journeys.push({ file, journey: result.journey });
    warnings.push(...result.warnings);
  }
  if (errors.length > 0) throw new JourneyError(errors);
  return { journeys, catalog, warnings, topics: options.topics };
}

/** The tags a journey file's `tag: { add }` steps add; none when it is not YAML (its own load reports that). */
function addedTagsIn(text: string): string[] {
  try {
    return addedTagsInDocument(parse(text, { maxAliasCount: 100 }));
  } catch {
    return [];
  }
}

function sortProblems(problems: JourneyProblem[]): JourneyProblem[] {
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}

// ---------------------------------------------------------------------------
// zod issues -> located problems, with unions resolved to the option meant
// ---------------------------------------------------------------------------

interface ShapeProblem {
  path: PathSegment[];
  message: string;
  key?: boolean;
}

type Issue = z.core.$ZodIssue;
type AnySchema = z.core.$ZodType;

function shapeProblems(issues: readonly Issue[], schema: AnySchema, input: unknown, base: PathSegment[]): ShapeProblem[] {
  const out: ShapeProblem[] = [];
  // zod reports a union's failure either as invalid_union or, when one option got further
  // than the others, as that option's issues. Either way: re-check the value at the union
  // against the option the author meant, so messages speak of that option.
  const unions = new Map<string, { at: PathSegment[]; union: AnySchema }>();
  for (const issue of issues) {
    const path = issue.path as PathSegment[];
    const found = firstUnion(schema, path);
    if (found) {
      unions.set(JSON.stringify(found.at), found);
      continue;
    }
    const at = schemaAt(schema, path);
    if (issue.code === 'unrecognized_keys') {
      const allowed = at ? objectKeys(at) : [];
      for (const key of issue.keys) {
        out.push({ path: [...base, ...path, key], key: true, message: `unknown key "${key}"${allowed.length > 0 ? `: expected one of ${allowed.join(', ')}` : ''}` });
      }
    } else {
      const atKey = issue.code === 'custom' && (issue.params as { anchor?: unknown } | undefined)?.anchor === 'key';
      out.push({ path: [...base, ...path], message: issue.message, ...(atKey && { key: true }) });
    }
  }
  for (const { at, union } of unions.values()) {
    const value = valueAt(input, at);
    const path = [...base, ...at];
    if (value === undefined) {
      out.push({ path, message: `missing: ${customMessage(union, value) ?? 'expected a value'}` });
      continue;
    }
    const choice = chooseOption(union, value);
    if ('message' in choice) {
      out.push({ path, message: choice.message });
      continue;
    }
    const result = choice.option['~standard'].validate(value) as { issues?: readonly Issue[] };
    out.push(...shapeProblems(result.issues ?? [], choice.option, value, path));
  }
  return out;
}

/** The option of `union` that `value` was meant to be, or what to say when that cannot be told. */
function chooseOption(union: AnySchema, value: unknown): { option: AnySchema } | { message: string } {
  const options = unionOptions(union);
  const fallback = { message: customMessage(union, value) ?? 'invalid value' };

  // A step: its action key says which.
  if (unwrap(union) === unwrap(StepSchema) && isRecord(value)) {
    const actions = ACTIONS.filter((a) => a in value);
    if (actions.length === 0) return { message: `expected exactly one action: ${ACTIONS.join(', ')}` };
    if (actions.length > 1) return { message: `a step has exactly one action, found ${actions.join(' and ')}: make them separate steps` };
    return { option: STEP_SCHEMAS[ACTIONS.indexOf(actions[0]!)]! };
  }

  // Otherwise: among the options of the right type, the one that knows the most of the given keys, then the fewest issues.
  const keys = isRecord(value) ? Object.keys(value) : [];
  const ranked = options
    .map((option) => ({ option, issues: ((option['~standard'].validate(value) as { issues?: readonly Issue[] }).issues ?? []) }))
    .filter(({ issues }) => !issues.some((x) => x.path.length === 0 && (x.code === 'invalid_type' || x.code === 'invalid_value')))
    .map(({ option, issues }) => ({ option, score: keys.filter((k) => !objectKeys(option).includes(k)).length * 100 + issues.length }))
    .sort((a, b) => a.score - b.score);
  if (ranked.length === 0 || (ranked.length > 1 && ranked[0]!.score === ranked[1]!.score)) return fallback;
  return { option: ranked[0]!.option };
}

/** The message a schema's own `error` option gives for `value`, if it has one. */
function customMessage(schema: AnySchema, value: unknown): string | undefined {
  const error = (unwrap(schema) as { _zod: { def: { error?: (iss: object) => unknown } } })._zod.def.error;
  const message = error?.({ input: value });
  return typeof message === 'string' ? message.replace(/^missing: /, '') : undefined;
}

/** The first union on the way down `path` (the value's own schema included), with its path. */
function firstUnion(schema: AnySchema, path: readonly PathSegment[]): { at: PathSegment[]; union: AnySchema } | undefined {
  for (let i = 0; i <= path.length; i++) {
    const at = schemaAt(schema, path.slice(0, i));
    if (at && defOf(at).type === 'union') return { at: path.slice(0, i), union: at };
    if (!at) return undefined;
  }
  return undefined;
}

interface Def {
  type: string;
  shape?: Record<string, AnySchema>;
  element?: AnySchema;
  valueType?: AnySchema;
  innerType?: AnySchema;
  in?: AnySchema;
  options?: AnySchema[];
  getter?: () => AnySchema;
}
const defOf = (schema: AnySchema): Def => schema._zod.def as unknown as Def;

function unwrap(schema: AnySchema): AnySchema {
  let current = schema;
  for (;;) {
    const def = defOf(current);
    if ((def.type === 'optional' || def.type === 'default' || def.type === 'nullable' || def.type === 'prefault') && def.innerType) current = def.innerType;
    else if (def.type === 'lazy' && def.getter) current = def.getter();
    else if (def.type === 'pipe' && def.in) current = def.in;
    else return current;
  }
}

function schemaAt(schema: AnySchema, path: readonly PathSegment[]): AnySchema | undefined {
  let current: AnySchema | undefined = unwrap(schema);
  for (const segment of path) {
    if (!current) return undefined;
    const def = defOf(current);
    if (def.type === 'object' && typeof segment === 'string') current = def.shape?.[segment];
    else if (def.type === 'array' && typeof segment === 'number') current = def.element;
    else if (def.type === 'record') current = def.valueType;
    else return undefined;
    if (current) current = unwrap(current);
  }
  return current;
}

function unionOptions(schema: AnySchema): AnySchema[] {
  const def = defOf(unwrap(schema));
  return def.type === 'union' ? (def.options ?? []) : [];
}

function objectKeys(schema: AnySchema): string[] {
  const def = defOf(unwrap(schema));
  return def.type === 'object' ? Object.keys(def.shape ?? {}) : [];
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
