/**
 * `rapport simulate <journey> --events file.ndjson`: a dry run of one journey
 * on the embedded engine (in memory), on virtual time that starts at the first
 * event. Events are replayed through the real webhook endpoint, signed, each
 * when the simulated clock reaches its timestamp; then the journey's remaining
 * time runs out and the funnel is read from the engine's counters and executions.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { signWebhook, decodeWebhookSecret } from '../../../functions/ingest/signature';
import { attributionView, DEFAULT_SEND_POLICY, formatAttribution } from '../../../functions/journeys';
import { stepOutcomes } from '../../../functions/journeys/step-outcomes';
import { INGEST_EVENT_SOURCE } from '../../../shared';
import { loadSegmentationConfig, loadTagRules } from '../../../shared/segmentation';
import { ACTIONS, compileJourney, formatDuration, parseDuration, type CompiledJourney, type Journey, type Step } from '../../../workflows/journeys';
import type { Engine } from '../../embedded/engine';
import { scheduleBatches, type ScheduledBatches } from '../../embedded/batches';
import type { VirtualClock } from '../../embedded/virtual-time';
import { PLACEHOLDER_STEP_FUNCTION_ARN } from '../asl';
import type { Parsed } from '../commands';
import { EXIT, UsageError, type Context, type ExitCode } from '../io';
import { diagnoseTrigger } from '../trigger-diagnosis';
import { fileProblem, findJourneyFile, loadOneJourney, plural, printFailure, tagsAddedInFolder, workflowsOf, type Problem, type Workflows } from '../workflows';

/** Events per request (the endpoint takes up to 500 and 1 MiB). */
const BATCH_EVENTS = 500;
const BATCH_BYTES = 900_000;
const DAY = 86_400;

export interface ReplayEvent {
  line: number;
  at: number;
  event: Record<string, unknown>;
}

export async function execute({ values, positionals }: Parsed, ctx: Context): Promise<ExitCode> {
  if (typeof values.events !== 'string') throw new UsageError('missing --events <file.ndjson>: the events to replay, one JSON event with a "timestamp" per line');
  // Before virtual time, --scale set the replay's speed; the replay now jumps from one due event or wait to the next.
  if (values.scale !== undefined) ctx.err('simulate: --scale is ignored: the simulation runs on virtual time (each event at its timestamp, each wait to the second)');
  const quietHours = quietHoursOf(values['quiet-hours']);
  const w = workflowsOf(values, ctx);
  const eventsFile = resolve(ctx.cwd, values.events);
  if (!existsSync(eventsFile)) throw new UsageError(`--events: no file ${values.events}`);

  // Everything the engine would refuse, refused here first with file:line:col.
  checkSegmentationFiles(w, ctx);
  const journeyFile = findJourneyFile(positionals[0]!, w, ctx);
  const { journey, catalog, topics } = loadOneJourney(journeyFile, w, ctx);
  const compiled = compileJourney(journey, { stepFunctionArn: PLACEHOLDER_STEP_FUNCTION_ARN, ...catalog, webhookTargets: w.webhookTargets, topics });
  const events = readEvents(eventsFile, w, ctx);

  const first = events[0]!.at;
  const last = events.at(-1)!.at;
  const quietSeconds = quietHours ? quietWindowSeconds(quietHours) : 0;
  const journeySeconds = longestWaitSeconds(journey, compiled, quietSeconds);
  const span = last - first + journeySeconds * 1000;
  const end = first + span + Math.max(60_000, span * 0.01);

  const progress = (text: string) => ctx.err(`simulate: ${text}`);
  const plan: Plan = { w, ctx, journey, journeyFile, compiled, events, eventsFile, first, last, end, journeySeconds, quietHours, progress };
  const startedAt = Date.now();
  progress(`${plural(events.length, 'event')} from ${w.show(eventsFile)}, ${iso(first)} to ${iso(last)}, on virtual time`);
  const { report, rejected, simulatedEnd, trigger } = await simulate(plan);
  for (const { text } of rejected) ctx.err(text);
  const rejectedEvents = new Set(rejected.map((r) => r.line)).size;
  printReport(ctx, { journey, compiled, report, events: events.length, rejected: rejectedEvents, eventsFile: w.show(eventsFile), first, last, simulatedEnd, quietHours, trigger });
  const realMs = Math.max(1, Date.now() - startedAt);
  progress(`done in ${seconds(realMs)} s (${Math.round((events.length * 1000) / realMs)} events/s)`);
  if (rejectedEvents > 0) {
    ctx.err(`${plural(rejectedEvents, 'event')} rejected by the engine (listed above)`);
    return EXIT.failed;
  }
  return EXIT.ok;
}

