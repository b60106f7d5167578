import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { LineCounter, parseDocument, type Node } from 'yaml';
import type { JourneySpec } from '../../functions/journeys';
import { journeySpecOf } from '../../functions/journeys/release-specs';
import { DEPLOYED_CHANNELS, type Topics } from '../../shared';
import { JOURNEY_BUNDLE, JOURNEYS_FILE_FORMAT } from '../../shared/config/journey-env';
import { compileJourney, formatProblems, JourneyError, loadJourneysFromDir, type CompiledJourney, type LoadedJourneys } from '../../workflows/journeys';
import { formatPath } from '../../workflows/journeys/errors';
import { deploymentHint, sendsOn } from '../../workflows/journeys/load';
import { JOURNEYS, STAGE_NAME_PATTERN } from './defaults';

/**
 * The start of the name of every journey state machine of a stage, `Rapport-<stage>_`:
 * stage names and journey ids never hold `_`, so one stage's prefix matches none of
 * another stage's names (`Rapport-dev_` is not a prefix of `Rapport-dev-x_welcome`).
 * Grants and the run-ended rule name the journeys' state machines by this prefix, and the
 * functions find each journey's ARN as the prefix's ARN plus the journey id.
 */
export const stateMachineNamePrefix = (stageName: string): string => `Rapport-${stageName}_`;

/** The name of a journey's state machine: `Rapport-<stage>_<journey id>`. */
export const stateMachineName = (stageName: string, journeyId: string): string => `${stateMachineNamePrefix(stageName)}${journeyId}`;

/**
 * The nested stack (0-based) of `journeys` stacks that holds a journey's own resources, when `journeyStacks` > 1.
 * Rendezvous hashing: each stack scores the journey by a hash of its id and the stack's number, the highest score
 * wins. The place depends on the id and the number of stacks alone, so adding or removing another journey never
 * moves one (a move replaces its state machine: its runs in flight end); and raising the number of stacks from n
 * to n + 1 moves only the journeys the new stack wins, about 1 in n + 1, all into it.
 */
export function journeyStackIndex(journeyId: string, stacks: number): number {
  let best = 0;
  let bestScore = -1;
  for (let index = 0; index < stacks; index++) {
    // 48 bits of SHA-256: an exact integer, and ties as rare as collisions.
    const score = Number.parseInt(createHash('sha256').update(`${journeyId}#${index}`).digest('hex').slice(0, 12), 16);
    if (score > bestScore) {
      best = index;
      bestScore = score;
    }
  }
  return best;
}

/** The construct id of the nested stack `index` (0-based) of the journeys: `JourneyStack1`, `JourneyStack2`, ... */
export const journeyStackId = (index: number): string => `JourneyStack${index + 1}`;

/**
 * Journeys at synth: every `*.yaml` in the journeys folder is loaded, checked
 * against the templates, the configured outbound webhooks and channels, and
 * compiled to its state machine definition and bus patterns. The Lambda
 * functions never see the YAML: they read the compiled specs from
 * `journeys.json`, which synth writes and bundles.
 */

export interface JourneySources {
  /** The stage: it starts every state machine's name (`stateMachineName`), whose length Step Functions limits. */
  readonly stageName: string;
  readonly journeysDir: string;
  readonly templatesDir: string;
  /** Names of the configured outbound webhooks: a journey posting to another fails synth. */
  readonly webhookTargets: readonly string[];
  /** Whether an SMS origination identity is configured: without one, a journey sending SMS fails synth. */
  readonly sms: boolean;
  /** The channels whose AWS deployment setting is given (WhatsApp's phone number id): a journey sending on another such channel fails synth. */
  readonly deployed?: readonly string[];
  /** The declared subscription topics (topics.yaml): a journey naming another fails synth; compiled with their defaults. */
  readonly topics?: Topics | undefined;
  /**
   * The tag rules' names and the manual tags declared in tags.yaml: every tag a
   * journey reads must be one of them or a tag some journey adds, else synth fails
   * (as `rapport validate` does). Unchecked when absent (no or a broken tags.yaml, reported on its own).
   */
  readonly tags?: { readonly rules: readonly string[]; readonly manual: readonly string[] };
  /** How many nested stacks hold the journeys' own resources (`RapportProps.journeyStacks`); 1: none, all in the parent. @default 1 */
  readonly journeyStacks?: number;
}

export type JourneyLoad = { readonly ok: true; readonly loaded: LoadedJourneys } | { readonly ok: false; readonly problems: string[] };

