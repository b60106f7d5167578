/**
 * `rapport validate`: every journey (and the templates they use), tags.yaml and
 * segmentation.config.yaml, loaded exactly as the engine loads them; and every
 * tag a journey reads against the tags that can exist (tag rules, tags journeys
 * add, manual tags declared in tags.yaml); topics.yaml, and every `topic` a journey or broadcast
 * names against it; and the broadcasts in broadcasts.d (optional), each
 * as the engine loads it, naming a template that exists.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DEPLOYED_CHANNELS } from '../../../shared';
import { loadBroadcastFile } from '../../../shared/broadcasts';
import { loadSegmentationConfig, loadSegments, loadTagRules, SEGMENTS_FILE } from '../../../shared/segmentation';
import { loadTopics, NO_TOPICS, TOPICS_FILE, topicsOf, undeclaredTopicProblem, type Topics } from '../../../shared/topics';
import { compileJourney, JourneyError, loadJourneysFromDir } from '../../../workflows/journeys';
import { checkAsl, PLACEHOLDER_STEP_FUNCTION_ARN } from '../asl';
import type { Parsed } from '../commands';
import { EXIT, type Context, type ExitCode } from '../io';
import { fileProblem, formatProblem, journeyFiles, plural, sortByPlace, workflowsOf, type Problem, type Workflows } from '../workflows';

export interface ValidationReport {
  problems: Problem[];
  warnings: Problem[];
  journeys: number;
  templates: number;
  tagRules: number;
}

export async function execute({ values }: Parsed, ctx: Context): Promise<ExitCode> {
  const w = workflowsOf(values, ctx);
  const report = validateWorkflows(w);
  const lines = [
    ...report.problems.map((p) => ({ p, text: formatProblem(p, w) })),
    ...report.warnings.map((p) => ({ p, text: `${w.show(p.file)}:${p.line}:${p.column}  warning: ${p.path}: ${p.message}` })),
  ];
  for (const { text } of sortByPlace(lines.map((l) => ({ ...l.p, text: l.text })), w)) ctx.out(text);

  const journeys = `${plural(report.journeys, 'journey')}, ${plural(report.templates, 'template')}`;
  const where = w.journeysDir === join(w.dir, 'journeys.d') ? w.show(w.dir) : `${w.show(w.journeysDir)} and ${w.show(w.dir)}`;
  const warned = report.warnings.length > 0 ? ` (${plural(report.warnings.length, 'warning')})` : '';
  if (report.problems.length === 0) {
    ctx.out(`ok: ${journeys}, ${plural(report.tagRules, 'tag rule')} and the segmentation config in ${where} are valid${warned}`);
    return EXIT.ok;
  }
  const files = new Set(report.problems.map((p) => w.show(p.file))).size;
  ctx.out(`${plural(report.problems.length, 'problem')} in ${plural(files, 'file')}${warned}; checked ${journeys}, tags.yaml and segmentation.config.yaml in ${where}`);
  return EXIT.failed;
}

/** The app's `smsOriginationIdentity` context in the nearest cdk.json (the folder or above), if it sets one. */
export function smsOriginationIdentityIn(dir: string): string | undefined {
  return cdkContextIn(dir, 'smsOriginationIdentity');
}

/** The context value `key` of the nearest cdk.json at or above `dir` (a non-empty string), if any. */
export function cdkContextIn(dir: string, key: string): string | undefined {
  for (let at = dir; ; at = dirname(at)) {
    const file = join(at, 'cdk.json');
    if (existsSync(file)) {
      try {
        const value = (JSON.parse(readFileSync(file, 'utf8')) as { context?: Record<string, unknown> }).context?.[key];
        return typeof value === 'string' && value !== '' ? value : undefined;
      } catch {
        return undefined;
      }
    }
    if (dirname(at) === at) return undefined;
  }
}