interface Plan {
  w: Workflows;
  ctx: Context;
  journey: Journey;
  journeyFile: string;
  compiled: CompiledJourney;
  events: ReplayEvent[];
  eventsFile: string;
  first: number;
  last: number;
  /** When the simulation ends at the latest (simulated ms). */
  end: number;
  journeySeconds: number;
  quietHours: { start: string; end: string } | undefined;
  progress: (text: string) => void;
}

/** An event the engine refused: its line in the file, and one `file:line:1  path: message` per problem. */
interface Rejection {
  line: number;
  text: string;
}

interface Outcome {
  report: Funnel;
  rejected: Rejection[];
  simulatedEnd: number;
  /** Why nobody entered, when the trigger matched no event on the bus. */
  trigger: string[];
}

/**
 * One engine on virtual time: each event goes in at its timestamp (events at the same instant in one
 * request), and the clock jumps to the next event, wait, retry or daily sweep only once the engine is
 * idle, so the same input gives the same report on any machine, under any load.
 */
async function simulate(plan: Plan): Promise<Outcome> {
  const { w, journey, journeyFile, compiled, events, first, end, progress } = plan;
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const { startEngine } = await import('../../embedded/engine');
  const { VirtualClock } = await import('../../embedded/virtual-time');
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const key = decodeWebhookSecret(secret);
  const clock = new VirtualClock(first);
  // Only this journey runs: the engine gets a folder holding just its file.
  const journeysDir = mkdtempSync(join(tmpdir(), 'rapport-simulate-'));
  copyFileSync(journeyFile, join(journeysDir, `${journey.id}.yaml`));
  const sink = await startWebhookSink();
  let engine: Engine | undefined;
  try {
    engine = await startEngine({
      port: 0,
      dataDir: null,
      sources: [{ id: 'default', webhookSecrets: [secret], writeKeys: [] }],
      clock,
      configDir: w.dir,
      journeysDir,
      // The journey may read a tag another journey of the folder adds: the engine, given this journey alone, counts those as known.
      tagsAddedElsewhere: tagsAddedInFolder(w),
      templatesDir: w.templatesDir,
      env: plan.ctx.env,
      // Without quiet hours the key must still be there: the engine's default has them.
      sendPolicy: { quietHours: plan.quietHours },
      // Webhook steps post to a local sink: a dry run never reaches a real endpoint.
      outboundWebhooks: Object.fromEntries(w.webhookTargets.map((name) => [name, { url: sink.url, secret }])),
      // The daily sweep (time-based tags, inactivity) is a timer on the virtual clock, once per simulated day.
      logLevel: 'SILENT',
    });
    const replayed = schedule(engine, events, clock, key, plan);
    const enrolsLater = compiled.triggerPatterns.some((p) => !(p.source as string[]).includes(INGEST_EVENT_SOURCE));
    const running = () => [...engine!.journeys.sfn.executions.values()].filter((e) => e.status === 'RUNNING').length;
    // Runs started by time alone (sweep-derived triggers) may still come: then run to the end; otherwise stop once every event is in and every run has ended.
    await clock.run(end, () => replayed.batches.pending === 0 && !enrolsLater && running() === 0);
    replayed.batches.check();
    progress(`all events sent; simulated until ${iso(clock.now().getTime())} (the journey's longest path waits ${formatDuration(plan.journeySeconds) || '0s'})`);
    return { report: await funnel(engine, journey), rejected: replayed.rejected, simulatedEnd: clock.now().getTime(), trigger: diagnoseTrigger(engine.bus.log, compiled.triggerPatterns) };
  } finally {
    await engine?.stop();
    sink.server.closeAllConnections();
    await new Promise<void>((r) => sink.server.close(() => r()));
    rmSync(journeysDir, { recursive: true, force: true });
  }
}

