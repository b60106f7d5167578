/**
 * Simulation benchmark: `npm run bench:simulate`.
 *
 * `rapport simulate welcome` (its command, in this process, on virtual time) over the demo's synthetic history of
 * BENCH_CUSTOMERS customers (default 1,000: about 8,800 events over 120 days; 12,000 make about 100,000, issue 12's
 * size). Prints the events per second of the whole run (history replayed, every journey run to its end, the funnel
 * read), the process's CPU time per event, which other load on the machine inflates less than wall time, and the load
 * average before and after. The report itself is the command's (the same for the same history on any machine).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { execute } from '../infra/cli/commands/simulate';
import { generatePopulation, toNdjson } from '../infra/demo/population';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 1_000);
const dir = mkdtempSync(join(tmpdir(), 'rapport-simulate-bench-'));
const file = join(dir, 'history.ndjson');
const { events } = generatePopulation({ customers: CUSTOMERS, days: 120, seed: 42, start: '2026-01-01T00:00:00Z' });
writeFileSync(file, toNdjson(events));

const load = () => loadavg().map((n) => n.toFixed(2)).join(' ');
console.log(`rapport simulate welcome: ${CUSTOMERS} customers, ${events.length} events; load average before: ${load()}`);
const cpuBefore = process.cpuUsage();
try {
  const out: string[] = [];
  const t0 = performance.now();
  const code = await execute({ values: { events: file }, positionals: ['welcome'] }, { out: (l = '') => out.push(l), err: () => undefined, cwd: process.cwd(), env: {} });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  console.log(`  exit ${code}; ${out.find((l) => l.includes('entered')) ?? ''}`.trimEnd());
  console.log(`  ${(events.length / seconds).toFixed(0)} events/s (${seconds.toFixed(1)} s)`);
  console.log(`  CPU: ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s (user + system) = ${((cpu.user + cpu.system) / 1000 / events.length).toFixed(2)} ms per event; load average after: ${load()}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
