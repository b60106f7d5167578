/**
 * The AWS twin's delivery semantics (`EngineOptions.twin`): EventBridge delivers each event to each target
 * after its own delay (so in no order) and sometimes twice, and Lambda retries a failed async invocation 1 and 2
 * minutes later. A population runs the built-in journeys once on the kind bus (every event at once, in order) and
 * once per seed on the twin; every customer must end the same: the same runs with the same ends, the same
 * messages, the same profile. Seeded on virtual time, so a failure reproduces with its seed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine, EngineOptions } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { outboxFor, runsOf } from '../helpers/journeys';
import { scheduleEvents } from '../helpers/virtual';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const START = Date.parse('2026-03-02T09:00:00Z');
const CUSTOMERS = 12;

/** Each customer signs up; every third orders during the welcome's waits; every fourth complains and is resolved 10 s later. */
function population(): Array<Record<string, unknown>> {
  const events: Array<Record<string, unknown>> = [];
  const at = (ms: number) => new Date(ms).toISOString();
  for (let i = 0; i < CUSTOMERS; i++) {
    const id = `tw-${i}`;
    const t = START + i * 7 * MINUTE;
    events.push({ type: 'identify', userId: id, messageId: `${id}-id`, timestamp: at(t), traits: { email: `${id}@example.com`, name: id } });
    events.push({ type: 'track', userId: id, messageId: `${id}-su`, timestamp: at(t), event: 'Signed Up', properties: { method: 'email' } });
    if (i % 3 === 0) events.push({ type: 'track', userId: id, messageId: `${id}-o1`, timestamp: at(t + DAY + 2 * HOUR), event: 'Order Completed', properties: { orderId: `${id}-o1`, revenue: 30 + i, currency: 'EUR' } });
    if (i % 4 === 0) {
      events.push({ type: 'track', userId: id, messageId: `${id}-cf`, timestamp: at(t + 2 * HOUR), event: 'Complaint Filed', properties: { complaintId: `${id}-c`, category: 'delivery' } });
      events.push({ type: 'track', userId: id, messageId: `${id}-cr`, timestamp: at(t + 2 * HOUR + 10_000), event: 'Complaint Resolved', properties: { complaintId: `${id}-c`, resolution: 'refund' } });
    }
  }
  return events;
}

interface Outcome {
  runs: string[];
  messages: string[];
  orders: unknown;
}

/** Replay the population on virtual time until every journey is done; each customer's outcome. */
async function replay(options: Partial<EngineOptions>): Promise<{ outcomes: Record<string, Outcome>; engine: Engine }> {
  const clock = new VirtualClock(START - MINUTE);
  const engine = await startTestEngine({ clock, sweepEveryMs: 0, sendPolicy: { quietHours: undefined }, logLevel: 'SILENT', ...options });
  engines.push(engine);
  const api = client(engine);
  const sent = scheduleEvents(clock, (batch) => api.send(batch), population());
  await clock.run(START + 60 * DAY);
  sent.check();
  const outcomes: Record<string, Outcome> = {};
  for (let i = 0; i < CUSTOMERS; i++) {
    const id = `tw-${i}`;
    outcomes[id] = {
      runs: (await runsOf(engine, id)).map((r) => `${r.journeyId}:${r.status}`).sort(),
      messages: outboxFor(engine, id).map((m) => m.step).sort(),
      orders: (await api.customer(id) as unknown as { stats?: { orderCount?: number } }).stats?.orderCount,
    };
  }
  return { outcomes, engine };
}

const engines: Engine[] = [];
afterAll(async () => {
  for (const engine of engines.splice(0)) await engine.stop();
});

describe('the AWS twin: delivery in no order, at least once, with Lambda retries minutes apart', () => {
  const SEED = 1;
  let kind: Awaited<ReturnType<typeof replay>>;
  let twin: Awaited<ReturnType<typeof replay>>;
  beforeAll(async () => {
    kind = await replay({});
    twin = await replay({ twin: { seed: SEED, maxDelayMs: 30_000, duplicateProbability: 0.2 } });
    if (process.env.TWIN_DIFF) for (const id of Object.keys(kind.outcomes)) if (JSON.stringify(kind.outcomes[id]) !== JSON.stringify(twin.outcomes[id])) console.log('TWINDIFF', id, JSON.stringify(kind.outcomes[id]), '=>', JSON.stringify(twin.outcomes[id]), JSON.stringify(await client(twin.engine).get(`/v1/customers/${id}/messages`)));
  }, 180_000);

  it('refuses to run on a real clock', async () => {
    await expect(startTestEngine({ twin: { seed: 1 }, logLevel: 'SILENT' })).rejects.toThrow('runs on virtual time');
  });

  it('the kind run is the expected story: everyone welcomed, buyers converted, complaints followed up', () => {
    expect(kind.outcomes['tw-0']!.runs).toEqual(['complaint-follow-up:completed', 'welcome:converted']);
    expect(kind.outcomes['tw-1']!.runs).toEqual(['welcome:completed']);
    expect(kind.outcomes['tw-4']!.messages).toContain('send-survey');
  });

  it(`applies every event once and sends no message twice, though it delivered some twice (seed ${SEED})`, () => {
    expect(twin.engine.bus.twinDuplicates).toBeGreaterThan(0);
    expect(twin.engine.deadLetters).toEqual([]);
    for (const [id, outcome] of Object.entries(twin.outcomes)) {
      expect(outcome.orders, id).toEqual(kind.outcomes[id]!.orders);
      expect(outcome.messages, id).toEqual([...new Set(outcome.messages)]);
      expect(outcome.runs.map((r) => r.split(':')[0]), id).toEqual([...new Set(outcome.runs.map((r) => r.split(':')[0]))]);
    }
  });

  // Item 6: a trigger is enrolled by the profile consumer once it applied the event, so no order of delivery
  // loses a customer's run (before the fix, customers of this seed had no welcome run at all).
  it(`enrols every customer in the journeys of the kind run, whatever the order (seed ${SEED})`, () => {
    for (const id of Object.keys(kind.outcomes)) expect(twin.outcomes[id]!.runs, id).toEqual(kind.outcomes[id]!.runs);
  });

  // Found by this twin on 2026-12-06, each fixed since: a trigger handled before its profile event (the consumer now
  // enrols), a Complaint Resolved handled before its run reached the wait_for (wait-for-order.test.ts), and a welcome
  // skipped as no-address when Signed Up was handled before the identify sent with it (`precededBy`).
  it(`every customer ends as on the kind bus (seed ${SEED})`, () => {
    expect(twin.outcomes).toEqual(kind.outcomes);
  });
});
