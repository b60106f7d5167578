/**
 * Cost model: `npm run cost`.
 *
 * Runs the embedded engine in-process, counts every AWS call the engine makes
 * (bench/cost/meter.ts), prices the calls at AWS list prices (bench/cost/prices.ts)
 * and scales the samples linearly:
 *   1. $ per 1M events ingested (page / product / identify / order mix), as single
 *      signed webhooks and as Segment SDK batches, next to the theoretical floor;
 *   2. $ per 1M journey entries of each built-in journey, per path (each path driven
 *      through the API for a few customers on a ScaledClock) and on a stated path mix;
 *   3. $ per month for 100k customers sending 10M events, on stated assumptions;
 *   4. $ per 1M broadcast recipients (one email each), next to SES's own price, the floor.
 * Sizes: COST_CUSTOMERS, COST_WARMUP_EVENTS, COST_EVENTS, COST_PER_PATH.
 */
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { loadProfileConfig } from '../functions/profile';
import { packContents } from '../functions/profile/item';
import { PROFILE_TABLE, startEngine, type Engine } from '../infra/embedded/engine';
import { PROFILE_TABLE_LAYOUT, ScaledClock } from '../shared';
import { broadcastCostLines, measureBroadcastCost } from './cost/broadcasts';
import { customerEvent, drawKind, EVENT_MIX, random, segmentBatch, signed, SOURCES, type EventKind } from './cost/events';
import { JOURNEY_PATHS, ORDER_REVENUE, pathOf, runScript, stalled, type PathScript } from './cost/journeys';
import { addUsage, emptyUsage, itemSize, Meter, restrict, type Usage } from './cost/meter';
import { AWS_CALL_MS, PLATFORM_LOG_BYTES_PER_INVOCATION, PRICE_LIST, PRICES, XRAY_SAMPLING } from './cost/prices';
import { dynamoTable, floorPerEvent, fmtN, MEMORY_MB, price, scaleUsage, table, total, usd } from './cost/report';

// The functions log at INFO and publish EMF metrics, as deployed: count those lines (CloudWatch Logs)
// and the metric series (CloudWatch custom metrics) instead of printing them.
let meter: Meter | undefined;
const metricSeries = new Set<string>();
const writeStdout = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
  const text = String(chunk);
  if (text.startsWith('{"_aws":')) {
    meter?.log(Buffer.byteLength(text));
    for (const series of emfSeries(text)) metricSeries.add(series);
    return true;
  }
  if (text.startsWith('{"level":') || text.startsWith('{"cold_start"')) return (meter?.log(Buffer.byteLength(text)), true);
  return writeStdout(chunk, ...rest);
}) as typeof process.stdout.write;
process.env.POWERTOOLS_METRICS_DISABLED = 'false';

/** The metric series (namespace, name, dimension values) of one EMF line: CloudWatch bills each as a custom metric. */
function emfSeries(line: string): string[] {
  try {
    const emf = JSON.parse(line) as { _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }> } } & Record<string, unknown>;
    return emf._aws.CloudWatchMetrics.flatMap((d) => d.Metrics.flatMap((m) => d.Dimensions.map((dims) => `${d.Namespace}/${m.Name}{${dims.map((k) => `${k}=${String(emf[k])}`).join(',')}}`)));
  } catch {
    return [];
  }
}
// Powertools Metrics warns on stderr on every invocation that recorded no metric: drop exactly that warning.
const writeStderr = process.stderr.write.bind(process.stderr);
process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => (String(chunk).includes('No application metrics to publish') ? true : writeStderr(chunk, ...rest))) as typeof process.stderr.write;

const CUSTOMERS = Number(process.env.COST_CUSTOMERS ?? 5);
const WARMUP_EVENTS = Number(process.env.COST_WARMUP_EVENTS ?? 200);
const EVENTS = Number(process.env.COST_EVENTS ?? 40);
const PER_PATH = Number(process.env.COST_PER_PATH ?? 3);
const SDK_BATCH = 15;
const DAY = 86_400_000;
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;