function checkSegmentationFiles(w: Workflows, ctx: Context): void {
  const problems: Problem[] = [];
  if (!existsSync(w.tagsFile)) problems.push(fileProblem(w.tagsFile, 'no tags.yaml: the engine needs the tag rules file (it may hold "tags: []")'));
  else {
    const result = loadTagRules(readFileSync(w.tagsFile, 'utf8'), w.tagsFile);
    if (!result.ok) problems.push(...result.errors);
  }
  if (!existsSync(w.configFile)) problems.push(fileProblem(w.configFile, 'no segmentation.config.yaml: the engine needs it (it may be empty)'));
  else {
    const result = loadSegmentationConfig(readFileSync(w.configFile, 'utf8'), w.configFile);
    if (!result.ok) problems.push(...result.errors);
  }
  if (problems.length > 0) throw printFailure(ctx, w, problems);
}

/** --quiet-hours: HH:MM-HH:MM, or off; by default the engine's (and production's) own, 21:00-08:00. */
function quietHoursOf(option: unknown): { start: string; end: string } | undefined {
  if (option === undefined) return DEFAULT_SEND_POLICY.quietHours;
  if (option === 'off') return undefined;
  const match = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/.exec(String(option));
  if (!match) throw new UsageError(`--quiet-hours: expected HH:MM-HH:MM, like 21:00-08:00, or off, got ${JSON.stringify(option)}`);
  return { start: `${match[1]}:${match[2]}`, end: `${match[3]}:${match[4]}` };
}

function quietWindowSeconds({ start, end }: { start: string; end: string }): number {
  const minutes = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3));
  return (((minutes(end) - minutes(start)) + 24 * 60) % (24 * 60)) * 60;
}

/** The longest any run can take: its path's waits and timeouts, and quiet hours deferring each marketing send. */
export function longestWaitSeconds(journey: Journey, compiled: CompiledJourney, quietSeconds = 0): number {
  const steps = new Map(journey.steps.map((s) => [s.id, s]));
  let longest = 0;
  for (const { path } of compiled.transitionsPerPath) {
    let total = 0;
    for (const name of path) {
      const step = steps.get(name);
      if (step) total += pauseSeconds(step) + ('send' in step && step.send.kind !== 'transactional' ? quietSeconds : 0);
    }
    longest = Math.max(longest, total);
  }
  return longest;
}

function pauseSeconds(step: Step): number {
  if ('wait' in step) return parseDuration(step.wait) ?? 0;
  if ('wait_for' in step) return parseDuration(step.wait_for.timeout) ?? 0;
  // The next matching time of day: within a day, or a week when only some days qualify.
  if ('wait_until' in step) return step.wait_until.days ? 7 * DAY : DAY;
  return 0;
}

const ZONED_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;

function readEvents(file: string, w: Workflows, ctx: Context): ReplayEvent[] {
  const events: ReplayEvent[] = [];
  const problems: Problem[] = [];
  readFileSync(file, 'utf8')
    .replace(/^\uFEFF/, '') // a byte-order mark some editors write
    .split(/\r?\n/)
    .forEach((text, i) => {
      const line = i + 1;
      if (text.trim() === '') return;
      const at = (column: number, path: string, message: string) => problems.push({ file, line, column, path, message });
      let event: unknown;
      try {
        event = JSON.parse(text);
      } catch (error) {
        at(1, '(line)', `not JSON: ${(error as Error).message}`);
        return;
      }
      if (event === null || typeof event !== 'object' || Array.isArray(event)) return void at(1, '(line)', 'expected one event object per line, like {"type":"track","userId":"u1","event":"Signed Up","timestamp":"2026-03-02T09:00:00Z"}');
      const timestamp = (event as Record<string, unknown>).timestamp;
      const column = valueColumn(text, 'timestamp');
      if (typeof timestamp !== 'string') return void at(1, 'timestamp', 'missing: every event needs a "timestamp" (ISO 8601 with a zone, like 2026-03-02T09:00:00Z) to be replayed at');
      const ms = Date.parse(timestamp);
      if (!ZONED_TIME.test(timestamp) || Number.isNaN(ms)) return void at(column, 'timestamp', `expected an ISO 8601 time with a zone, like 2026-03-02T09:00:00Z, got ${JSON.stringify(timestamp)}`);
      events.push({ line, at: ms, event: event as Record<string, unknown> });
    });
  if (problems.length > 0) throw printFailure(ctx, w, problems);
  if (events.length === 0) throw printFailure(ctx, w, [fileProblem(file, 'no events: expected one JSON event per line')]);
  // In time order; events at the same time keep their order in the file.
  return events.sort((a, b) => a.at - b.at || a.line - b.line);
}

