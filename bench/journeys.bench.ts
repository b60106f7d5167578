/**
 * Journeys benchmark: `npm run bench:journeys`.
 *
 * 1. Trigger -> first send: the embedded engine in memory, the built-in `welcome`
 *    journey. Per customer, one signed webhook request carries an `identify`
 *    (email trait) and a `Signed Up` event (BENCH_BATCH customers per request,
 *    BENCH_IN_FLIGHT requests in flight). Latency is the real wall time from the
 *    moment the request carrying the customer's `Signed Up` was sent to the
 *    moment the `welcome` email lands in the outbox. Prints p50/p90/p99/max, a
 *    split of that time by stage, and customers enrolled and greeted per second.
 *    Before that burst, BENCH_SINGLE customers one at a time (each request waits for
 *    the previous customer's welcome): the single-customer trigger -> first send latency.
 * 2. End to end events/s: events accepted (identify + Signed Up) / wall time from
 *    the first request until the last welcome email is out; and the process's CPU
 *    time per event (user + system), which the machine's other load does not inflate
 *    as much as wall time (the bench prints the load average too).
 * 3. State transitions per path of every built-in journey, from the compiler,
 *    with the Step Functions cost per 1M journey entries at $25 per 1M transitions.
 * Everything (client, HTTP server, dynalite, bus, executor) shares this one process.
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Webhook } from 'standardwebhooks';
import { startEngine } from '../infra/embedded/engine';
import { LOCAL_STEP_FUNCTION } from '../infra/embedded/journeys';
import { ScaledClock } from '../shared';
import { countDynamoCalls } from './dynamo-call-counter';
import { compileJourney, loadJourneysFromDir } from '../workflows/journeys';

process.env.POWERTOOLS_LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
// Powertools Metrics warns on stderr on every invocation that recorded no metric, disabled or not
// (thousands of lines here): drop exactly that warning, let everything else through.
const EMPTY_METRICS_WARNING = 'No application metrics to publish';
const writeStderr = process.stderr.write.bind(process.stderr);
let droppedWarnings = 0;
process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
  if (String(chunk).includes(EMPTY_METRICS_WARNING)) return (droppedWarnings++, true);
  return writeStderr(chunk, ...rest);
}) as typeof process.stderr.write;

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 1000);
const BATCH = Number(process.env.BENCH_BATCH ?? 50);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 4);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 50);
const SINGLE = Number(process.env.BENCH_SINGLE ?? 20);
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_S ?? 90) * 1000;
/** BENCH_DYNAMO_DETAIL=1: count DynamoDB calls by table and item kind (sort key prefix), not only by operation. */
const DYNAMO_DETAIL = process.env.BENCH_DYNAMO_DETAIL === '1';
/** BENCH_CALLERS=1: also count them by operation, key shape and the first Rapport frames of the caller (per customer). */
const BY_CALLER = process.env.BENCH_CALLERS === '1';
const USD_PER_MILLION_TRANSITIONS = 25;
const JOURNEYS_DIR = 'workflows/journeys.d';
const TEMPLATES_DIR = 'workflows/templates';

const webhook = new Webhook(SECRET);
const run = `${process.pid}-${Date.now().toString(36)}`;
let seq = 0;

/** One signed Standard Webhooks request: for each customer an identify, then its Signed Up. */
function signedBatch(customers: string[]) {
  const batch = customers.flatMap((userId) => [
    { type: 'identify', messageId: `bench-${run}-${seq++}`, userId, traits: { email: `${userId}@example.com`, name: 'Ada Lovelace', timezone: 'Europe/Paris' } },
    { type: 'track', messageId: `bench-${run}-${seq++}`, userId, event: 'Signed Up', properties: { plan: 'free', source: 'bench' } },
  ]);
  const body = JSON.stringify({ batch });
  const id = `msg_bench_${run}_${seq++}`;
  const now = new Date();
  return {
    customers,
    events: batch.length,
    body,
    headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': webhook.sign(id, now, body) },
  };
}