/** A ScaledClock that can also jump ahead (the sweep's month). */
class ShiftableClock extends ScaledClock {
  offsetMs = 0;
  override now(): Date {
    return new Date(super.now().getTime() + this.offsetMs);
  }
}

async function engineWith(clock: ScaledClock): Promise<Engine> {
  return startEngine({ port: 0, dataDir: null, sources: SOURCES, clock, sweepEveryMs: 0, logLevel: 'INFO', sendPolicy: { quietHours: undefined } });
}

type Request = { path: string; headers: Record<string, string>; body: string };
/** Send one request through the meter (API Gateway + ingest Lambda); throws unless 2xx. */
async function send(engine: Engine, m: Meter | undefined, request: Request): Promise<void> {
  const call = async () => {
    const res = await fetch(`${engine.url}${request.path}`, { method: 'POST', headers: request.headers, body: request.body });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${request.path}: ${res.status} ${text}`);
  };
  await (m ? m.api(Buffer.byteLength(request.body), call) : call());
}

// ---------------------------------------------------------------------------
// 1. Events
// ---------------------------------------------------------------------------

/** What scenario 1 bills: the ingest path (the journey starter runs for goal events, e.g. Order Completed). */
const EVENT_FUNCTIONS = ['ingest', 'profile', 'starter', 'other'] as const;

interface EventsSample {
  events: number;
  requests: number;
  usage: Usage;
  kinds: Record<EventKind, number>;
  executionsStarted: number;
}
interface EventsRun {
  single: EventsSample;
  sdk: EventsSample;
  profileBytes: number;
  composition: string;
  timelineBytes: number;
  sweep: { usage: Usage; customers: number; days: number; due: number };
}

async function eventsRun(): Promise<EventsRun> {
  const clock = new ShiftableClock(1);
  const engine = await engineWith(clock);
  const m = (meter = new Meter(engine, { lanes: false }));
  const r = random(1);
  const customers = Array.from({ length: CUSTOMERS }, (_, i) => `cost-${i}`);
  try {
    // Warm-up, not counted: each customer's last 60 days (WARMUP_EVENTS events, identify first), so
    // profiles (applied-message marks, derived-event outbox) are as big as in steady state. One event
    // per customer per request: a customer's events are applied one after the other, as in real life.
    const now = clock.now().getTime();
    for (let i = 0; i < WARMUP_EVENTS; i++) {
      const at = new Date(now - 60 * DAY + (i * 60 * DAY) / WARMUP_EVENTS);
      await send(engine, undefined, signed({ batch: customers.map((c) => customerEvent(i === 0 ? 'identify' : drawKind(r), c, r, at)) }));
      await engine.settle();
    }
    process.stderr.write(`  warm-up: ${fmtN(WARMUP_EVENTS * CUSTOMERS)} events (${elapsed()})\n`);

    const sample = async (style: 'single' | 'sdk'): Promise<EventsSample> => {
      m.lanes = true;
      m.reset();
      const kinds = { page: 0, product: 0, identify: 0, order: 0 } as Record<EventKind, number>;
      const stream = Array.from({ length: CUSTOMERS * EVENTS }, () => {
        const kind = drawKind(r);
        kinds[kind]++;
        return customerEvent(kind, customers[Math.floor(r() * customers.length)]!, r);
      });
      const requests = style === 'single' ? stream.map((e) => signed(e)) : Array.from({ length: Math.ceil(stream.length / SDK_BATCH) }, (_, i) => segmentBatch(stream.slice(i * SDK_BATCH, (i + 1) * SDK_BATCH)));
      for (const request of requests) {
        await send(engine, m, request);
        await engine.settle();
      }
      const usage = m.collect();
      process.stderr.write(`  sample ${style}: ${fmtN(stream.length)} events (${elapsed()})\n`);
      return { events: stream.length, requests: requests.length, usage: restrict(usage, EVENT_FUNCTIONS), kinds, executionsStarted: usage.sfn.executions };
    };
    const single = await sample('single');
    const sdk = await sample('sdk');

    // Item sizes at the end (what one profile write / timeline write costs).
    const stored = await engine.profiles.get(customers[0]!);
    // As DynamoDB sizes the stored item (what each write and read of it is billed on).
    const { Item: rawProfile } = await engine.dynamo.client.send(new GetItemCommand({ TableName: PROFILE_TABLE, Key: { [PROFILE_TABLE_LAYOUT.partitionKey]: { S: `C#${customers[0]!}` }, [PROFILE_TABLE_LAYOUT.sortKey]: { S: 'P' } } }));
    const profileBytes = rawProfile ? itemSize(rawProfile) : 0;
    const kb = (v: unknown) => (Buffer.byteLength(JSON.stringify(v ?? null)) / 1024).toFixed(1);
    const packed = stored && packContents(stored);
    const composition =
      stored && packed
        ? `packed body ${(packed.body.length / 1024).toFixed(1)} KB (from ${kb({ profile: stored.profile, outbox: stored.outbox })} KB of JSON: profile ${kb(stored.profile)} KB, of which recentEvents ${kb(stored.profile.recentEvents)} KB (${stored.profile.recentEvents.length} events) and stats ${kb(stored.profile.stats)} KB; derived-event outbox ${kb(stored.outbox)} KB, ${stored.outbox.length} entries) + applied-message marks ${(packed.applied.length / 1024).toFixed(1)} KB (${stored.applied.length} x 9 bytes)`
        : 'no profile';
    const timeline = await engine.profiles.listEvents([customers[0]!], clock.now(), 50);
    const timelineBytes = timeline.reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e)), 0) / Math.max(1, timeline.length);

    // The daily sweep over the next 30 days for these customers (nothing else happens to them).
    m.reset();
    let due = 0;
    for (let day = 1; day <= 30; day++) {
      clock.offsetMs = day * DAY;
      due += (await m.invoke('sweep', () => engine.sweep())).due;
      await engine.settle();
    }
    const sweep = restrict(m.collect(), ['sweep', 'profile', 'starter', 'other']);
    process.stderr.write(`  sweep: 30 days (${elapsed()})\n`);
    return { single, sdk, profileBytes, composition, timelineBytes, sweep: { usage: sweep, customers: CUSTOMERS, days: 30, due } };
  } finally {
    m.detach();
    meter = undefined;
    await engine.stop();
  }
}