/** The 1-based column of a top-level key's value on a JSON line (of the key if the value cannot be found, else 1). */
function valueColumn(text: string, key: string): number {
  const match = new RegExp(`"${key}"\\s*:\\s*`).exec(text);
  return match ? match.index + match[0].length + 1 : 1;
}

/**
 * Each group of events with one timestamp becomes a timer on the virtual clock that posts them (up to
 * BATCH_EVENTS and BATCH_BYTES per request) and holds the clock until the engine has answered.
 */
function schedule(
  engine: Engine,
  events: ReplayEvent[],
  clock: VirtualClock,
  key: Buffer,
  o: { w: Workflows; eventsFile: string; progress: (text: string) => void },
): { rejected: Rejection[]; batches: ScheduledBatches } {
  const rejected: Rejection[] = [];
  let sent = 0;
  let reported = 0;
  const started = Date.now();
  const batches = scheduleBatches(clock, events, {
    at: (e) => e.at,
    maxItems: BATCH_EVENTS,
    maxBytes: BATCH_BYTES,
    sizeOf: (e) => JSON.stringify(e.event).length,
    send: async (batch) => {
      rejected.push(...(await post(engine.url, key, batch, o)));
      sent += batch.length;
      const tenths = Math.floor((sent * 10) / events.length);
      if (tenths > reported) {
        reported = tenths;
        o.progress(`${tenths * 10}% of events sent (${sent}/${events.length}), simulated time ${iso(clock.now().getTime())}, ${seconds(Date.now() - started)} s`);
      }
    },
  });
  return { rejected, batches };
}

/** Post one batch, signed; returns the problems of the events the engine rejected. */
async function post(url: string, key: Buffer, batch: ReplayEvent[], o: { w: Workflows; eventsFile: string }): Promise<Rejection[]> {
  const response = await signedPost(url, key, JSON.stringify({ batch: batch.map((e) => e.event) }));
  if (response.status === 202) return [];
  const text = await response.text();
  if (response.status !== 400) throw new Error(`the engine answered ${response.status} to a batch of events (lines ${batch[0]!.line}-${batch.at(-1)!.line}): ${text}`);
  const { rejected = [] } = JSON.parse(text) as { rejected?: Array<{ index: number; problems: Array<{ path: string; message: string }> }> };
  return rejected.flatMap((r) => {
    const line = batch[r.index]?.line ?? batch[0]!.line;
    return r.problems.map((p) => ({ line, text: `${o.w.show(o.eventsFile)}:${line}:1  ${p.path}: ${p.message}` }));
  });
}

function signedPost(url: string, key: Buffer, body: string): Promise<Response> {
  const id = `msg_${randomUUID()}`;
  // Signatures are checked against wall-clock time, whatever the journey clock says.
  const timestamp = Math.floor(Date.now() / 1000);
  return fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(key, id, timestamp, body) },
    body,
  });
}

interface StepRow {
  id: string;
  action: string;
  /** What the step does, e.g. "email welcome", "1d", "Order Completed (7d)". */
  what: string;
  /** Runs that entered the step. */
  reached: number;
  /** Distinct customers among them. */
  customers: number;
  sent?: number;
  /** Skipped sends by reason, and sends that failed. */
  skipped: Record<string, number>;
  deferred: Record<string, number>;
  /** Sends by the locale variant of the template they were rendered from (`default`: the default file). */
  locales: Record<string, number>;
  /** Sends whose template read `recommendations`, by category recommended (`(none)`: it had none), from `<step>.recommended.<category>`. */
  recommended: Record<string, number>;
}

export interface Funnel {
  steps: StepRow[];
  counters: Record<string, number>;
  running: number;
  failures: string[];
}

