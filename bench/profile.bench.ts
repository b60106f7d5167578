/**
 * Profile consumer benchmark: `npm run bench:profile`.
 *
 * Feeds normalised events straight to the profile consumer (the Lambda's core)
 * against dynalite, and prints profile updates per second, DynamoDB calls per
 * event by operation (aim: one read, one write), and dynalite's raw PutItem rate
 * measured in the same run — the local ceiling the consumer is compared with.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createProfileConsumer, documentClient, loadProfileConfig, ProfileStore } from '../functions/profile';
import { ensureTable, profileTableDefinition, startDynalite } from '../infra/embedded/dynamo';
import { PROFILE_TABLE } from '../infra/embedded/engine';
import { PROFILE_TABLE_LAYOUT, systemClock, type NormalisedEvent } from '../shared';
import { itemSize } from './cost/meter';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 3000);
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 500);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);

const dynamo = await startDynalite();
await ensureTable(dynamo.client, profileTableDefinition(PROFILE_TABLE));
await ensureTable(dynamo.client, { TableName: 'raw', BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] });

// Count every DynamoDB call by operation.
const calls = new Map<string, number>();
dynamo.client.middlewareStack.add(
  (next, context) => async (args) => {
    calls.set(context.commandName ?? '?', (calls.get(context.commandName ?? '?') ?? 0) + 1);
    return next(args);
  },
  { step: 'initialize', name: 'countCalls' },
);

const config = loadProfileConfig('workflows');
let published = 0;
const consumer = createProfileConsumer({
  store: new ProfileStore(documentClient(dynamo.client), PROFILE_TABLE),
  segment: config.segmenter,
  putEvents: async (entries) => {
    published += entries.length;
    return { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e${published}-${i}` })) };
  },
  clock: systemClock,
  timelineRetentionDays: config.timelineRetentionDays,
});

const start = Date.UTC(2026, 0, 1);
function event(i: number): NormalisedEvent {
  const userId = `bench-${i % CUSTOMERS}`;
  const at = new Date(start + i * 60_000).toISOString();
  const base = { specVersion: 1 as const, messageId: `pb-${i}`, userId, traits: {}, context: {}, timestamp: at, receivedAt: at, sourceId: 'bench' };
  if (i < CUSTOMERS) return { ...base, type: 'identify', properties: {}, traits: { email: `${userId}@example.com`, name: 'Bench' } };
  if (i % 3 === 0) return { ...base, type: 'track', event: 'Order Completed', properties: { orderId: `o-${i}`, revenue: 25, currency: 'EUR' } };
  return { ...base, type: 'track', event: 'Product Viewed', properties: { productId: `p-${i % 50}`, category: i % 2 ? 'baby' : 'toys' } };
}

async function runAll(count: number, fn: (i: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < count) await fn(next++);
  }));
}

// Identifies first (they create the profiles), then the rest, CONCURRENCY at a time.
await runAll(CUSTOMERS, (i) => consumer.handleEvent(event(i)));
calls.clear();
let t = performance.now();
const cpuBefore = process.cpuUsage();
await runAll(EVENTS, (i) => consumer.handleEvent(event(CUSTOMERS + i)));
const consumerSeconds = (performance.now() - t) / 1000;
const consumerCpu = process.cpuUsage(cpuBefore);
const perEvent = [...calls.entries()].map(([op, n]) => `${op} ${(n / EVENTS).toFixed(2)}`).join(', ');
const reads = (calls.get('GetItemCommand') ?? 0) + (calls.get('QueryCommand') ?? 0);
const writes = (calls.get('PutItemCommand') ?? 0) + (calls.get('UpdateItemCommand') ?? 0) + (calls.get('DeleteItemCommand') ?? 0);

t = performance.now();
await runAll(EVENTS, (i) => dynamo.client.send(new PutItemCommand({ TableName: 'raw', Item: { id: { S: `raw-${i}` }, v: { N: String(i) } } })));
const rawSeconds = (performance.now() - t) / 1000;

const consumerRate = EVENTS / consumerSeconds;
const rawRate = EVENTS / rawSeconds;
console.log(`Rapport profile consumer benchmark — Node ${process.version}, dynalite in memory, ${EVENTS} events over ${CUSTOMERS} customers, ${CONCURRENCY} in flight`);
console.log(`profile updates: ${Math.round(consumerRate).toLocaleString('en-US')}/s; CPU ${((consumerCpu.user + consumerCpu.system) / 1000 / EVENTS).toFixed(2)} ms per event (user + system; load average ${loadavg().map((n) => n.toFixed(2)).join(' ')})`);
console.log(`dynalite raw PutItem: ${Math.round(rawRate).toLocaleString('en-US')}/s  → consumer at ${((consumerRate / rawRate) * 100).toFixed(0)}% of the local ceiling`);
console.log(`DynamoDB calls per event: ${(reads / EVENTS).toFixed(2)} reads, ${(writes / EVENTS).toFixed(2)} writes (${perEvent}); derived events published: ${published}`);
const sample = await new ProfileStore(documentClient(dynamo.client), PROFILE_TABLE).get('bench-7');
const { Item: sampleItem } = await dynamo.client.send(new GetItemCommand({ TableName: PROFILE_TABLE, Key: { [PROFILE_TABLE_LAYOUT.partitionKey]: { S: 'C#bench-7' }, [PROFILE_TABLE_LAYOUT.sortKey]: { S: 'P' } } }));
const stored = sampleItem ? itemSize(sampleItem) : 0;
console.log(
  `profile item size (a customer with ${sample?.profile.stats.eventCount} events): ${(stored / 1024).toFixed(1)} KiB as stored (${(JSON.stringify(sample).length / 1024).toFixed(1)} KiB as JSON) → ${Math.ceil(stored / 1024)} write units per update in AWS`,
);
await dynamo.close();