function printEvents(s: EventsSample, title: string): number {
  const lines = price(s.usage);
  const scale = 1e6 / s.events;
  const floor = floorPerEvent() * 1e6;
  const perM = total(lines) * scale;
  console.log(`\n${title}`);
  console.log(
    `  sample: ${fmtN(s.events)} events in ${fmtN(s.requests)} requests (${Object.entries(s.kinds)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}) from ${CUSTOMERS} customers, each warmed up with ${WARMUP_EVENTS} events over 60 days; scaled x${fmtN(scale)}`,
  );
  console.log(table(lines, scale, 'per 1M events'));
  console.log(`  => ${usd(perM)} per 1M events = ${(perM / floor).toFixed(1)}x the floor (${usd(floor)})${s.executionsStarted > 0 ? `; ${s.executionsStarted} journey entries started by the sample are priced in 2.` : ''}`);
  console.log('  DynamoDB by function, operation and item (per call averages; $ scaled):');
  console.log(dynamoTable(s.usage, scale, 'per 1M events', 8));
  return perM;
}

// ---------------------------------------------------------------------------
// 2. Journeys
// ---------------------------------------------------------------------------

interface PathSample {
  script: PathScript;
  customers: number;
  /** Customers whose run took the intended path. */
  onPath: number;
  seen: string[];
  usage: Usage;
  /** Revenue the journey's attribution credited to this path's messages (its own rule: last touch within the window). */
  revenue: number;
}

