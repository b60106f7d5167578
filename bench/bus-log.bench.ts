/**
 * Bus log benchmark: `npx tsx bench/bus-log.bench.ts`.
 *
 * The write cost of durable delivery: PutEvents calls of 10 entries (as the ingest
 * publishes) into the embedded bus with a data folder, one rule whose target
 * finishes at once, versus the same bus in memory. Prints events/s for both and
 * the bytes written per event (bus log and delivery cursors).
 */
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LocalEventBus } from '../infra/embedded/event-bus';
import type { BusEntry } from '../shared';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 50_000);
const PER_CALL = 10;

const entry = (i: number): BusEntry => ({
  Source: 'rapport.ingest',
  DetailType: 'Product Viewed',
  Detail: JSON.stringify({ specVersion: 1, type: 'track', event: 'Product Viewed', messageId: `bench-${i}`, userId: `c-${i % 500}`, properties: { productId: `p-${i % 50}` }, timestamp: '2026-01-01T00:00:00Z', receivedAt: '2026-01-01T00:00:00Z', sourceId: 'bench' }),
});

async function run(dataDir: string | undefined): Promise<number> {
  const bus = new LocalEventBus({ ...(dataDir && { dataDir }) });
  bus.addRule({ name: 'consumer', pattern: { source: ['rapport.ingest'] }, target: async () => undefined });
  bus.resume();
  const start = performance.now();
  for (let i = 0; i < EVENTS; i += PER_CALL) {
    bus.putEvents(Array.from({ length: PER_CALL }, (_, k) => entry(i + k)));
    // Let the deliveries finish as they would between requests.
    if (i % 1000 === 0) await bus.drain();
  }
  await bus.drain();
  const seconds = (performance.now() - start) / 1000;
  bus.close();
  return EVENTS / seconds;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const memory = await run(undefined);
const dir = mkdtempSync(join(tmpdir(), 'rapport-bench-bus-'));
try {
  const disk = await run(dir);
  const size = (f: string) => (existsSync(f) ? statSync(f).size : 0);
  const bytes = size(join(dir, 'bus', 'events.ndjson')) + size(join(dir, 'bus', 'cursors.json'));
  console.log(`Rapport bus log benchmark — Node ${process.version}, ${EVENTS} events in PutEvents calls of ${PER_CALL}, one rule`);
  console.log(`in memory: ${fmt(memory)} events/s; with a data folder (log + cursors): ${fmt(disk)} events/s (${((disk / memory) * 100).toFixed(0)}%); ${(bytes / EVENTS).toFixed(0)} bytes on disk per event`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