/**
 * Load and check every journey, as `loadJourneysFromDir` does for the embedded
 * engine, plus what only the deployment knows (SMS configured, journey count).
 * Problems read `file:line:column path: message`, one per line.
 */
export function loadJourneys(sources: JourneySources): JourneyLoad {
  const folders = (
    [
      ['journeysDir', sources.journeysDir, 'the journey files (*.yaml)'],
      ['templatesDir', sources.templatesDir, 'the message templates (<template>.<channel>.liquid)'],
    ] as const
  ).flatMap(([prop, dir, what]) => (isDirectory(dir) ? [] : [`${prop} ${dir} is not a folder; it must hold ${what}`]));
  if (folders.length > 0) return { ok: false, problems: folders };

  let loaded: LoadedJourneys;
  try {
    loaded = loadJourneysFromDir(sources.journeysDir, sources.templatesDir, {
      webhookTargets: sources.webhookTargets,
      ...(sources.tags !== undefined && { tags: sources.tags }),
      topics: sources.topics,
    });
  } catch (error) {
    if (error instanceof JourneyError) return { ok: false, problems: error.errors.map((problem) => formatProblems([problem])) };
    throw error;
  }

  const problems = journeyCountProblems(
    sources.journeysDir,
    loaded.journeys.map(({ journey }) => journey.id),
    sources.journeyStacks ?? 1,
  );
  // An invalid stage name is reported on its own (validate.ts); its names are not checked here.
  if (STAGE_NAME_PATTERN.test(sources.stageName)) {
    for (const { file, journey } of loaded.journeys) {
      const name = stateMachineName(sources.stageName, journey.id);
      if (name.length <= JOURNEYS.stateMachineNameMaxLength) continue;
      const { line, column } = locate(file, ['id']);
      const room = JOURNEYS.stateMachineNameMaxLength - stateMachineNamePrefix(sources.stageName).length;
      problems.push(
        formatProblems([
          {
            file,
            line,
            column,
            path: 'id',
            message: `names the state machine "${name}" (${name.length} characters), but Step Functions allows ${JOURNEYS.stateMachineNameMaxLength}: with stage "${sources.stageName}", a journey id may have at most ${room} characters`,
          },
        ]),
      );
    }
  }
  if (!sources.sms) {
    for (const { file, journey } of loaded.journeys) {
      journey.steps.forEach((step, index) => {
        if (!('send' in step) || step.send.channel !== 'sms') return;
        const at = ['steps', index, 'send', 'channel'] as const;
        const { line, column } = locate(file, at);
        problems.push(
          formatProblems([
            {
              file,
              line,
              column,
              path: `steps[${index}].send.channel`,
              message: 'sends SMS, but this Rapport has no SMS origination identity: set the sms prop (sms.originationIdentity; with the app: npx cdk deploy -c smsOriginationIdentity=arn:aws:sms-voice:<region>:<account>:phone-number/<id>), or send on another channel',
            },
          ]),
        );
      });
    }
  }
  // Every other channel whose sender needs a deployment setting (the channel registry's `deployment`).
  for (const channel of DEPLOYED_CHANNELS.filter((c) => !(sources.deployed ?? []).includes(c.id))) {
    for (const { file, journey } of loaded.journeys) {
      for (const at of sendsOn(journey, channel.id)) {
        const { line, column } = locate(file, at);
        problems.push(formatProblems([{ file, line, column, path: formatPath(at), message: `${deploymentHint(channel.id)!.replace(/; the embedded engine needs none$/, '')}, or send on another channel` }]));
      }
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, loaded };
}

/** The channels the compiled journeys' send steps use: each send's channel, its fallback and its variants' channels. */
export function channelsSentOn(journeys: readonly CompiledJourney[]): Set<string> {
  const channels = new Set<string>();
  for (const journey of journeys) {
    for (const state of Object.values(journey.definition.States)) {
      const payload = (state as { Parameters?: { Payload?: { action?: unknown; config?: { channel?: unknown; fallback?: unknown; variants?: Array<{ channel?: unknown }> } } } }).Parameters?.Payload;
      if (payload?.action !== 'send' || payload.config === undefined) continue;
      for (const channel of [payload.config.channel, payload.config.fallback, ...(payload.config.variants ?? []).map((v) => v.channel)]) if (typeof channel === 'string') channels.add(channel);
    }
  }
  return channels;
}

/**
 * Journeys beyond what the stacks deploy, each problem naming the limit and the prop that raises it: in one stack
 * (`journeyStacks` 1), `JOURNEYS.maxJourneys`; in nested stacks, `JOURNEYS.maxJourneysInNestedStacks` in all and
 * `JOURNEYS.maxJourneysPerNestedStack` in each (a journey's stack follows from its id: `journeyStackIndex`).
 */
export function journeyCountProblems(journeysDir: string, journeyIds: readonly string[], journeyStacks: number): string[] {
  const count = journeyIds.length;
  const raise = 'the prop journeyStacks, or -c journeyStacks=<n> with the app; docs/operations.md, "More than 70 journeys"';
  if (journeyStacks <= 1) {
    if (count <= JOURNEYS.maxJourneys) return [];
    return [
      `journeysDir ${journeysDir} has ${count} journeys, at most ${JOURNEYS.maxJourneys} deploy in one stack: ${JOURNEYS.maxJourneysReason}; ` +
        `set journeyStacks to 2 or more (${raise}) to deploy up to ${JOURNEYS.maxJourneysInNestedStacks} in nested stacks`,
    ];
  }
  if (count > JOURNEYS.maxJourneysInNestedStacks) {
    return [
      `journeysDir ${journeysDir} has ${count} journeys, at most ${JOURNEYS.maxJourneysInNestedStacks} deploy, in any number of nested stacks (journeyStacks ${journeyStacks}): ` +
        `the most measured against every deploy limit (the parent stack's dashboard and outputs grow with the journeys, and each derived-event trigger is a rule on the bus, 300 by default)`,
    ];
  }
  const perStack = new Map<number, number>();
  for (const id of journeyIds) {
    const index = journeyStackIndex(id, journeyStacks);
    perStack.set(index, (perStack.get(index) ?? 0) + 1);
  }
  return [...perStack]
    .filter(([, held]) => held > JOURNEYS.maxJourneysPerNestedStack)
    .sort(([a], [b]) => a - b)
    .map(
      ([index, held]) =>
        `journeysDir ${journeysDir}: ${held} journeys fall in nested stack ${journeyStackId(index)} of journeyStacks ${journeyStacks} (a journey's stack follows from its id), at most ${JOURNEYS.maxJourneysPerNestedStack} fit in one: ` +
        `each adds four resources and two outputs, and CloudFormation allows ${JOURNEYS.maxStackResources} resources and ${JOURNEYS.maxStackOutputs} outputs per stack; raise journeyStacks (${raise})`,
    );
}

/** Every loaded journey compiled, each Task invoking `stepFunctionArn` (a token in the stack). */
export function compileJourneys(loaded: LoadedJourneys, stepFunctionArn: string, webhookTargets: readonly string[]): CompiledJourney[] {
  return loaded.journeys.map(({ journey }) => compileJourney(journey, { stepFunctionArn, ...loaded.catalog, webhookTargets, topics: loaded.topics }));
}

/** What the starter and the router need of a compiled journey (`JourneySpec`): patterns and entry rules, no ASL. */
/** The `JourneySpec` of a compiled journey (no ASL): one in `journeys.json`. */
export const journeySpec = journeySpecOf;

/**
 * Writes `journeys.json` (`{ format, journeys: JourneySpec[] }`) into `dir`, for
 * the bundles of the functions that run the starter or the router; returns its path.
 */
export function writeJourneysFile(dir: string, compiled: readonly CompiledJourney[], retired: readonly JourneySpec[] = []): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, JOURNEY_BUNDLE.journeysFile);
  writeFileSync(file, `${JSON.stringify({ format: JOURNEYS_FILE_FORMAT, journeys: compiled.map(journeySpec), ...(retired.length > 0 && { retired }) }, null, 2)}\n`);
  return file;
}

/** The template files of `templatesDir` (absolute paths), for the step function's bundle. */
export function templateFiles(templatesDir: string): string[] {
  return readdirSync(templatesDir)
    .filter((name) => name.endsWith('.liquid'))
    .sort()
    .map((name) => path.join(templatesDir, name));
}

/** Line and column of the node at `at` in a YAML file (1:1 when it is not there). */
function locate(file: string, at: readonly (string | number)[]): { line: number; column: number } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter });
  const offset = (doc.getIn(at, true) as Node | undefined)?.range?.[0];
  if (offset === undefined) return { line: 1, column: 1 };
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

function isDirectory(candidate: string): boolean {
  return statSync(candidate, { throwIfNoEntry: false })?.isDirectory() ?? false;
}