/** The journey's attributed revenue so far, as its stats API reports it. */
async function attributedRevenue(engine: Engine, journeyId: string): Promise<number> {
  const res = await fetch(`${engine.url}/v1/journeys/${encodeURIComponent(journeyId)}/stats`);
  return ((await res.json()) as { attribution: { revenue: number } }).attribution.revenue;
}

/** One engine per journey (and time scale); each path a sample of PER_PATH customers driven through the API. */
async function journeyRun(journeyId: string): Promise<PathSample[]> {
  const scripts = JOURNEY_PATHS.filter((p) => p.journey === journeyId);
  const out: PathSample[] = [];
  for (const scale of [...new Set(scripts.map((p) => p.scale))]) {
    const clock = new ScaledClock(scale);
    const engine = await engineWith(clock);
    const m = (meter = new Meter(engine));
    try {
      for (const script of scripts.filter((p) => p.scale === scale)) {
        m.reset();
        const revenueBefore = await attributedRevenue(engine, journeyId);
        const ids = Array.from({ length: PER_PATH }, (_, i) => `${script.id}-${i}`);
        // Requests one at a time (the meter times the ingest function by the request's wall time).
        let api = Promise.resolve();
        const post = (request: Request) => (api = api.then(() => send(engine, m, request)));
        await Promise.all(ids.map((id) => runScript(script, { engine, post, customerId: id, now: () => clock.now() })));
        // Every run has ended (or stalled, reported below): let the run-ended callbacks finish.
        await Promise.race([engine.journeys.sfn.idle(), new Promise((r) => setTimeout(r, 5_000))]);
        await engine.settle();
        const usage = m.collect();
        const seen = ids.map((id) => pathOf(engine, journeyId, id));
        const revenue = (await attributedRevenue(engine, journeyId)) - revenueBefore;
        out.push({ script, customers: ids.length, onPath: seen.filter((s) => s === script.expect).length, seen, usage, revenue });
        process.stderr.write(`  ${script.id}: ${ids.length} customers (${elapsed()})\n`);
      }
    } finally {
      m.detach();
      meter = undefined;
      await engine.stop();
    }
  }
  return out;
}

/** Journey functions only: the entry's own cost, not the customer events that drive it (those are priced as events in 1). */
const JOURNEY_FUNCTIONS = ['starter', 'steps', 'runEnded'] as const;

function printJourney(journeyId: string, samples: PathSample[]): { perEntry: number; eventsPerEntry: number; mix: Usage; revenuePerEntry: number } {
  console.log(`\n2. ${journeyId}: $ per 1M journey entries (journey functions, Step Functions, sends; + the customer events that drive the path at the 1b per-event cost)`);
  const mix = emptyUsage();
  let withEvents = 0;
  let revenuePerEntry = 0;
  for (const s of samples) {
    const own = restrict(s.usage, JOURNEY_FUNCTIONS);
    const lines = price(own);
    const scale = 1e6 / s.customers;
    const perM = total(lines) * scale;
    const events = restrict(s.usage, ['ingest', 'profile', 'other']);
    const eventsPerEntry = s.usage.bus.byFn.ingest.entries / s.customers;
    const transitions = s.usage.sfn.transitions / Math.max(1, s.usage.sfn.executions);
    console.log(`\n  path "${s.script.label}" (${Math.round(s.script.share * 100)}% of entries), ${s.onPath}/${s.customers} customers took it${s.onPath < s.customers ? ` — others: ${s.seen.filter((x) => x !== s.script.expect).join('; ')}` : ''}: ${s.script.expect}`);
    console.log(`  ${fmtN(transitions)} transitions/entry, ${fmtN(s.usage.out.email / s.customers)} emails, ${fmtN(s.usage.out.webhook / s.customers)} webhooks; ${fmtN(eventsPerEntry)} customer events drive it (${usd(total(price(events)) * scale)} per 1M entries as measured here)`);
    console.log(table(lines, scale, 'per 1M entries'));
    console.log(`  => ${usd(perM)} per 1M entries on this path`);
    addUsage(mix, scaleUsage(own, s.script.share / s.customers));
    withEvents += s.script.share * eventsPerEntry;
    revenuePerEntry += (s.script.share * s.revenue) / s.customers;
  }
  const lines = price(mix);
  const perEntry = total(lines);
  console.log(`\n  ${journeyId} on the path mix (${samples.map((s) => `${s.script.label} ${Math.round(s.script.share * 100)}%`).join(', ')}):`);
  console.log(table(lines, 1e6, 'per 1M entries'));
  return { perEntry, eventsPerEntry: withEvents, mix, revenuePerEntry };
}

