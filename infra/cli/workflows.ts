/**
 * The workflows folder as the commands see it: where things are, loading one
 * journey or all of them, and problems printed `file:line:col  path: message`
 * with paths relative to the current folder.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { ENV, loadTopics, NO_TOPICS, parseTemplateFileName, templateKey, TOPICS_FILE, topicsOf, type Topics } from '../../shared';
import { loadTagRules } from '../../shared/segmentation';
import {
  addedTagsInDocument,
  journeyTemplateProblems,
  journeyTemplates,
  loadJourney,
  loadTemplateCatalog,
  templateVariantKeys,
  type Journey,
  type JourneyProblem,
  type TemplateCatalog,
} from '../../workflows/journeys';
import { CommandFailed, EXIT, UsageError, type Context } from './io';

/** The embedded engine's outbound webhooks when none are configured (infra/embedded/engine.ts). */
export const DEFAULT_WEBHOOK_TARGETS = ['support', 'supervisor'];

export interface Problem {
  file: string;
  line: number;
  column: number;
  path: string;
  message: string;
}

export interface Workflows {
  /** Absolute. */
  dir: string;
  journeysDir: string;
  templatesDir: string;
  tagsFile: string;
  configFile: string;
  webhookTargets: string[];
  /** An absolute path as printed: relative to the current folder. */
  show(path: string): string;
}

export function workflowsOf(values: Record<string, unknown>, ctx: Context): Workflows {
  const dir = configDirOf(values.config, ctx.cwd);
  const journeysDir = typeof values.journeys === 'string' ? resolve(ctx.cwd, values.journeys) : join(dir, 'journeys.d');
  if (typeof values.journeys === 'string' && !isDirectory(journeysDir)) throw new UsageError(`--journeys: no folder ${values.journeys}: expected a folder of <id>.yaml journey files`);
  return {
    dir,
    journeysDir,
    templatesDir: join(dir, 'templates'),
    tagsFile: join(dir, 'tags.yaml'),
    configFile: join(dir, 'segmentation.config.yaml'),
    webhookTargets: webhookTargetsOf(values['webhook-targets'], ctx.env),
    show: (path) => {
      const absolute = isAbsolute(path) ? path : resolve(ctx.cwd, path);
      const rel = relative(ctx.cwd, absolute);
      // Inside the current folder: relative (editors link it); outside: absolute, clearer than ../../..
      return rel === '' ? '.' : rel.startsWith('..') ? absolute : rel;
    },
  };
}

const isDirectory = (path: string) => existsSync(path) && statSync(path).isDirectory();

/**
 * --config, else the nearest `workflows` folder (holding journeys.d/ or
 * tags.yaml) in the current folder or above it: `npx rapport` works from
 * anywhere in the repository.
 */
function configDirOf(option: unknown, cwd: string): string {
  if (typeof option === 'string') {
    const dir = resolve(cwd, option);
    if (!isDirectory(dir)) throw new UsageError(`--config: no folder ${option}: expected the folder holding tags.yaml, segmentation.config.yaml, templates/ and journeys.d/`);
    return dir;
  }
  for (let at = resolve(cwd); ; at = dirname(at)) {
    const candidate = join(at, 'workflows');
    if (isDirectory(join(candidate, 'journeys.d')) || existsSync(join(candidate, 'tags.yaml'))) return candidate;
    if (dirname(at) === at) break;
  }
  throw new UsageError(`no workflows folder in ${cwd} or above it: pass --config <folder> (the folder holding tags.yaml, segmentation.config.yaml, templates/ and journeys.d/)`);
}

function webhookTargetsOf(option: unknown, env: NodeJS.ProcessEnv): string[] {
  if (typeof option === 'string') {
    const names = option.split(',').map((s) => s.trim()).filter(Boolean);
    if (names.length === 0) throw new UsageError('--webhook-targets: expected names separated by commas, e.g. support,supervisor');
    return names;
  }
  const configured = env[ENV.OUTBOUND_WEBHOOKS];
  if (configured) {
    try {
      return Object.keys(JSON.parse(configured) as Record<string, unknown>);
    } catch {
      throw new UsageError(`${ENV.OUTBOUND_WEBHOOKS} is not JSON: expected {"support": {"url": "...", "secret": "whsec_..."}}`);
    }
  }
  return DEFAULT_WEBHOOK_TARGETS;
}

/** `file:line:col  path: message`, the file relative to the current folder (shared/segmentation's `formatProblem` layout). */
export function formatProblem(p: Problem, w: Pick<Workflows, 'show'>): string {
  return `${w.show(p.file)}:${p.line}:${p.column}  ${p.path}: ${p.message}`;
}

/** Problems in file order, then position. */
export function sortByPlace<T extends Problem>(problems: T[], w: Pick<Workflows, 'show'>): T[] {
  return problems.sort((a, b) => (w.show(a.file) < w.show(b.file) ? -1 : w.show(a.file) > w.show(b.file) ? 1 : a.line - b.line || a.column - b.column));
}

/** A problem about a whole file (missing, unreadable). */
export function fileProblem(file: string, message: string): Problem {
  return { file, line: 1, column: 1, path: '(file)', message };
}

const YAML_FILE = /\.ya?ml$/;

export function journeyFiles(w: Workflows): string[] {
  return readdirSync(w.journeysDir)
    .filter((name) => YAML_FILE.test(name))
    .sort()
    .map((name) => join(w.journeysDir, name));
}

/**
 * The file of a journey named on the command line: a path to a YAML file, or
 * an id (`<journeys.d>/<id>.yaml`, else the file whose `id:` it is).
 */