export function validateWorkflows(w: Workflows): ValidationReport {
  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  let journeys = 0;
  let templates = 0;
  let tagRules = 0;

  // tags.yaml first: the journeys' tags are checked against its rules and manual tags (not when it is broken: its own errors say enough).
  let tags: { rules: string[]; manual: string[] } | undefined;
  if (existsSync(w.tagsFile)) {
    const result = loadTagRules(readFileSync(w.tagsFile, 'utf8'), w.tagsFile);
    if (result.ok) {
      tagRules = result.rules.length;
      tags = { rules: result.rules.map((r) => r.name), manual: result.manualTags.map((m) => m.name) };
    } else problems.push(...result.errors);
    warnings.push(...result.warnings);
  } else problems.push(fileProblem(w.tagsFile, 'no tags.yaml: expected the tag rules file (it may hold "tags: []")'));

  // topics.yaml is optional (no topics: every `topic:` is refused); journeys and broadcasts are checked against it.
  let topics: Topics | undefined = NO_TOPICS;
  const topicsFile = join(w.dir, TOPICS_FILE);
  if (existsSync(topicsFile)) {
    const result = loadTopics(readFileSync(topicsFile, 'utf8'), topicsFile);
    if (result.ok) topics = topicsOf(result.topics);
    else {
      problems.push(...result.errors);
      topics = undefined;
    }
  }

  const haveJourneys = existsSync(w.journeysDir);
  const haveTemplates = existsSync(w.templatesDir);
  if (!haveJourneys) problems.push(fileProblem(w.journeysDir, 'no journeys folder: expected a folder with one <id>.yaml per journey'));
  if (!haveTemplates) problems.push(fileProblem(w.templatesDir, 'no templates folder: expected <config>/templates with <template>.<channel>.liquid files'));
  if (haveJourneys && haveTemplates) {
    journeys = journeyFiles(w).length;
    templates = readdirSync(w.templatesDir).filter((n) => n.endsWith('.liquid')).length;
    try {
      // The engine's own loader: every problem of every file, templates included.
      const loaded = loadJourneysFromDir(w.journeysDir, w.templatesDir, {
        webhookTargets: w.webhookTargets,
        showTemplatesDir: w.show(w.templatesDir),
        ...(tags !== undefined && { tags }),
        topics,
        // An SMS send validates here but synth refuses it without an origination identity: say so, and how to give it.
        smsDeployable: smsOriginationIdentityIn(w.dir) !== undefined,
        // Likewise every channel whose AWS sender needs a deployment setting (WhatsApp: whatsappPhoneNumberId).
        undeployedChannels: DEPLOYED_CHANNELS.filter((c) => cdkContextIn(w.dir, c.context) === undefined).map((c) => c.id),
      });
      warnings.push(...loaded.warnings);
      for (const { file, journey } of loaded.journeys) {
        // The compiler runs the meaning checks again and asl-validator checks what it made: a compiler bug shows here, not at deploy.
        try {
          const compiled = compileJourney(journey, { stepFunctionArn: PLACEHOLDER_STEP_FUNCTION_ARN, ...loaded.catalog, webhookTargets: w.webhookTargets, topics: loaded.topics });
          for (const message of checkAsl(compiled.definition)) problems.push({ file, line: 1, column: 1, path: '(compiled ASL)', message });
        } catch (error) {
          if (!(error instanceof JourneyError)) throw error;
          problems.push(...error.errors.map((p) => ({ ...p, file })));
        }
      }
    } catch (error) {
      if (!(error instanceof JourneyError)) throw error;
      problems.push(...error.errors);
    }
  }

  if (existsSync(w.configFile)) {
    const result = loadSegmentationConfig(readFileSync(w.configFile, 'utf8'), w.configFile);
    if (!result.ok) problems.push(...result.errors);
  } else problems.push(fileProblem(w.configFile, 'no segmentation.config.yaml: expected the segmentation settings file (it may be empty: every setting has a default)'));

  // segments.yaml is optional (named segments); when there, it must load as the engine loads it.
  const segmentsFile = join(w.dir, SEGMENTS_FILE);
  if (existsSync(segmentsFile)) {
    const result = loadSegments(readFileSync(segmentsFile, 'utf8'), segmentsFile);
    if (!result.ok) problems.push(...result.errors);
    warnings.push(...result.warnings);
  }

  // broadcasts.d is optional (one-off messages to a segment); each file as the engine loads it, its template there.
  const broadcastsDir = join(w.dir, 'broadcasts.d');
  if (existsSync(broadcastsDir)) {
    for (const name of readdirSync(broadcastsDir).filter((n) => /\.ya?ml$/.test(n)).sort()) {
      const file = join(broadcastsDir, name);
      const result = loadBroadcastFile(readFileSync(file, 'utf8'), file, name.replace(/\.ya?ml$/, ''));
      if (!result.ok) problems.push(...result.errors);
      else if (result.broadcast.topic !== undefined && topics !== undefined && topics.get(result.broadcast.topic) === undefined) {
        problems.push(undeclaredTopicProblem(readFileSync(file, 'utf8'), file, ['topic'], result.broadcast.topic, topics));
      } else if (haveTemplates && !existsSync(join(w.templatesDir, `${result.broadcast.send.template}.${result.broadcast.send.channel}.liquid`))) {
        const { template, channel } = result.broadcast.send;
        problems.push({ file, line: 1, column: 1, path: 'send.template', message: `no ${channel} template "${template}": expected a file ${w.show(join(w.templatesDir, `${template}.${channel}.liquid`))}` });
      }
    }
  }

  return { problems: sortByPlace(problems, w), warnings: sortByPlace(warnings, w), journeys, templates, tagRules };
}
