/**
 * Ingest benchmark: `npm run bench:ingest`.
 *
 * 1. Pipeline, one core: the ingest service (signature check, JSON parse, zod
 *    validation, normalisation, dedupe, chunking) with in-memory dedupe and bus,
 *    so the figure is the CPU cost of Rapport's own code per event.
 * 2. Embedded engine end to end: signed HTTP requests -> the Lambda handler ->
 *    dynalite idempotency records -> the real EventBridge SDK client -> local bus.
 *    Everything (client, server, dynalite) shares this one process.
 * Both print events/s and PutEvents calls per 1,000 events (floor: 100).
 */
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createIngestService, decodeWebhookSecret, signWebhook, staticSources, type EventDeduplicator } from '../functions/ingest';
import { startEngine } from '../infra/embedded/engine';
import { systemClock, type PutEvents } from '../shared';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const key = decodeWebhookSecret(SECRET);
const BATCH = Number(process.env.BENCH_BATCH ?? 100);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);

let seq = 0;
function event(i: number): Record<string, unknown> {
  const userId = `cust-${i % 5000}`;
  const messageId = `bench-${process.pid}-${seq++}`;
  switch (i % 4) {
    case 0:
      return { type: 'track', messageId, userId, event: 'Product Viewed', properties: { productId: `p-${i % 300}`, category: 'baby', price: 19.99 }, context: { ip: '203.0.113.7', userAgent: 'Mozilla/5.0' } };
    case 1:
      return { type: 'track', messageId, userId, event: 'Order Completed', properties: { orderId: `o-${i}`, revenue: 59.9, currency: 'EUR', products: [{ productId: 'p-1', price: 29.95, quantity: 2 }] } };
    case 2:
      return { type: 'identify', messageId, userId, traits: { email: `${userId}@example.com`, name: 'Ada Lovelace', timezone: 'Europe/Paris' } };
    default:
      return { type: 'track', messageId, userId, event: 'Page Scrolled', properties: { depth: 0.8, path: '/pricing' } };
  }
}

function signedBody(requestIndex: number) {
  const body = Buffer.from(JSON.stringify({ batch: Array.from({ length: BATCH }, (_, i) => event(requestIndex * BATCH + i)) }));
  const id = `wh-${process.pid}-${requestIndex}-${seq}`;
  const ts = Math.floor(Date.now() / 1000);
  return { id, body, headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signWebhook(key, id, ts, body) } };
}

async function pipeline() {
  const seen = new Set<string>();
  const dedupe: EventDeduplicator = {
    claim: async (k) => (seen.has(k) ? 'duplicate' : (seen.add(k), 'new')),
    complete: async () => undefined,
    release: async (k) => void seen.delete(k),
  };
  let calls = 0;
  const putEvents: PutEvents = async (entries) => {
    calls++;
    return { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e-${calls}-${i}` })) };
  };
  const handle = createIngestService({ sources: staticSources([{ id: 'default', webhookSecrets: [SECRET] }]), senderTags: { manual: new Set(), computed: new Set() }, dedupe, putEvents, clock: systemClock });
  const requests = Array.from({ length: REQUESTS }, (_, r) => signedBody(r));
  // Warm-up (JIT), not counted.
  for (const r of requests.slice(0, 10)) await handle({ method: 'POST', path: '/v1/events', headers: r.headers, body: r.body });
  calls = 0;
  const start = performance.now();
  let events = 0;
  for (const r of requests.slice(10)) {
    const res = await handle({ method: 'POST', path: '/v1/events', headers: r.headers, body: r.body });
    if (res.statusCode !== 202) throw new Error(`unexpected ${res.statusCode}: ${res.body}`);
    events += BATCH;
  }
  const seconds = (performance.now() - start) / 1000;
  return { events, seconds, calls };
}

async function embedded() {
  const engine = await startEngine({ port: 0, dataDir: null, sources: [{ id: 'default', webhookSecrets: [SECRET] }] });
  try {
    const requests = Array.from({ length: Math.max(20, Math.floor(REQUESTS / 4)) }, (_, r) => signedBody(10_000 + r));
    const send = (r: ReturnType<typeof signedBody>) => fetch(`${engine.url}/v1/events`, { method: 'POST', headers: r.headers, body: r.body }).then(async (res) => {
      if (res.status !== 202) throw new Error(`unexpected ${res.status}: ${await res.text()}`);
    });
    for (const r of requests.slice(0, 3)) await send(r);
    const callsBefore = engine.bus.callsBySource.get("rapport.ingest") ?? 0;
    const start = performance.now();
    // Four requests in flight, as several senders would.
    const rest = requests.slice(3);
    for (let i = 0; i < rest.length; i += 4) await Promise.all(rest.slice(i, i + 4).map(send));
    const seconds = (performance.now() - start) / 1000;
    return { events: rest.length * BATCH, seconds, calls: (engine.bus.callsBySource.get("rapport.ingest") ?? 0) - callsBefore };
  } finally {
    await engine.stop();
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
console.log(`Rapport ingest benchmark — Node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}, batches of ${BATCH} events`);
const p = await pipeline();
console.log(`pipeline (one core, in-memory dedupe and bus): ${fmt(p.events / p.seconds)} events/s validated and published; ${((p.calls / p.events) * 1000).toFixed(0)} PutEvents calls per 1,000 events (floor 100)`);
const e = await embedded();
console.log(`embedded engine (HTTP + dynalite idempotency + SDK to local bus, one process): ${fmt(e.events / e.seconds)} events/s; ${((e.calls / e.events) * 1000).toFixed(0)} PutEvents calls per 1,000 events`);