type DynamoInput = { TableName?: string; Key?: Record<string, unknown>; Item?: Record<string, unknown>; KeyConditionExpression?: string; ExpressionAttributeValues?: Record<string, unknown> };
/** `table:SK-prefix` of a call (the SK up to its first `#`), for the detailed count. */
function dynamoTarget(input: DynamoInput): string {
  const raw = input.Key?.SK ?? input.Item?.SK ?? (input.KeyConditionExpression ? 'query' : undefined);
  const sk = typeof raw === 'object' && raw !== null && 'S' in raw ? String((raw as { S: unknown }).S) : String(raw ?? '-');
  return `${(input.TableName ?? '?').replace(/^rapport-/, '')}:${sk.split('#')[0]}`;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
const ms = (n: number) => (Number.isNaN(n) ? '-' : n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US'));
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const summary = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return `p50 ${ms(percentile(s, 50))} ms, p90 ${ms(percentile(s, 90))} ms, p99 ${ms(percentile(s, 99))} ms, max ${ms(s[s.length - 1] ?? NaN)} ms`;
};

async function welcomeRun() {
  const engine = await startEngine({
    port: 0,
    dataDir: null,
    sources: [{ id: 'default', webhookSecrets: [SECRET] }],
    clock: new ScaledClock(1),
    sendPolicy: { quietHours: undefined },
    sweepEveryMs: 0,
    logLevel: (process.env.BENCH_LOG_LEVEL as 'ERROR' | undefined) ?? 'SILENT',
  });

  // Per customer: when the request carrying its Signed Up was sent and answered, when its execution started, when its welcome email landed.
  const requestSent = new Map<string, number>();
  const requestAnswered = new Map<string, number>();
  const executionStarted = new Map<string, number>();
  const welcomed = new Map<string, number>();

  const email = engine.outbox.email.bind(engine.outbox);
  engine.outbox.email = async (message) => {
    const result = await email(message);
    if (message.tags.journey === 'welcome' && message.tags.step === 'send-welcome' && message.tags.customer) welcomed.set(message.tags.customer, performance.now());
    return result;
  };
  const start = engine.journeys.sfn.start.bind(engine.journeys.sfn);
  engine.journeys.sfn.start = async (journeyId, name, input) => {
    if (journeyId === 'welcome') executionStarted.set(input.customerId, performance.now());
    return start(journeyId, name, input);
  };
  // Every DynamoDB call (idempotency records, profiles, journey records), by operation; BENCH_CALLERS=1: by caller too.
  const counter = countDynamoCalls(engine.dynamo.client, { byCaller: BY_CALLER, label: (op, input) => (DYNAMO_DETAIL ? `${op} ${dynamoTarget(input as DynamoInput)}` : op) });
  const dynamoCalls = counter.calls;

  let accepted = 0;
  async function send(request: ReturnType<typeof signedBatch>): Promise<void> {
    const sentAt = performance.now();
    for (const c of request.customers) requestSent.set(c, sentAt);
    const res = await fetch(`${engine.url}/v1/events`, { method: 'POST', headers: request.headers, body: request.body });
    const text = await res.text();
    if (res.status !== 202) throw new Error(`unexpected ${res.status}: ${text}`);
    accepted += (JSON.parse(text) as { accepted: string[] }).accepted.length;
    const answeredAt = performance.now();
    for (const c of request.customers) requestAnswered.set(c, answeredAt);
  }

  async function waitFor(customers: string[], timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const missing = customers.filter((c) => !welcomed.has(c)).length;
      if (missing === 0 || performance.now() > deadline) return missing;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async function drive(prefix: string, count: number) {
    const customers = Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(5, '0')}`);
    const requests: Array<ReturnType<typeof signedBatch>> = [];
    for (let i = 0; i < customers.length; i += BATCH) requests.push(signedBatch(customers.slice(i, i + BATCH)));
    let next = 0;
    const worker = async () => {
      while (next < requests.length) await send(requests[next++]!);
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, requests.length) }, worker));
    const sentAll = performance.now();
    const missing = await waitFor(customers, TIMEOUT_MS);
    const lastWelcome = Math.max(...customers.map((c) => welcomed.get(c) ?? -Infinity));
    return { customers, events: requests.reduce((n, r) => n + r.events, 0), t0, sentAll, lastWelcome, missing };
  }

  try {
    // Warm-up (JIT, connection pools, first dynalite writes), not counted.
    if (WARMUP > 0) await drive(`warm-${run}`, WARMUP);
    await engine.settle();
    // One customer at a time on the idle engine: trigger -> first send without a queue in front.
    const single: number[] = [];
    for (let i = 0; i < SINGLE; i++) {
      const one = await drive(`single-${run}-${i}`, 1);
      const c = one.customers[0]!;
      if (welcomed.has(c)) single.push(welcomed.get(c)! - requestSent.get(c)!);
    }
    await engine.settle();
    const acceptedBefore = accepted;
    const busBefore = engine.bus.putEventsCalls;
    const busLogBefore = engine.bus.log.length;
    counter.clear();

    const cpuBefore = process.cpuUsage();
    const r = await drive(`cust-${run}`, CUSTOMERS);
    const cpu = process.cpuUsage(cpuBefore);
    const greeted = r.customers.filter((c) => welcomed.has(c));
    const latency = greeted.map((c) => welcomed.get(c)! - requestSent.get(c)!);
    const ingest = greeted.map((c) => requestAnswered.get(c)! - requestSent.get(c)!);
    const started = greeted.filter((c) => executionStarted.has(c));
    const toStart = started.map((c) => executionStarted.get(c)! - requestSent.get(c)!);
    const toSend = started.map((c) => welcomed.get(c)! - executionStarted.get(c)!);
    const wall = ((Number.isFinite(r.lastWelcome) ? r.lastWelcome : performance.now()) - r.t0) / 1000;
    const events = accepted - acceptedBefore;
    await engine.settle();
    const derived = engine.bus.log.length - busLogBefore - events;
    // The step handler counts a send after the outbox has it: give the counters a moment to catch up (not timed).
    let runs = await engine.journeys.records.stats('welcome');
    for (let i = 0; i < 100 && (runs['send-welcome.sent'] ?? 0) < (runs.entered ?? 0); i++) {
      await new Promise((r) => setTimeout(r, 50));
      runs = await engine.journeys.records.stats('welcome');
    }
    return {
      r,
      single,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      greeted: greeted.length,
      latency,
      ingest,
      toStart,
      toSend,
      wall,
      sendSeconds: (r.sentAll - r.t0) / 1000,
      events,
      derived,
      putEvents: engine.bus.putEventsCalls - busBefore,
      dynamoCalls: new Map(dynamoCalls),
      callerLines: counter.callerLines(CUSTOMERS),
      deadLetters: engine.deadLetters.length,
      counters: runs,
    };
  } finally {
    const stopStart = performance.now();
    await engine.stop();
    console.log(`(engine.stop(): ${fmt(performance.now() - stopStart)} ms, every running execution stopped)`);
  }
}

function transitions() {
  const loaded = loadJourneysFromDir(JOURNEYS_DIR, TEMPLATES_DIR, { webhookTargets: ['support', 'supervisor'] });
  const lines: string[] = [];
  for (const { journey } of loaded.journeys) {
    const compiled = compileJourney(journey, { stepFunctionArn: LOCAL_STEP_FUNCTION, ...loaded.catalog, webhookTargets: ['support', 'supervisor'] });
    const paths = compiled.transitionsPerPath;
    const counts = paths.map((p) => p.transitions);
    lines.push(`  ${compiled.id} v${compiled.version}: ${paths.length} path(s), ${Math.min(...counts)}-${Math.max(...counts)} transitions`);
    paths.forEach((p, i) => {
      const cost = p.transitions * USD_PER_MILLION_TRANSITIONS;
      lines.push(`    #${i + 1} ${String(p.transitions).padStart(2)} transitions  $${cost.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }).padStart(8)} per 1M entries  ${p.path.join(' > ')}`);
    });
  }
  return lines;
}