async function funnel(engine: Engine, journey: Journey): Promise<Funnel> {
  const counters = await engine.journeys.records.stats(journey.id);
  const executions = [...engine.journeys.sfn.executions.values()].filter((e) => e.journeyId === journey.id);
  const steps = journey.steps.map((step): StepRow => {
    // Runs, as `entered` counts them: a customer who entered twice and reached the step twice counts twice.
    const runs = executions.filter((e) => e.states.includes(step.id));
    const reached = runs.length;
    const customers = new Set(runs.map((e) => e.input.customerId)).size;
    const sends = 'send' in step || 'webhook' in step;
    const failed = counters[`${step.id}.failed`] ?? 0;
    // A send with a fallback channel: what the fallback did is the step's too.
    const outcomes = stepOutcomes(counters, step.id, 'send' in step && step.send.fallback !== undefined);
    return {
      id: step.id,
      action: actionOf(step),
      what: describeStep(step),
      reached,
      customers,
      ...(sends && { sent: outcomes.sent }),
      skipped: { ...outcomes.skipped, ...(failed > 0 && { 'failed (send error)': failed }) },
      deferred: outcomes.deferred,
      locales: localesOf(counters, step.id),
      recommended: recommendedOf(counters, step.id),
    };
  });
  const failures = [...new Set(executions.filter((e) => e.status === 'FAILED').map((e) => e.error ?? 'unknown error'))];
  return { steps, counters, running: executions.filter((e) => e.status === 'RUNNING').length, failures };
}

/** A step's sends by locale variant (`<step>.locale.<locale>.sent`); the rest of `<step>.sent` went out from the default file. */
function localesOf(counters: Record<string, number>, stepId: string): Record<string, number> {
  const prefix = `${stepId}.locale.`;
  const byLocale = Object.fromEntries(Object.entries(counters).flatMap(([k, n]) => (k.startsWith(prefix) && k.endsWith('.sent') ? [[k.slice(prefix.length, -'.sent'.length), n]] : [])));
  const inDefault = (counters[`${stepId}.sent`] ?? 0) - Object.values(byLocale).reduce((a, b) => a + b, 0);
  return inDefault > 0 ? { default: inDefault, ...byLocale } : byLocale;
}

/** A step's sends by category their template recommended (`<step>.recommended.<category>`, the fallback's too). */
function recommendedOf(counters: Record<string, number>, stepId: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const prefix of [`${stepId}.recommended.`, `${stepId}.fallback.recommended.`]) {
    for (const [k, n] of Object.entries(counters)) if (k.startsWith(prefix) && n > 0) out[k.slice(prefix.length)] = (out[k.slice(prefix.length)] ?? 0) + n;
  }
  return out;
}

function actionOf(step: Step): string {
  return ACTIONS.find((action) => action in step) ?? 'step';
}

/** The step in a few words: what a send sends, how long a wait waits. */
export function describeStep(step: Step): string {
  if ('send' in step) return `${step.send.channel === 'webhook' && step.send.target ? `webhook:${step.send.target}` : step.send.channel}${step.send.fallback ? ` or ${step.send.fallback}` : ''} ${step.send.template}${step.send.kind === 'transactional' ? ' (transactional)' : ''}`;
  if ('webhook' in step) return `${step.webhook.target} ${step.webhook.template}`;
  if ('wait' in step) return step.wait;
  if ('wait_until' in step) return `${step.wait_until.time}${step.wait_until.days ? ` ${step.wait_until.days.join(',')}` : ''}`;
  if ('wait_for' in step) return `${step.wait_for.event} (${step.wait_for.timeout})`;
  if ('branch' in step) return plural(step.branch.length, 'rule');
  if ('split' in step) return step.split.map((g) => `${g.percent}%${'holdout' in g ? ' holdout' : ''}`).join(' / ');
  if ('tag' in step) return 'add' in step.tag ? `+${step.tag.add}` : `-${step.tag.remove}`;
  if ('update' in step) return `${step.update.trait} = ${JSON.stringify(step.update.value)}`;
  if ('exit' in step) return step.exit === true ? 'end' : step.exit;
  return '';
}

