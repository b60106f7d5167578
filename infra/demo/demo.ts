/**
 * The demo: a synthetic population replayed through the embedded engine on
 * virtual time, then each built-in journey's funnel, the population's lifecycle
 * stages, RFM tiers and tags, and the totals. `npm run demo` (main.ts) parses the
 * flags and calls `runDemo`; the test calls it with a small population.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Webhook } from 'standardwebhooks';
import { startEngine, type Engine } from '../embedded/engine';
import type { LocalExecution } from '../embedded/step-functions';
import { LIFECYCLE_STAGES, VALUE_TIERS } from '../../shared';
import { scheduleBatches } from '../embedded/batches';
import { VirtualClock } from '../embedded/virtual-time';
import { attributionView, DEFAULT_SEND_POLICY, formatAttribution, type AttributionView } from '../../functions/journeys';
import { stepOutcomes } from '../../functions/journeys/step-outcomes';
import { describePair } from '../../functions/profile/co-purchases';
import { loadJourneysFromDir, type CompiledJourney } from '../../workflows/journeys';
import { describePopulation, type DemoEvent, type Population } from './population';

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** Events per request: the ingest limit is 500 (and 1 MiB). */
const MAX_BATCH = 100;
/** Attempts at a batch the engine answers with a 5xx. */
const POST_ATTEMPTS = 5;

/** The engine answered a batch with a 5xx: it may take it on a later attempt. */
class EngineUnavailableError extends Error {
  override name = 'EngineUnavailableError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(`the engine answered ${status}: ${message}`);
  }
}

export interface DemoOptions {
  /** Quiet hours on (the engine's default, 21:00-08:00 in each customer's time zone) or off. @default true */
  quietHours?: boolean;
  /** After the window, let running journeys finish (up to the longest remaining wait). @default true */
  drain?: boolean;
  /** Progress on stderr every 10% of the events. @default true */
  progress?: boolean;
  /** Where the report goes, a line at a time. @default console.log */
  out?: (line: string) => void;
  /** Where progress goes. @default process.stderr */
  err?: (line: string) => void;
  /** Called with the engine after the report is printed, before the engine stops (tests read its HTTP API). */
  beforeStop?: (engine: Engine) => Promise<void>;
}

export interface StepFunnel {
  id: string;
  kind: string;
  reached: number;
  sent: number;
  skipped: Record<string, number>;
  deferred: Record<string, number>;
  /** Where the runs went next (branch and wait_for steps). */
  next: Record<string, number>;
}

export interface JourneyFunnel {
  id: string;
  trigger: string;
  goal?: string;
  entered: number;
  notEntered: Record<string, number>;
  steps: StepFunnel[];
  goalConversions: number;
  exited: number;
  completed: number;
  stopped: number;
  failed: number;
  running: number;
  /** What its messages earned (last touch). */
  attribution: AttributionView;
}

export interface DemoReport {
  quietHours: boolean;
  funnels: JourneyFunnel[];
  lifecycle: Record<string, number>;
  tiers: Record<string, number>;
  tags: Record<string, number>;
  /** The most counted "bought after" category pairs (`sofa → coffee-table`), with how many customers made each, most first. */
  boughtAfter: Array<{ pair: string; customers: number }>;
  totals: {
    events: number;
    sent: number;
    accepted: number;
    duplicates: number;
    rejected: number;
    requests: number;
    derived: Record<string, number>;
    outbox: Record<string, number>;
    deadLetters: number;
    sweeps: number;
  };
  seconds: { setup: number; replay: number; drain: number; report: number; total: number };
  lines: string[];
}