// ---------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------

const profileConfig = loadProfileConfig('workflows', process.env);
console.log(`Rapport cost model — Node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}; AWS list prices, us-east-1, on-demand, no free tier`);
console.log(
  `Run size: scenario 1 = ${CUSTOMERS} customers warmed up with ${WARMUP_EVENTS} events each, then ${fmtN(CUSTOMERS * EVENTS)} events metered as single requests and ${fmtN(CUSTOMERS * EVENTS)} as SDK batches of ${SDK_BATCH}, then 30 daily sweeps; scenario 2 = ${PER_PATH} customers per journey path, ${JOURNEY_PATHS.length} paths.`,
);
console.log('Prices (us-east-1 list prices as published on the page named, as of the date given; not re-read for this run):');
for (const p of Object.values(PRICE_LIST)) console.log(`  $${p.usd < 0.01 ? p.usd.toExponential(4) : p.usd.toFixed(3)} per ${p.per} — ${p.source}, ${p.asOf}`);
console.log(`Lambda memory as the CDK construct deploys it (infra/cdk/defaults.ts, arm64): ${Object.entries(MEMORY_MB)
  .filter(([f]) => f !== 'other')
  .map(([f, mb]) => `${f} ${mb} MB`)
  .join(', ')}.`);
console.log(
  `Lambda billed duration = in-process time of each handler (wall time minus the time spent waiting for dynalite, the local bus, the executor and the outbox; one invocation at a time per function), rounded up to 1 ms, + AWS round trips: ${AWS_CALL_MS.dynamo} ms per DynamoDB call, ${AWS_CALL_MS.putEvents} ms per PutEvents, ${AWS_CALL_MS.stepFunctionsApi} ms per Step Functions API call, ${AWS_CALL_MS.sesSend} ms per SES send, ${AWS_CALL_MS.outboundWebhook} ms per outbound webhook (assumed p50 latencies). Logs: the functions' INFO lines and EMF metrics as measured + ${PLATFORM_LOG_BYTES_PER_INVOCATION} B of platform lines per invocation (est.).`,
);
console.log(`Theoretical floor per event: 1 HTTP API request + 1 PutEvents entry + 1 DynamoDB write (<= 1 KB) = ${usd(floorPerEvent() * 1e6)} per 1M events.`);

const ev = await eventsRun();
const perMSingle = printEvents(ev.single, '1a. $ per 1M events ingested — one event per signed webhook request (/v1/events)');
const perMSdk = printEvents(ev.sdk, `1b. $ per 1M events ingested — Segment SDK batches of ${SDK_BATCH} (/v1/batch)`);
console.log(`\n  item sizes at the end of the run: profile item ~${(ev.profileBytes / 1024).toFixed(1)} KB as stored -> ${Math.ceil(ev.profileBytes / 1024)} WRU per profile write: ${ev.composition}; timeline event ~${(ev.timelineBytes / 1024).toFixed(2)} KB`);
const sweepLines = price(ev.sweep.usage);
const sweepPerCustomerDay = total(sweepLines) / (ev.sweep.customers * ev.sweep.days);
console.log(`\n1c. the daily sweep, 30 days over the ${ev.sweep.customers} customers (${ev.sweep.due} re-evaluations due), per 100k customers per month:`);
console.log(table(sweepLines, (100_000 / ev.sweep.customers) * (30 / ev.sweep.days), '100k customers, 1 month'));

