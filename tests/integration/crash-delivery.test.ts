import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestEngine, TEST_SECRET } from '../helpers/engine';
import { startEngineProcess, type EngineProcess } from '../helpers/engine-process';
import { eventually } from '../helpers/journeys';
import { post, signedRequest } from '../helpers/webhook';

/**
 * Issue 12, "Done when": the engine is SIGKILLed right after batches are acknowledged (and while
 * others are half-published), restarted on the same data folder, and every acknowledged event is on
 * its customer's profile, once.
 */
const folders: string[] = [];
afterAll(() => folders.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
const TIMEOUT = 180_000;

interface Sent {
  messageId: string;
  userId: string;
}

function batch(prefix: string, b: number, size: number, customers: number): { events: Record<string, unknown>[]; sent: Sent[] } {
  const now = Date.now();
  const events = Array.from({ length: size }, (_, i) => {
    const userId = `${prefix}-c${(b * size + i) % customers}`;
    const messageId = `${prefix}-b${b}-e${i}`;
    const timestamp = new Date(now - (size - i) * 1000).toISOString();
    return i % 4 === 0
      ? { type: 'track', userId, messageId, timestamp, event: 'Order Completed', properties: { orderId: messageId, revenue: 10, currency: 'EUR' } }
      : { type: 'track', userId, messageId, timestamp, event: 'Product Viewed', properties: { productId: `p-${i}`, category: 'toys' } };
  });
  return { events, sent: events.map((e) => ({ messageId: e.messageId as string, userId: e.userId as string })) };
}

/** How many times each customer's timeline holds each of its events (any missing event counts 0). */
async function applied(url: string, sent: readonly Sent[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const userId of new Set(sent.map((s) => s.userId))) {
    const res = await fetch(`${url}/v1/customers/${userId}/events?limit=1000`);
    if (res.status !== 200) continue;
    const { events } = (await res.json()) as { events: Array<{ messageId: string }> };
    for (const e of events) counts.set(e.messageId, (counts.get(e.messageId) ?? 0) + 1);
  }
  return counts;
}

async function eventCounts(url: string, userIds: Iterable<string>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const userId of userIds) {
    const res = await fetch(`${url}/v1/customers/${userId}`);
    out[userId] = res.status === 200 ? ((await res.json()) as { stats: { eventCount: number } }).stats.eventCount : 0;
  }
  return out;
}

/**
 * After a restart: every acknowledged event reaches its profile (waits for redelivery), then a clean
 * stop and one more start (nothing left in flight) to look at the settled data: each acknowledged event
 * once, each unacknowledged one at most once, and the profiles' event counts agree.
 */
async function expectAppliedOnce(dataDir: string, engine: EngineProcess, acknowledged: readonly Sent[], unacknowledged: readonly Sent[]): Promise<void> {
  await eventually(
    async () => {
      const counts = await applied(engine.url, acknowledged);
      return acknowledged.every((s) => (counts.get(s.messageId) ?? 0) > 0);
    },
    `every one of the ${acknowledged.length} acknowledged events on its profile after the restart`,
    60_000,
  ).catch(async (error: unknown) => {
    const counts = await applied(engine.url, acknowledged);
    const lost = acknowledged.filter((s) => !counts.has(s.messageId)).map((s) => s.messageId);
    throw new Error(`${(error as Error).message}; ${lost.length} of ${acknowledged.length} acknowledged events never reached their profile, e.g. ${lost.slice(0, 5).join(', ')}`);
  });
  expect(await engine.stop()).toBe(0);

  // Read back in-process (faster than another child): nothing is in flight after the clean stop.
  const settled = await startTestEngine({ dataDir, sweepEveryMs: 0, logLevel: 'SILENT' });
  try {
    const all = [...acknowledged, ...unacknowledged];
    const counts = await applied(settled.url, all);
    expect(acknowledged.filter((s) => counts.get(s.messageId) !== 1)).toEqual([]);
    expect(unacknowledged.filter((s) => (counts.get(s.messageId) ?? 0) > 1)).toEqual([]);
    expect(settled.bus.log.length).toBeGreaterThan(0);
    const perCustomer: Record<string, number> = {};
    for (const s of all) if (counts.has(s.messageId)) perCustomer[s.userId] = (perCustomer[s.userId] ?? 0) + 1;
    expect(await eventCounts(settled.url, Object.keys(perCustomer))).toEqual(perCustomer);
  } finally {
    await settled.stop();
  }
}