export function findJourneyFile(ref: string, w: Workflows, ctx: Context): string {
  if (YAML_FILE.test(ref)) {
    const file = resolve(ctx.cwd, ref);
    if (!existsSync(file)) throw failure(ctx, `no journey file ${ref}`);
    return file;
  }
  if (!existsSync(w.journeysDir)) throw failure(ctx, `no journeys folder ${w.show(w.journeysDir)}`);
  for (const ext of ['.yaml', '.yml']) {
    const file = join(w.journeysDir, `${ref}${ext}`);
    if (existsSync(file)) return file;
  }
  const ids: string[] = [];
  for (const file of journeyFiles(w)) {
    const id = idOf(file);
    if (id === ref) return file;
    ids.push(id ?? basename(file).replace(YAML_FILE, ''));
  }
  throw failure(ctx, `unknown journey "${ref}" in ${w.show(w.journeysDir)}: expected one of ${ids.sort().join(', ') || '(none: the folder has no .yaml files)'}`);
}

function idOf(file: string): string | undefined {
  try {
    const id: unknown = parseDocument(readFileSync(file, 'utf8')).get('id');
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The tags journeys may read besides those they add: tags.yaml's rules and
 * declared manual tags, as the engine loads them. Undefined when tags.yaml is
 * missing or broken (then the journeys' tags go unchecked; `rapport validate` reports the file).
 */
export function knownTagsOf(w: Pick<Workflows, 'tagsFile'>): { rules: string[]; manual: string[] } | undefined {
  if (!existsSync(w.tagsFile)) return undefined;
  const result = loadTagRules(readFileSync(w.tagsFile, 'utf8'), w.tagsFile);
  return result.ok ? { rules: result.rules.map((r) => r.name), manual: result.manualTags.map((m) => m.name) } : undefined;
}

/**
 * The declared subscription topics (topics.yaml), as the engine loads them: none when the file is absent;
 * undefined when it is broken (then the journeys' topics go unchecked; `rapport validate` reports the file).
 */
export function knownTopicsOf(w: Pick<Workflows, 'dir'>): Topics | undefined {
  const file = join(w.dir, TOPICS_FILE);
  if (!existsSync(file)) return NO_TOPICS;
  const result = loadTopics(readFileSync(file, 'utf8'), file);
  return result.ok ? topicsOf(result.topics) : undefined;
}

/** The tags every journey file of the journeys folder adds with `tag: { add }` (a file that is not YAML adds none). */
export function tagsAddedInFolder(w: Workflows): string[] {
  if (!isDirectory(w.journeysDir)) return [];
  const added = journeyFiles(w).flatMap((file) => {
    try {
      const doc = parseDocument(readFileSync(file, 'utf8'));
      return doc.errors.length > 0 ? [] : addedTagsInDocument(doc.toJS({ maxAliasCount: 100 }));
    } catch {
      return [];
    }
  });
  return [...new Set(added)];
}

export interface LoadedOne {
  journey: Journey;
  file: string;
  catalog: TemplateCatalog;
  /** The topics it was checked against (topics.yaml; undefined when that is broken): compile with them. */
  topics: Topics | undefined;
}

/**
 * One journey, checked against the templates (and webhook targets) as the
 * engine checks it, and the tags it reads against tags.yaml and the tags the
 * journeys folder adds. Prints the problems (its own, and any in the templates
 * it uses) and fails with exit 1 when there are any.
 */
export function loadOneJourney(file: string, w: Workflows, ctx: Context): LoadedOne {
  if (!existsSync(w.templatesDir)) throw printFailure(ctx, w, [fileProblem(w.templatesDir, 'no templates folder: expected <config>/templates with <template>.<channel>.liquid files')]);
  const { catalog, problems: templateProblems } = loadTemplateCatalog(w.templatesDir);
  const known = knownTagsOf(w);
  const topics = knownTopicsOf(w);
  const result = loadJourney(readFileSync(file, 'utf8'), file, {
    templates: catalog.templates,
    templatesDir: w.show(w.templatesDir),
    webhookTargets: w.webhookTargets,
    ...(known !== undefined && { tags: { ...known, added: tagsAddedInFolder(w) } }),
    topics,
  });
  if (!result.ok) throw printFailure(ctx, w, result.errors);
  // The templates it renders, each with its locale variants (keys as templateKey makes them).
  const used = new Set(journeyTemplates(result.journey).flatMap(({ template, channel }) => templateVariantKeys(catalog, template, channel)));
  const broken = templateProblems.filter((p) => {
    const name = parseTemplateFileName(basename(p.file));
    return name !== undefined && used.has(templateKey(name.template, name.channel, name.locale));
  });
  if (broken.length === 0) broken.push(...journeyTemplateProblems(result.journey, catalog));
  if (broken.length > 0) throw printFailure(ctx, w, broken);
  return { journey: result.journey, file, catalog, topics };
}

/** Print problems and a count, and return the failure to throw. */
export function printFailure(ctx: Context, w: Pick<Workflows, 'show'>, problems: readonly (Problem | JourneyProblem)[]): CommandFailed {
  for (const p of sortByPlace([...problems], w)) ctx.err(formatProblem(p, w));
  const files = new Set(problems.map((p) => w.show(p.file))).size;
  ctx.err(`${plural(problems.length, 'problem')} in ${plural(files, 'file')}`);
  return new CommandFailed(EXIT.failed);
}

function failure(ctx: Context, message: string): CommandFailed {
  ctx.err(message);
  return new CommandFailed(EXIT.failed);
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