function printReport(
  ctx: Context,
  r: {
    journey: Journey;
    compiled: CompiledJourney;
    report: Funnel;
    events: number;
    rejected: number;
    eventsFile: string;
    first: number;
    last: number;
    simulatedEnd: number;
    quietHours: { start: string; end: string } | undefined;
    /** Why nobody entered, when the trigger matched no event (`diagnoseTrigger`). */
    trigger: string[];
  },
): void {
  const { journey, report } = r;
  const c = (name: string) => report.counters[name] ?? 0;
  const entered = c('entered');
  const reasons = (m: Record<string, number>) =>
    Object.entries(m)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([reason, n]) => `${n} ${reason}`)
      .join(', ');

  ctx.out(`Simulation of journey "${journey.id}" v${journey.version} (${journey.name})`);
  ctx.out(`  events       ${r.events} from ${r.eventsFile}, ${iso(r.first)} to ${iso(r.last)}${r.rejected > 0 ? `, ${r.rejected} rejected` : ''}`);
  ctx.out(`  simulated    ${iso(r.first)} to ${iso(r.simulatedEnd)} (${formatDuration(Math.round((r.simulatedEnd - r.first) / 1000))}) on virtual time: every event at its timestamp`);
  ctx.out(`  quiet hours  ${r.quietHours ? `${r.quietHours.start}-${r.quietHours.end} (customer's time zone)` : 'off'}`);
  ctx.out();

  const header = ['step', 'action', 'reached', 'sent', 'skipped', 'deferred'];
  const rows = report.steps.map((s) => [s.id, `${s.action} ${s.what}`.trim(), s.customers === s.reached ? String(s.reached) : `${s.reached} (${plural(s.customers, 'customer')})`, s.sent === undefined ? '' : String(s.sent), reasons(s.skipped), reasons(s.deferred)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const numeric = new Set([2, 3]);
  const line = (cells: string[]) => `  ${cells.map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ')}`.trimEnd();
  ctx.out(line(header));
  for (const row of rows) ctx.out(line(row));
  ctx.out();

  // Sends per locale, once any went out in a locale variant (`<template>.<locale>.<channel>.liquid`).
  const localized = report.steps.filter((s) => Object.keys(s.locales).length > 0);
  if (localized.some((s) => Object.keys(s.locales).some((l) => l !== 'default'))) {
    const stepWidth = Math.max(...localized.map((s) => s.id.length));
    ctx.out('sends per locale');
    for (const s of localized) ctx.out(`  ${s.id.padEnd(stepWidth)}  ${reasons(s.locales)}`);
    ctx.out();
  }

  // What the cross-sell sends recommended (their templates read `recommendations`): by category, most first.
  const recommending = report.steps.filter((s) => Object.keys(s.recommended).length > 0);
  if (recommending.length > 0) {
    const stepWidth = Math.max(...recommending.map((s) => s.id.length));
    ctx.out('recommendations rendered (sends by category recommended)');
    for (const s of recommending) {
      const byCount = Object.entries(s.recommended).sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
      ctx.out(`  ${s.id.padEnd(stepWidth)}  ${byCount.map(([c, n]) => `${c} ${n}`).join(', ')}`);
    }
    ctx.out();
  }

  const outcome: Array<[string, string]> = [['entered', String(entered)]];
  for (const [reason, n] of Object.entries(report.counters).filter(([k]) => k.startsWith('skipped.')).sort()) outcome.push([`not entered: ${reason.slice('skipped.'.length)}`, String(n)]);
  const pct = (n: number, of: number) => `${of === 0 ? '0.0' : ((n * 100) / of).toFixed(1)}%`;
  outcome.push(['goal', `${c('goal')}  (${pct(c('goal'), entered)} of entered)`]);
  // A holdout's runs end at once; its customers still convert while held (`holdout.goal`, counted in goal too): the lift's baseline.
  if (c('holdout') > 0) {
    const treated = entered - c('holdout');
    outcome.push(['holdout', `${c('holdout')}  (goal ${c('holdout.goal')}, ${pct(c('holdout.goal'), c('holdout'))}; the others: ${pct(c('goal') - c('holdout.goal'), treated)})`]);
  }
  outcome.push(['exited', String(c('exited'))], ['completed', String(c('completed'))], ['failed', String(c('failed'))]);
  if (c('stopped') > 0) outcome.push(['stopped', String(c('stopped'))]);
  if (report.running > 0) outcome.push(['still running', `${report.running}  (the simulation ended before these runs did)`]);
  const width = Math.max(...outcome.map(([k]) => k.length));
  ctx.out('runs');
  for (const [k, v] of outcome) ctx.out(`  ${k.padEnd(width)}  ${v}`);
  for (const failure of report.failures.slice(0, 5)) ctx.out(`  failed: ${failure}`);
  if (entered === 0) for (const why of r.trigger) ctx.out(`  why nobody entered: ${why}`);
  ctx.out();
  for (const l of formatAttribution(attributionView(report.counters, r.compiled.attribution), '')) ctx.out(l);
}

interface Sink {
  server: Server;
  url: string;
}

function startWebhookSink(): Promise<Sink> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  return new Promise((resolveSink, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolveSink({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` }));
  });
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const seconds = (ms: number) => (ms / 1000).toFixed(1);