const load = () => loadavg().map((n) => n.toFixed(2)).join(' ');
console.log(
  `Rapport journeys benchmark — Node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}; ${fmt(CUSTOMERS)} customers, ${BATCH} per request (${BATCH * 2} events), ${IN_FLIGHT} requests in flight, ${WARMUP} warm-up customers; load average ${load()}`,
);
const w = await welcomeRun();
const missing = CUSTOMERS - w.greeted;
console.log(`\n1. Trigger -> first send (welcome email), real wall time from the request carrying Signed Up to the outbox`);
console.log(`   single customer    ${summary(w.single)}   (${w.single.length}/${SINGLE} customers, one at a time)`);
console.log(`   ${fmt(w.greeted)}/${fmt(CUSTOMERS)} customers at once:`);
console.log(`   latency            ${summary(w.latency)}`);
console.log(`     request -> 202   ${summary(w.ingest)}   (ingest: verify, validate, dedupe records, PutEvents)`);
console.log(`     request -> start ${summary(w.toStart)}   (bus, profile consumer, starter checks, StartExecution)`);
console.log(`     start -> email   ${summary(w.toSend)}   (executor, step Lambda: profile read, policy, render, outbox)`);
console.log(`   throughput: ${fmt(w.greeted / w.wall)} customers enrolled and welcomed per second (${w.wall.toFixed(2)} s; all requests answered after ${w.sendSeconds.toFixed(2)} s)`);
if (missing > 0) console.log(`   NOT welcomed within ${TIMEOUT_MS / 1000} s: ${fmt(missing)} customer(s)`);
console.log(`   welcome journey counters (warm-up included): ${JSON.stringify(w.counters)}; dead letters: ${w.deadLetters}`);
console.log(`\n2. End to end, webhook -> profile -> enrolment -> first send:`);
console.log(`   ${fmt(w.events / w.wall)} events/s (${fmt(w.events)} events accepted, identify + Signed Up, in ${w.wall.toFixed(2)} s); ${fmt(w.derived)} derived events on the bus; ${fmt(w.putEvents)} PutEvents calls`);
console.log(`   CPU: ${w.cpuSeconds.toFixed(1)} s (user + system) = ${((w.cpuSeconds * 1000) / w.events).toFixed(2)} ms per event, ${fmt(w.events / w.cpuSeconds)} events per CPU second; load average after: ${load()}`);
const dynamoTotal = [...w.dynamoCalls.values()].reduce((a, b) => a + b, 0);
console.log(
  `   DynamoDB calls per customer: ${(dynamoTotal / CUSTOMERS).toFixed(1)} (${[...w.dynamoCalls.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([op, n]) => `${op} ${(n / CUSTOMERS).toFixed(1)}`)
    .join(', ')})`,
);
if (BY_CALLER) for (const line of w.callerLines) console.log(`     ${line}`);
console.log(`\n3. State transitions per path (compiler; deferred sends not taken) and Step Functions cost at $${USD_PER_MILLION_TRANSITIONS} per 1M transitions:`);
for (const line of transitions()) console.log(line);
console.log(`\n(${fmt(droppedWarnings)} Powertools "no application metrics" warnings dropped from stderr, about one per Lambda invocation)`);
