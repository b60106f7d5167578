/**
 * Broadcast benchmark: `npm run bench:broadcast`.
 *
 * The embedded engine in memory, on the system clock (real time), quiet hours off. BENCH_RECIPIENTS
 * customers (default 100,000), each a profile with an email address and a member of `tag:bench`, are
 * written straight to dynalite (the profile item and the segment's member item, as the consumer writes
 * them), so the bench measures the broadcast and not the import. Then one marketing email broadcast to
 * the segment, posted through the HTTP API, runs to completion: the state machine on the local executor,
 * the page function, every recipient through the send gateway (consent, holds, cap claim, message claim,
 * render, outbox). Prints messages/s, and the welcome journey's trigger -> first send latency measured
 * alone and again while the broadcast runs (the journeys' step function is another lane).
 * Everything (client, HTTP server, dynalite, executors) shares this one process.
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Webhook } from 'standardwebhooks';
import { emptyProfile } from '../functions/profile';
import { startEngine, type Engine } from '../infra/embedded/engine';
import { mapLimit } from '../shared';

process.env.POWERTOOLS_LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
// Powertools Metrics warns on every invocation that recorded no metric: drop exactly that warning.
const writeStderr = process.stderr.write.bind(process.stderr);
process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
  String(chunk).includes('No application metrics to publish') ? true : writeStderr(chunk, ...rest)) as typeof process.stderr.write;

const RECIPIENTS = Number(process.env.BENCH_RECIPIENTS ?? 100_000);
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const SEGMENT = 'tag:bench';

const engine = await startEngine({
  port: 0,
  dataDir: null,
  sources: [{ id: 'default', webhookSecrets: [SECRET], writeKeys: [] }],
  sweepEveryMs: 0,
  logLevel: 'SILENT',
  sendPolicy: { quietHours: undefined },
});

/** Post one signed event; resolve when it was accepted. */
async function send(event: Record<string, unknown>): Promise<void> {
  const body = JSON.stringify(event);
  const id = `msg_${Math.random().toString(36).slice(2)}`;
  const now = new Date();
  const res = await fetch(`${engine.url}/v1/events`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': new Webhook(SECRET).sign(id, now, body) },
  });
  if (res.status !== 202) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
}

/** Real ms from a customer's `Signed Up` to their welcome email in the outbox. */
async function welcomeLatency(e: Engine, customerId: string): Promise<number> {
  const t = performance.now();
  await send({ type: 'identify', userId: customerId, traits: { email: `${customerId}@example.com` } });
  await send({ type: 'track', userId: customerId, event: 'Signed Up' });
  for (;;) {
    if (e.outbox.entries.some((m) => m.channel === 'email' && m.tags.customer === customerId && m.tags.journey === 'welcome')) return performance.now() - t;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const quantile = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))]!;

try {
  // Prepare: the recipients, written as the consumer writes them.
  let t = performance.now();
  const now = new Date().toISOString();
  const ids = Array.from({ length: RECIPIENTS }, (_, i) => `r-${String(i).padStart(7, '0')}`);
  let written = 0;
  await mapLimit(ids, 32, async (id) => {
    const profile = emptyProfile(id, now);
    profile.traits.email = `${id}@example.com`;
    await engine.profiles.put({ profile, version: 1, applied: [], outbox: [] }, undefined);
    await engine.profiles.segments.change(id, SEGMENT, true, 1);
    if (++written % Math.max(1, Math.floor(RECIPIENTS / 10)) === 0) console.error(`  ${written} recipients written (${((performance.now() - t) / 1000).toFixed(0)} s)`);
  });
  const counted = ((await (await fetch(`${engine.url}/v1/segments/${SEGMENT}`)).json()) as { count: number }).count;
  if (counted !== RECIPIENTS) throw new Error(`segment count ${counted}, expected ${RECIPIENTS}`);
  console.log(`${RECIPIENTS} recipients written in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const alone: number[] = [];
  for (let i = 0; i < 5; i++) alone.push(await welcomeLatency(engine, `alone-${i}`));

  // Act: the broadcast, and welcome journeys started while it runs.
  t = performance.now();
  const created = await fetch(`${engine.url}/v1/broadcasts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'bench', segment: SEGMENT, send: { channel: 'email', template: 'we-value-you', kind: 'marketing' } }),
  });
  if (created.status !== 201) throw new Error(`POST /v1/broadcasts answered ${created.status}: ${await created.text()}`);
  const during: number[] = [];
  let view: { status: string; sent: number; recipients: number; failed: number; skipped: Record<string, number> } = { status: 'scheduled', sent: 0, recipients: 0, failed: 0, skipped: {} };
  let i = 0;
  let reported = 0;
  while (view.status !== 'completed') {
    if (view.sent >= reported + RECIPIENTS / 10) {
      reported = view.sent;
      console.error(`  ${view.sent} sent (${((performance.now() - t) / 1000).toFixed(0)} s)`);
    }
    if (during.length < 20) during.push(await welcomeLatency(engine, `during-${i++}`));
    else await new Promise((resolve) => setTimeout(resolve, 200));
    view = (await (await fetch(`${engine.url}/v1/broadcasts/bench`)).json()) as typeof view;
  }
  const seconds = (performance.now() - t) / 1000;
  const emails = engine.outbox.entries.filter((m) => m.channel === 'email' && m.tags.journey === 'broadcast:bench').length;
  if (emails !== RECIPIENTS || view.sent !== RECIPIENTS) throw new Error(`sent ${view.sent}, outbox ${emails}, expected ${RECIPIENTS}: ${JSON.stringify(view)}`);

  // Assess
  console.log(`broadcast to ${RECIPIENTS} recipients: ${seconds.toFixed(1)} s, ${(RECIPIENTS / seconds).toFixed(0)} messages/s (each once: ${emails} emails)`);
  console.log(`  welcome trigger -> first send, alone:            p50 ${quantile(alone, 0.5).toFixed(0)} ms, max ${Math.max(...alone).toFixed(0)} ms (${alone.length} customers)`);
  console.log(`  welcome trigger -> first send, during broadcast: p50 ${quantile(during, 0.5).toFixed(0)} ms, max ${Math.max(...during).toFixed(0)} ms (${during.length} customers)`);
  console.log(`  machine: ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
} finally {
  await engine.stop();
}