describe('durable delivery across a crash (SIGKILL)', () => {
  it(
    'applies every event of batches acknowledged right before the kill, once, after a restart on the same folder',
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'rapport-crash-ack-'));
      folders.push(dataDir);
      const first = await startEngineProcess(dataDir);
      const acknowledged: Sent[] = [];
      try {
        for (let b = 0; b < 4; b++) {
          const { events, sent } = batch('ack', b, 50, 10);
          const res = await post(`${first.url}/v1/events`, signedRequest(TEST_SECRET, { batch: events }));
          expect(res.status, res.text).toBe(202);
          acknowledged.push(...sent);
        }
        // Last, ten sign-ups: triggers of the welcome journey, for the journey starter.
        const signUps = Array.from({ length: 10 }, (_, i) => ({ type: 'track', userId: `ack-s${i}`, messageId: `ack-s${i}-signed-up`, event: 'Signed Up', properties: { method: 'email' } }));
        const res = await post(`${first.url}/v1/events`, signedRequest(TEST_SECRET, { batch: signUps }));
        expect(res.status, res.text).toBe(202);
        acknowledged.push(...signUps.map((e) => ({ messageId: e.messageId, userId: e.userId })));
      } finally {
        // Right after the last 202: the profile consumer and the starter are still working through the batches.
        await first.kill();
      }
      const second = await startEngineProcess(dataDir);
      const signedUp = Array.from({ length: 10 }, (_, i) => `ack-s${i}`);
      const welcomeRuns = async (url: string) => {
        const runs = await Promise.all(signedUp.map(async (id) => ((await (await fetch(`${url}/v1/customers/${id}/journeys`)).json()) as { runs?: Array<{ journeyId: string }> }).runs ?? []));
        return runs.map((r) => r.filter((run) => run.journeyId === 'welcome').length);
      };
      // Every acknowledged sign-up enters the journey (the starter gets the triggers it had not finished) ...
      await eventually(async () => (await welcomeRuns(second.url)).every((n) => n > 0), 'a welcome run for every acknowledged sign-up', 60_000);
      // ... once: a trigger delivered again finds its run (the starter names runs by the trigger).
      expect(await welcomeRuns(second.url)).toEqual(signedUp.map(() => 1));
      // Counted once each: read once no run is still being counted (the starter writes the run, then counts it).
      const pending = async () => (await Promise.all(signedUp.map(async (id) => ((await (await fetch(`${second.url}/v1/customers/${id}/journeys`)).json()) as { runs?: Array<{ entryPending?: boolean }> }).runs ?? []))).flat().filter((r) => r.entryPending);
      await eventually(async () => (await pending()).length === 0, 'every welcome run counted as entered', 60_000);
      const stats = (await (await fetch(`${second.url}/v1/journeys/welcome/stats`)).json()) as { counters: { entered?: number } };
      expect(stats.counters.entered).toBe(10);
      await expectAppliedOnce(dataDir, second, acknowledged, []);
    },
    TIMEOUT,
  );

  it(
    'applies every acknowledged event once when the kill lands while other batches are half-published',
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'rapport-crash-mid-'));
      folders.push(dataDir);
      const first = await startEngineProcess(dataDir);
      // Warm the engine (first request compiles and connects), then six batches at once; kill on the first 202.
      const warm = batch('mid', 99, 5, 5);
      expect((await post(`${first.url}/v1/events`, signedRequest(TEST_SECRET, { batch: warm.events }))).status).toBe(202);
      const acknowledged: Sent[] = [...warm.sent];
      const unacknowledged: Sent[] = [];
      let killed: Promise<void> | undefined;
      await Promise.all(
        Array.from({ length: 6 }, async (_, b) => {
          const { events, sent } = batch('mid', b, 60, 12);
          const res = await post(`${first.url}/v1/events`, signedRequest(TEST_SECRET, { batch: events })).catch(() => undefined);
          if (res?.status === 202) {
            acknowledged.push(...sent);
            killed ??= first.kill();
          } else unacknowledged.push(...sent);
        }),
      );
      await (killed ?? first.kill());
      expect(acknowledged.length).toBeGreaterThan(warm.sent.length);
      const second = await startEngineProcess(dataDir);
      await expectAppliedOnce(dataDir, second, acknowledged, unacknowledged);
    },
    TIMEOUT,
  );
});