const journeys = ['welcome', 'win-back', 'complaint-follow-up'] as const;
const perJourney = new Map<string, ReturnType<typeof printJourney>>();
for (const j of journeys) {
  const samples = await journeyRun(j);
  perJourney.set(j, printJourney(j, samples));
}
console.log(`\n2. summary, $ per 1M journey entries on the path mixes; floor = the customer events that drive the entry at the event floor + the messages sent (SES):`);
for (const j of journeys) {
  const { perEntry, eventsPerEntry, mix } = perJourney.get(j)!;
  const withEvents = perEntry + eventsPerEntry * (perMSdk / 1e6);
  const floor = eventsPerEntry * floorPerEvent() + mix.out.email * PRICES.email;
  console.log(
    `   ${j.padEnd(20)} journey ${usd(perEntry * 1e6).padStart(6)} (${fmtN(mix.sfn.transitions)} transitions, ${fmtN(mix.out.email)} emails, ${fmtN(mix.out.webhook)} webhooks per entry) + ${fmtN(eventsPerEntry)} events x ${usd(perMSdk)}/M = ${usd(withEvents * 1e6)}; floor ${usd(floor * 1e6)} -> ${(withEvents / floor).toFixed(1)}x`,
  );
}
console.log(`
2r. revenue per dollar of AWS cost: the revenue each journey's attribution credited on the path mix (its rule: last touch within its window; the scripts' orders are ${ORDER_REVENUE} each, in the currency sent), per entry, over the entry's AWS cost (journey + the events that drive it, SES included):`);
for (const j of journeys) {
  const { perEntry, eventsPerEntry, revenuePerEntry } = perJourney.get(j)!;
  const cost = perEntry + eventsPerEntry * (perMSdk / 1e6);
  console.log(`   ${j.padEnd(20)} ${revenuePerEntry.toFixed(2).padStart(6)} attributed per entry / ${usd(cost * 1e6)} per 1M entries -> ${revenuePerEntry > 0 ? fmtN(Math.round(revenuePerEntry / cost)) : '0'} per $ (the path mix is the model's assumption, not a measured conversion rate)`);
}

// ---------------------------------------------------------------------------
// 3. A month
// ---------------------------------------------------------------------------

