/**
 * Hot-customer benchmark: `npm run bench:profile-hot`.
 *
 * Many events for ONE customer, fed straight to the profile consumer against
 * dynalite, in three shapes:
 * - one process, all in flight at once (the embedded engine after a 500-event
 *   batch; a multi-concurrency Lambda): the per-customer writer groups them;
 * - several consumer instances, each one event at a time (AWS: one Lambda
 *   instance per async invocation): they race the one profile item and take
 *   turns through jittered, time-bounded retries.
 * Prints events/s, profile write attempts (won or lost) and dead letters (events whose handling threw,
 * which the Lambda's retries and then the DLQ would get) for each.
 */
import { performance } from 'node:perf_hooks';
import { createProfileConsumer, documentClient, loadProfileConfig, ProfileStore } from '../functions/profile';
import { ensureTable, profileTableDefinition, startDynalite } from '../infra/embedded/dynamo';
import { PROFILE_TABLE } from '../infra/embedded/engine';
import { systemClock, type NormalisedEvent } from '../shared';

const SIZES = (process.env.BENCH_HOT_EVENTS ?? '500,5000').split(',').map(Number);
const INSTANCES = Number(process.env.BENCH_HOT_INSTANCES ?? 8);
/** The raced shape re-reads and re-folds on every lost race: slow locally (one process hosts dynalite and every racer), so only up to this many events. */
const RACED_MAX = Number(process.env.BENCH_HOT_RACED_MAX ?? 500);

const dynamo = await startDynalite();
await ensureTable(dynamo.client, profileTableDefinition(PROFILE_TABLE));
/** The profile item's writes, won or lost (its PutItems; timeline events go in BatchWriteItems, other items elsewhere). */
let puts = 0;
dynamo.client.middlewareStack.add(
  (next, context) => async (args) => {
    const sortKey = (args.input as { Item?: { SK?: unknown } }).Item?.SK;
    if (context.commandName === 'PutItemCommand' && (sortKey === 'P' || (sortKey as { S?: string } | undefined)?.S === 'P')) puts++;
    return next(args);
  },
  { step: 'initialize', name: 'countProfilePuts' },
);
const config = loadProfileConfig('workflows');
const store = new ProfileStore(documentClient(dynamo.client), PROFILE_TABLE);
const consumer = () =>
  createProfileConsumer({
    store,
    segment: config.segmenter,
    putEvents: async (entries) => ({ FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e-${i}` })) }),
    clock: systemClock,
    timelineRetentionDays: config.timelineRetentionDays,
  });

const start = Date.UTC(2026, 0, 1);
const order = (userId: string, i: number): NormalisedEvent => {
  const at = new Date(start + i * 1000).toISOString();
  return { specVersion: 1, type: 'track', event: 'Order Completed', messageId: `${userId}-${i}`, userId, properties: { orderId: `${userId}-o${i}`, revenue: 1, currency: 'EUR' }, traits: {}, context: {}, timestamp: at, receivedAt: at, sourceId: 'bench' };
};

async function run(label: string, count: number, feed: (events: NormalisedEvent[]) => Promise<number>) {
  const userId = `hot-${label}-${count}`;
  const events = Array.from({ length: count }, (_, i) => order(userId, i));
  const putsBefore = puts;
  const t = performance.now();
  const dead = await feed(events);
  const seconds = (performance.now() - t) / 1000;
  const profile = await store.get(userId);
  const writes = puts - putsBefore;
  console.log(
    `${label.padEnd(34)} ${String(count).padStart(5)} events: ${Math.round(count / seconds).toLocaleString('en-US').padStart(6)} events/s, ` +
      `${writes} profile write attempts, ${dead} dead letters, orders on the profile ${profile?.profile.stats.orderCount ?? 0}`,
  );
}

console.log(`Rapport hot-customer benchmark — Node ${process.version}, dynalite in memory, one customer`);
for (const count of SIZES) {
  // One process, everything in flight at once: grouped by the per-customer writer.
  await run('one process, all in flight', count, async (events) => {
    const c = consumer();
    const results = await Promise.allSettled(events.map((e) => c.handleEvent(e)));
    return results.filter((r) => r.status === 'rejected').length;
  });
  // AWS-like: INSTANCES consumers (Lambda instances), each one event at a time, racing one item.
  if (count > RACED_MAX) continue;
  await run(`${INSTANCES} instances, one event each`, count, async (events) => {
    let next = 0;
    let dead = 0;
    await Promise.all(
      Array.from({ length: INSTANCES }, async () => {
        const c = consumer();
        while (next < events.length) {
          const event = events[next++]!;
          await c.handleEvent(event).catch(() => dead++);
        }
      }),
    );
    return dead;
  });
}
await dynamo.close();
