/**
 * DynamoDB throttling and failing: about one write in five (profile table and
 * idempotency table, every function) is refused with a throttling or transient
 * error, and some profile writes commit but answer 500 (the response lost), so
 * the caller retries a write that already happened. Retries converge, and no
 * increment is lost or doubled: event, order and complaint counts and revenue
 * come out exact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../../infra/embedded/engine';
import { PROFILE_TABLE } from '../../../infra/embedded/engine';
import type { DynamoCall, DynamoFault } from '../../../infra/embedded/faults';
import { VirtualClock } from '../../../infra/embedded/virtual-time';
import { client } from '../../helpers/client';
import { startTestEngine } from '../../helpers/engine';
import { expectedStats, statsOf } from './expected';
import { customerHistories, deliver, inFlight, prng, shuffle, type Delivery } from './workload';

const anchor = Date.now();
const history = customerHistories({ customers: 20, eventsPerCustomer: 12, seed: 23, anchor, prefix: 'ddb' });
const events = history.events.map((e, i) => ({ ...e, messageId: `ddb-m-${i}` }));
const random = prng(5);

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'Put', 'Update', 'Delete']);
const injected = { throttled: 0, lostResponses: 0 };
/** Faults per distinct request (its input): at most one, so the SDK's retry gets through. */
const faultsPerRequest = new Map<string, number>();

function decide(call: DynamoCall): DynamoFault | undefined {
  if (!WRITES.has(call.operation)) return undefined;
  const key = JSON.stringify(call.input);
  const seen = faultsPerRequest.get(key) ?? 0;
  if (seen >= 1 || random() >= 0.2) return undefined;
  faultsPerRequest.set(key, seen + 1);
  // A profile item (it carries its version) may be written and then answer 500: the retry finds its own write.
  const isProfile = call.table === PROFILE_TABLE && call.operation === 'PutItem' && 'version' in ((call.input.Item as Record<string, unknown> | undefined) ?? {});
  if (isProfile && random() < 0.5) {
    injected.lostResponses++;
    return { error: 'InternalServerError', afterWrite: true };
  }
  injected.throttled++;
  return { error: random() < 0.5 ? 'ProvisionedThroughputExceededException' : 'ThrottlingException' };
}

/**
 * The engine's clock: virtual time, standing at `anchor` but for the retries `settle` runs. The SDK's retries of a
 * throttled write back off a real millisecond on it, a failed delivery's retries are timers on it (50 ms, then 100 ms).
 */
const clock = new VirtualClock(anchor);
/** A delivery's retry backoff is a timer on the clock; a journey's shortest wait is an hour. */
const RETRY_HORIZON_MS = 60_000;

/** Every delivery made, retries included: the engine idle, and the clock run through the timers due within RETRY_HORIZON_MS. */
async function settle(): Promise<void> {
  for (;;) {
    await engine.settle();
    const due = clock.nextDue;
    if (due === undefined || due > clock.now().getTime() + RETRY_HORIZON_MS) return;
    clock.advance(due);
  }
}

let engine: Engine;
beforeAll(async () => {
  engine = await startTestEngine({ clock, sweepEveryMs: 0, sendPolicy: { quietHours: undefined }, logLevel: 'SILENT', faults: { dynamo: decide } });
  const shuffled = shuffle([...events], random);
  const deliveries: Delivery[] = [];
  for (let i = 0; i < shuffled.length; i += 30) deliveries.push({ id: `wh-ddb-${i}`, body: { batch: shuffled.slice(i, i + 30) } });
  await inFlight(deliveries, 3, async (d) => {
    const res = await deliver(engine, d);
    if (res.status !== 202) throw new Error(`${d.id}: ${res.status} ${res.text.slice(0, 300)}`);
  });
  await settle();
}, 120_000);
afterAll(() => engine.stop());

describe('the profile store throttling and failing on some writes', () => {
  it('injected throttles and lost responses on writes', () => {
    expect(injected.throttled).toBeGreaterThan(30);
    expect(injected.lostResponses).toBeGreaterThan(5);
  });

  it('converges: nothing is dead-lettered, every event is on the bus once', () => {
    expect(engine.deadLetters).toEqual([]);
    const ids = engine.bus.log.filter((e) => e.source === 'rapport.ingest').map((e) => (e.detail as { messageId: string }).messageId);
    expect(ids.sort()).toEqual(events.map((e) => e.messageId).sort());
  });

  it('loses and doubles no increment: event, order and complaint counts and revenue are exact', async () => {
    const api = client(engine);
    for (const id of history.customers) expect(statsOf(await api.customer(id)), id).toEqual(expectedStats(events, id));
  });
});