const MONTH = { customers: 100_000, events: 10_000_000, entries: { welcome: 5_000, 'win-back': 8_000, 'complaint-follow-up': 1_000 } as Record<string, number>, secrets: 4, warmContainers: 10 };
const perEvent = perMSdk / 1e6;
const eventsCost = MONTH.events * perEvent;
const journeyCost = journeys.reduce((n, j) => n + MONTH.entries[j]! * perJourney.get(j)!.perEntry, 0);
const sweepCost = sweepPerCustomerDay * MONTH.customers * 30;
const storageGb = (MONTH.customers * ev.profileBytes + MONTH.events * (profileConfig.timelineRetentionDays / 30) * ev.timelineBytes) / 1e9;
const storageCost = storageGb * PRICES.storageGbMonth;
const secretCalls = MONTH.warmContainers * ((30 * DAY) / 300_000) * 2;
const secretsCost = MONTH.secrets * PRICES.secretMonth + secretCalls * PRICES.secretsCall;
const metricsCost = metricSeries.size * PRICES.customMetric;
// Traces start at the API (downstream invocations join them through EventBridge); sampled as X-Ray's default rule does, at an even rate.
const requestsPerMonth = MONTH.events * (ev.sdk.requests / ev.sdk.events);
const monthSeconds = (30 * DAY) / 1000;
const tracedRequests = (perSecond: number) => monthSeconds * Math.min(perSecond, XRAY_SAMPLING.reservoirPerSecond + XRAY_SAMPLING.rate * Math.max(0, perSecond - XRAY_SAMPLING.reservoirPerSecond));
const traces = tracedRequests(requestsPerMonth / monthSeconds);
const xrayCost = traces * PRICES.xrayTrace;
const month = eventsCost + journeyCost + sweepCost + storageCost + secretsCost + metricsCost + xrayCost;
const floorMonth = MONTH.events * floorPerEvent();
console.log(`\n3. $ per month: ${fmtN(MONTH.customers)} customers sending ${fmtN(MONTH.events)} events/month`);
console.log(`   assumptions: the 1b event mix (${EVENT_MIX.map(([k, s]) => `${k} ${Math.round(s * 100)}%`).join(', ')}) sent as SDK batches of ${SDK_BATCH}; journey entries/month: ${journeys.map((j) => `${j} ${fmtN(MONTH.entries[j]!)}`).join(', ')} on the path mixes above (their trigger and driving events are among the 10M); the sweep daily over all customers; timeline kept ${profileConfig.timelineRetentionDays} days; the API requests spread evenly over the month (X-Ray sampling); ${MONTH.secrets} secrets (webhook source, unsubscribe key, 2 webhook targets) read every 5 min by ~${MONTH.warmContainers} warm containers; SMS none.`);
const rows: Array<[string, number, string]> = [
  [`events ingested (1b: ${usd(perMSdk)} per 1M)`, eventsCost, `with single requests instead (1a: ${usd(perMSingle)} per 1M): ${usd(MONTH.events * (perMSingle / 1e6))}`],
  ...journeys.map((j): [string, number, string] => [`journey ${j} (${fmtN(MONTH.entries[j]!)} entries x ${usd(perJourney.get(j)!.perEntry * 1e6)} per 1M)`, MONTH.entries[j]! * perJourney.get(j)!.perEntry, '']),
  ['daily sweep', sweepCost, `${usd(sweepPerCustomerDay * 1e6)} per 1M customer-days`],
  ['DynamoDB storage', storageCost, `${storageGb.toFixed(2)} GB: profiles ${(ev.profileBytes / 1024).toFixed(1)} KB each, timeline events ${(ev.timelineBytes / 1024).toFixed(2)} KB each`],
  ['Secrets Manager', secretsCost, `${MONTH.secrets} secrets + ${fmtN(secretCalls)} calls`],
  ['CloudWatch custom metrics (EMF)', metricsCost, `${metricSeries.size} metric series seen in this run (names x dimension values)`],
  ['X-Ray traces', xrayCost, `${fmtN(traces)} of ${fmtN(requestsPerMonth)} API requests sampled (1/s + 5%); with single requests: ${usd(tracedRequests(MONTH.events / monthSeconds) * PRICES.xrayTrace)}`],
];
for (const [what, dollars, note] of rows) console.log(`   ${what.padEnd(62)} ${usd(dollars).padStart(10)}  ${((dollars * 100) / month).toFixed(1).padStart(5)}%  ${note}`);
console.log(`   ${'total'.padEnd(62)} ${usd(month).padStart(10)}   = ${(month / floorMonth).toFixed(1)}x the floor (${usd(floorMonth)}: ${fmtN(MONTH.events)} x (1 request + 1 PutEvents entry + 1 write))`);
// 4. Broadcasts: one marketing email to each member of a segment, through the send gateway (bench/cost/broadcasts.ts).
for (const line of broadcastCostLines(await measureBroadcastCost())) console.log(line);
if (stalled.length > 0) console.log(`\nStalled journey drivers (their runs are off their path, see above): ${stalled.join('; ')}`);
console.log(`\n(${elapsed()})`);