const fmt = (n: number) => n.toLocaleString('en-US');
const pct = (n: number, of: number) => (of === 0 ? '-' : `${((100 * n) / of).toFixed(1)}%`);
const list = (counts: Record<string, number>) =>
  Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${fmt(n)}`)
    .join(', ');
const inc = (counts: Record<string, number>, key: string, n = 1) => (counts[key] = (counts[key] ?? 0) + n);

/** Step kinds and templates from the journey specs (the compiled ASL does not keep them). */
function journeySpecs(journeysDir: string, templatesDir: string) {
  const loaded = loadJourneysFromDir(journeysDir, templatesDir, { webhookTargets: ['support', 'supervisor'] });
  const kinds = new Map<string, string>();
  const templates = new Map<string, string>();
  const descriptions = new Map<string, { trigger: string; goal?: string }>();
  for (const { journey } of loaded.journeys) {
    const j = journey as unknown as { id: string; trigger: { event: string }; goals?: Array<{ event: string }>; steps: Array<Record<string, unknown> & { id: string }> };
    descriptions.set(j.id, { trigger: j.trigger.event, ...(j.goals?.length && { goal: j.goals.map((g) => g.event).join(' | ') }) });
    for (const step of j.steps) {
      const kind = ['send', 'webhook', 'wait_for', 'wait_until', 'wait', 'branch', 'split', 'tag', 'update', 'exit'].find((k) => k in step) ?? 'step';
      kinds.set(`${j.id}/${step.id}`, kind);
      const config = (step.send ?? step.webhook) as { template?: string; channel?: string; target?: string } | undefined;
      if (config?.template) templates.set(`${j.id}/${step.id}`, `${config.template} (${config.channel ?? `webhook:${config.target}`})`);
    }
  }
  return { kinds, templates, descriptions };
}

/** The longest a run can still take after it started: every wait and wait_for timeout of the journey, plus quiet-hour deferrals. */
function longestRunMs(journey: CompiledJourney, quietHoursMs: number): number {
  let ms = 0;
  for (const w of Object.values(journey.waitStates)) ms += w === 'timestamp' ? quietHoursMs : w * 1000;
  for (const a of Object.values(journey.awaitStates)) ms += a.timeoutSeconds * 1000;
  return ms;
}

/** Steps in file order: the ASL states that are steps (not the `.route`/`.wait` detours, End or Failed). */
function stepIds(journey: CompiledJourney): string[] {
  return Object.keys((journey.definition as unknown as { States: Record<string, unknown> }).States).filter((s) => !s.includes('.') && s !== 'End' && s !== 'Failed');
}

function funnelOf(journey: CompiledJourney, stats: Record<string, number>, executions: LocalExecution[], specs: ReturnType<typeof journeySpecs>): JourneyFunnel {
  const ids = stepIds(journey);
  const isStep = new Set(ids);
  const steps = ids.map((id): StepFunnel => {
    // A send with a fallback channel: what the fallback did is the step's too.
    const config = (journey.definition as unknown as { States: Record<string, { Parameters?: { Payload?: { config?: { fallback?: string } } } }> }).States[id]?.Parameters?.Payload?.config;
    const { sent, skipped, deferred } = stepOutcomes(stats, id, config?.fallback !== undefined);
    const kind = specs.kinds.get(`${journey.id}/${id}`) ?? 'step';
    const next: Record<string, number> = {};
    let reached = 0;
    for (const e of executions) {
      const at = e.states.indexOf(id);
      if (at < 0) continue;
      reached++;
      if (kind !== 'branch' && kind !== 'wait_for') continue;
      const after = e.states.slice(at + 1).find((s) => isStep.has(s) || s === 'End' || s === 'Failed');
      inc(next, after ?? (e.status === 'RUNNING' ? '(waiting)' : e.status === 'ABORTED' ? '(goal or exit)' : '(ended)'));
    }
    return { id, kind, reached, sent, skipped, deferred, next };
  });
  const notEntered: Record<string, number> = {};
  for (const [key, n] of Object.entries(stats)) if (key.startsWith('skipped.')) notEntered[key.slice(8)] = n;
  const d = specs.descriptions.get(journey.id);
  return {
    id: journey.id,
    trigger: d?.trigger ?? '?',
    ...(d?.goal && { goal: d.goal }),
    entered: stats.entered ?? 0,
    notEntered,
    steps,
    goalConversions: stats.goal ?? 0,
    exited: stats.exited ?? 0,
    completed: stats.completed ?? 0,
    stopped: stats.stopped ?? 0,
    failed: stats.failed ?? 0,
    running: executions.filter((e) => e.status === 'RUNNING').length,
    attribution: attributionView(stats, journey.attribution),
  };
}

export function formatFunnel(f: JourneyFunnel): string[] {
  const lines = [`${f.id}  (trigger: ${f.trigger}${f.goal ? `; goal: ${f.goal}` : ''})`];
  lines.push(`  entered ${fmt(f.entered)}${Object.keys(f.notEntered).length ? `   not entered: ${list(f.notEntered)}` : ''}`);
  const w = Math.max(...f.steps.map((s) => s.id.length), 4);
  lines.push(`  ${'step'.padEnd(w)}  ${'kind'.padEnd(8)} ${'reached'.padStart(7)} ${'sent'.padStart(6)}  skipped / deferred / then`);
  for (const s of f.steps) {
    const sends = s.kind === 'send' || s.kind === 'webhook';
    const notes = [
      Object.keys(s.skipped).length ? `skipped: ${list(s.skipped)}` : '',
      Object.keys(s.deferred).length ? `deferred: ${list(s.deferred)}` : '',
      Object.keys(s.next).length ? `then: ${list(s.next)}` : '',
    ].filter(Boolean);
    lines.push(`  ${s.id.padEnd(w)}  ${s.kind.padEnd(8)} ${fmt(s.reached).padStart(7)} ${(sends ? fmt(s.sent) : '').padStart(6)}  ${notes.join('; ')}`.trimEnd());
  }
  lines.push(`  goal conversions ${fmt(f.goalConversions)} (${pct(f.goalConversions, f.entered)} of entered)   exited ${fmt(f.exited)}   completed ${fmt(f.completed)}   stopped ${fmt(f.stopped)}   failed ${fmt(f.failed)}   still running ${fmt(f.running)}`);
  const ended = f.goalConversions + f.exited + f.completed + f.stopped + f.failed;
  lines.push(`  check: entered ${fmt(f.entered)} ${ended + f.running === f.entered ? '=' : '≠'} ${fmt(ended)} ended + ${fmt(f.running)} running`);
  lines.push(...formatAttribution(f.attribution));
  return lines;
}

/** How many "bought after" pairs the demo's summary lists. */
const BOUGHT_AFTER_SHOWN = 5;

/** The most counted category pairs among the categories the population's orders bought, from the engine's top lists. */
async function boughtAfterPairs(engine: Engine, events: readonly DemoEvent[], now: Date): Promise<DemoReport['boughtAfter']> {
  const categories = new Set<string>();
  for (const e of events) {
    if (e.event !== 'Order Completed') continue;
    for (const p of (e.properties?.products as Array<{ category?: unknown }> | undefined) ?? []) if (typeof p.category === 'string') categories.add(`category:${p.category}`);
  }
  const tops = await engine.profiles.coPurchases.tops([...categories].sort().slice(0, 100), now);
  return [...tops]
    .flatMap(([a, list]) => list.map((c) => ({ pair: describePair(a, c.item), customers: c.count })))
    .sort((x, y) => y.customers - x.customers || x.pair.localeCompare(y.pair))
    .slice(0, BOUGHT_AFTER_SHOWN);
}

export async function runDemo(population: Population, options: DemoOptions = {}): Promise<DemoReport> {
  const t0 = performance.now();
  const lines: string[] = [];
  const write = options.out ?? ((line: string) => console.log(line));
  const out = (line = '') => {
    lines.push(line);
    write(line);
  };
  const err = options.err ?? ((line: string) => process.stderr.write(`${line}\n`));
  const quietHours = options.quietHours ?? true;
  const drain = options.drain ?? true;
  const events = population.events;
  const start = new Date(population.start).getTime();
  const end = new Date(population.end).getTime();
  const days = Math.round((end - start) / DAY);
  const described = describePopulation(population);

  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const webhook = new Webhook(secret);
  // Virtual time: the clock stands still while the engine works and jumps to the next event, wait or sweep when it is idle.
  const clock = new VirtualClock(start);
  const engine: Engine = await startEngine({
    port: 0,
    dataDir: null,
    sources: [{ id: 'demo', webhookSecrets: [secret] }],
    clock,
    sendPolicy: quietHours ? {} : { quietHours: undefined },
    sweepEveryMs: 0,
    logLevel: 'SILENT',
  });
  const specs = journeySpecs('workflows/journeys.d', 'workflows/templates');
  const qh = DEFAULT_SEND_POLICY.quietHours;
  const quietHoursMs = quietHours && qh ? (((Number(qh.end.slice(0, 2)) - Number(qh.start.slice(0, 2)) + 24) % 24) * HOUR) : 0;
  const horizon = Math.max(...engine.journeys.compiled.map((j) => longestRunMs(j, quietHoursMs)));

  out(`Rapport demo: ${fmt(population.options.customers)} customers over ${days} days (seed ${population.options.seed}), ${population.start.slice(0, 10)} to ${population.end.slice(0, 10)}`);
  out(`  ${fmt(events.length)} events: ${list(described.byEvent)}`);
  out(`  personas: ${list(described.personas)}; ${fmt(described.parents)} new parents; ${fmt(described.quiet)} with a last order 90+ days before the end`);
  out(`  virtual time: every event reaches the engine at its timestamp; the clock jumps to the next event, wait or sweep when the engine is idle`);
  out(`  quiet hours: ${quietHours && qh ? `${qh.start}-${qh.end} in each customer's time zone (the engine's default; marketing sends are deferred, not dropped)` : 'off'}`);
  out(`  sweep once per simulated day; ${drain ? `after day ${days}, journeys get up to ${(horizon / DAY).toFixed(1)} more simulated days (their longest remaining wait) to finish` : `stops at day ${days}; runs still in progress are reported`}`);
  out();

  const totals: DemoReport['totals'] = { events: events.length, sent: 0, accepted: 0, duplicates: 0, rejected: 0, requests: 0, derived: {}, outbox: {}, deadLetters: 0, sweeps: 0 };
  // A batch keeps its webhook-id across attempts: a retry is the same message to the engine's idempotency.
  async function post(batch: DemoEvent[]): Promise<void> {
    const body = JSON.stringify({ batch });
    const id = `msg_demo_${batch[0]!.messageId}`;
    // Signatures are checked against wall-clock time, whatever the journey clock says.
    const now = new Date();
    const res = await fetch(`${engine.url}/v1/events`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': webhook.sign(id, now, body) },
    });
    const json = (await res.json()) as { accepted?: string[]; duplicates?: string[]; rejected?: unknown[]; message?: string };
    totals.requests++;
    if (res.status >= 500) throw new EngineUnavailableError(res.status, json.message ?? JSON.stringify(json));
    totals.sent += batch.length;
    totals.accepted += json.accepted?.length ?? 0;
    totals.duplicates += json.duplicates?.length ?? 0;
    totals.rejected += json.rejected?.length ?? 0;
    if (res.status !== 202 && res.status !== 400) throw new Error(`the engine answered ${res.status}: ${json.message ?? JSON.stringify(json)}`);
  }

  const running = () => [...engine.journeys.sfn.executions.values()].filter((e) => e.status === 'RUNNING').length;
  const tReplay = performance.now();
  let sent = 0;
  let progressMark = 1;
  const progress = () => {
    if (options.progress === false) return;
    if (sent < (progressMark * events.length) / 10) return;
    while (progressMark < 10 && sent >= ((progressMark + 1) * events.length) / 10) progressMark++;
    const simDay = (clock.now().getTime() - start) / DAY;
    err(`[demo] ${String(progressMark * 10).padStart(3)}%  ${fmt(sent)}/${fmt(events.length)} events sent, day ${Math.min(days, simDay).toFixed(1)}/${days}, ${((performance.now() - tReplay) / 1000).toFixed(1)} s, ${fmt(running())} journey runs in progress`);
    progressMark++;
  };
  // Each instant's events, in requests of MAX_BATCH, as a timer on the clock that holds it until the engine answered.
  // A 5xx is retried as a sender would, after 1, 2, 4 and 8 simulated seconds: the backoff is a timer,
  // so the clock lets the engine's own timers due meanwhile run first instead of hammering it at once.
  const replayed = scheduleBatches(clock, events, {
    at: (e) => new Date(e.timestamp).getTime(),
    maxItems: MAX_BATCH,
    send: async (batch) => {
      await post(batch);
      sent += batch.length;
      progress();
    },
    retryIn: (error, attempt) => (error instanceof EngineUnavailableError && attempt < POST_ATTEMPTS ? 1000 * 2 ** (attempt - 1) : undefined),
  });
  // The daily sweep at each simulated midnight (UTC) of the window.
  for (let day = 1; day <= days; day++) {
    clock.schedule(start + day * DAY, () => void clock.track(engine.sweep().then(() => void totals.sweeps++)));
  }
  await clock.run(end);
  replayed.check();
  const replay = (performance.now() - tReplay) / 1000;

  // Let the journeys finish: until no run is in progress, or the longest a run can take has passed since the window's end.
  const tDrain = performance.now();
  if (drain) await clock.run(end + horizon + HOUR, () => running() === 0 && replayed.pending === 0);
  replayed.check();
  const drainSeconds = (performance.now() - tDrain) / 1000;
  const endedAt = clock.now();

  // The population once the journeys have finished, as the customer API shows it (the clock stands still: the report and the API agree).
  const tReport = performance.now();
  const frozenAt = clock.now();
  const lifecycle: Record<string, number> = Object.fromEntries(LIFECYCLE_STAGES.map((s) => [s, 0]));
  const tiers: Record<string, number> = Object.fromEntries([...VALUE_TIERS, 'none (never ordered)'].map((t) => [t, 0]));
  const tags: Record<string, number> = {};
  let missing = 0;
  for (const c of population.customers) {
    const res = await fetch(`${engine.url}/v1/customers/${encodeURIComponent(c.id)}`);
    if (res.status !== 200) {
      missing++;
      await res.body?.cancel();
      continue;
    }
    const profile = (await res.json()) as { lifecycleStage: string; rfm: { tier?: string }; tags: string[] };
    inc(lifecycle, profile.lifecycleStage);
    inc(tiers, profile.rfm.tier ?? 'none (never ordered)');
    for (const t of new Set(profile.tags)) inc(tags, t);
  }

  // The "bought after" counts the engine kept (what templates and branches read as `recommendations`): by category.
  const boughtAfter = await boughtAfterPairs(engine, population.events, frozenAt);

  const funnels: JourneyFunnel[] = [];
  for (const journey of engine.journeys.compiled) {
    const executions = [...engine.journeys.sfn.executions.values()].filter((e) => e.journeyId === journey.id);
    funnels.push(funnelOf(journey, await engine.journeys.records.stats(journey.id), executions, specs));
  }
  for (const e of engine.bus.log) if (e.source !== 'rapport.ingest') inc(totals.derived, e['detail-type']);
  for (const m of engine.outbox.entries) {
    if (m.channel === 'webhook') {
      const [execution, step] = [m.id.slice(0, m.id.lastIndexOf(':')), m.id.slice(m.id.lastIndexOf(':') + 1)];
      const journeyId = engine.journeys.sfn.executions.get(execution)?.journeyId ?? '?';
      inc(totals.outbox, specs.templates.get(`${journeyId}/${step}`) ?? `${step} (webhook:${m.target})`);
    } else {
      const tags = m.tags as Record<string, string>;
      inc(totals.outbox, specs.templates.get(`${tags.journey}/${tags.step}`) ?? `${tags.step} (${m.channel})`);
    }
  }
  totals.deadLetters = engine.deadLetters.length;

  out(`Journeys (funnels from the run counters and the executions; ${drain ? `simulated time ${endedAt.toISOString().slice(0, 16)}Z, ${((endedAt.getTime() - end) / DAY).toFixed(1)} days after the window` : 'at the end of the window'})`);
  for (const f of funnels) {
    out();
    for (const line of formatFunnel(f)) out(line);
  }
  const customers = population.customers.length;
  out();
  out(`Customers at ${frozenAt.toISOString().slice(0, 16)}Z, as the customer API shows them (${fmt(customers - missing)} profiles${missing ? `, ${missing} missing` : ''})`);
  out(`  lifecycle stage  ${Object.entries(lifecycle).map(([s, n]) => `${s} ${fmt(n)} (${pct(n, customers)})`).join(', ')}`);
  out(`  RFM tier         ${Object.entries(tiers).map(([s, n]) => `${s} ${fmt(n)} (${pct(n, customers)})`).join(', ')}`);
  out(`  bought after     ${boughtAfter.map((b) => `${b.pair} ${fmt(b.customers)}`).join(', ') || 'none'}  (customers; the top pairs of the cross-sell counts)`);
  out(`  tags             ${Object.entries(tags).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([t, n]) => `${t} ${fmt(n)}`).join(', ') || 'none'}`);
  out();
  out('Totals');
  out(`  events           ${fmt(totals.events)} generated, ${fmt(totals.sent)} sent in ${fmt(totals.requests)} signed requests, ${fmt(totals.accepted)} accepted, ${fmt(totals.duplicates)} duplicates, ${fmt(totals.rejected)} rejected`);
  out(`  derived events   ${list(totals.derived) || 'none'}`);
  const outboxTotal = Object.values(totals.outbox).reduce((a, b) => a + b, 0);
  out(`  outbox           ${fmt(outboxTotal)} messages: ${Object.entries(totals.outbox).sort((a, b) => b[1] - a[1]).map(([t, n]) => `${t} ${fmt(n)}`).join(', ')}`);
  out(`  sweeps ${fmt(totals.sweeps)}, dead letters ${fmt(totals.deadLetters)}`);
  const report = (performance.now() - tReport) / 1000;
  try {
    await options.beforeStop?.(engine);
  } finally {
    await engine.stop();
  }
  const total = (performance.now() - t0) / 1000;
  const setup = (tReplay - t0) / 1000;
  out(`  real time        ${total.toFixed(1)} s: set-up ${setup.toFixed(1)} s, replay ${replay.toFixed(1)} s, journeys finishing ${drainSeconds.toFixed(1)} s, report ${report.toFixed(1)} s`);

  return { quietHours, funnels, lifecycle, tiers, tags, boughtAfter, totals, seconds: { setup, replay, drain: drainSeconds, report, total }, lines };
}
