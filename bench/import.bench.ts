/**
 * Import benchmark: `npm run bench:import`.
 *
 * `rapport import` (its command, in this process) posts an NDJSON file of
 * BENCH_EVENTS history events (default 10,000; a quarter identifies, the rest
 * tracks dated months ago, over 2,000 customers) in batches of 500 to an embedded
 * engine in the same process. Prints events/s until every batch was accepted (on
 * the bus), and until the engine settled (profiles, timelines, derived events); the process's CPU
 * time per event and DynamoDB calls per event, which other load on the machine inflates less than
 * wall time (the load average is printed too). Client, engine and dynalite share this one process.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { execute } from '../infra/cli/commands/import';
import { startEngine } from '../infra/embedded/engine';
import { countDynamoCalls } from './dynamo-call-counter';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000);
const DAY = 86_400_000;

const dir = mkdtempSync(join(tmpdir(), 'rapport-import-bench-'));
const file = join(dir, 'history.ndjson');
const lines: string[] = [];
for (let i = 0; i < EVENTS; i++) {
  const userId = `hist-${i % 2000}`;
  const timestamp = new Date(Date.now() - (200 - (i % 180)) * DAY).toISOString();
  lines.push(
    JSON.stringify(
      i % 4 === 0
        ? { type: 'identify', userId, timestamp, traits: { email: `${userId}@example.com`, name: 'Ada' } }
        : i % 4 === 1
          ? { type: 'track', userId, event: 'Order Completed', timestamp, properties: { orderId: `o-${i}`, revenue: 30, currency: 'EUR' } }
          : { type: 'track', userId, event: 'Product Viewed', timestamp, properties: { productId: `p-${i % 300}` } },
    ),
  );
}
writeFileSync(file, lines.join('\n'));

const engine = await startEngine({ port: 0, dataDir: null, sources: [{ id: 'default', webhookSecrets: [SECRET], writeKeys: [] }], sweepEveryMs: 0, logLevel: 'SILENT' });
// Every DynamoDB call the engine makes (ingest records, profiles, journeys), by operation; BENCH_CALLERS=1: by caller too.
const BY_CALLER = process.env.BENCH_CALLERS === '1';
const counter = countDynamoCalls(engine.dynamo.client, { byCaller: BY_CALLER });
const calls = counter.calls;
const load = () => loadavg().map((n) => n.toFixed(2)).join(' ');
console.log(`load average before: ${load()}`);
const cpuBefore = process.cpuUsage();
try {
  const out: string[] = [];
  const t0 = performance.now();
  const code = await execute(
    { values: { engine: engine.url, secret: SECRET }, positionals: [file] },
    { out: (l = '') => out.push(l), err: () => undefined, cwd: dir, env: {} },
  );
  const accepted = performance.now() - t0;
  await engine.settle();
  const settled = performance.now() - t0;
  console.log(`rapport import: ${EVENTS} events, exit ${code}: ${out[0]}`);
  console.log(`  accepted (on the bus):  ${(EVENTS / (accepted / 1000)).toFixed(0)} events/s (${(accepted / 1000).toFixed(1)} s)`);
  console.log(`  settled (profiles too): ${(EVENTS / (settled / 1000)).toFixed(0)} events/s (${(settled / 1000).toFixed(1)} s)`);
  const cpu = process.cpuUsage(cpuBefore);
  const total = [...calls.values()].reduce((a, b) => a + b, 0);
  console.log(`  CPU: ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s (user + system) = ${((cpu.user + cpu.system) / 1000 / EVENTS).toFixed(2)} ms per event; load average after: ${load()}`);
  console.log(`  DynamoDB calls per event: ${(total / EVENTS).toFixed(2)} (${[...calls].sort((a, b) => b[1] - a[1]).map(([op, n]) => `${op} ${(n / EVENTS).toFixed(2)}`).join(', ')})`);
  if (BY_CALLER) {
    console.log('  DynamoDB calls per event by operation, key and caller:');
    for (const line of counter.callerLines(EVENTS)) console.log(`    ${line}`);
  }
} finally {
  await engine.stop();
  rmSync(dir, { recursive: true, force: true });
}
