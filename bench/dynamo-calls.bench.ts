/**
 * Per-call CPU of the embedded engine's in-process DynamoDB client: `npm run bench:dynamo-calls`.
 *
 * The same calls, one at a time, on two dynalites in one process: one client on the standard path (the SDK's
 * middleware resolved on every send, dynalite's HTTP request listener), one with the fast calls
 * (infra/embedded/middleware-order.ts, infra/embedded/dynalite-direct.ts). Rounds alternate between them; each
 * prints its best round, as CPU microseconds per call (user + system), which the other processes of a shared
 * machine disturb less than wall time.
 */
import { loadavg } from 'node:os';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../functions/profile';
import { ensureTable, startDynalite } from '../infra/embedded/dynamo';

const CALLS = Number(process.env.BENCH_CALLS ?? 3000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const TABLE = 'things';

async function side(fastCalls: boolean) {
  const dynamo = await startDynalite(undefined, { fastCalls });
  await ensureTable(dynamo.client, { TableName: TABLE, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] });
  const doc = documentClient(dynamo.client);
  await doc.send(new PutCommand({ TableName: TABLE, Item: { id: 'a', v: 1, m: { x: 'y', l: [1, 2, 3] } } }));
  const calls: Record<string, (i: number) => Promise<unknown>> = {
    'Document GetItem': () => doc.send(new GetCommand({ TableName: TABLE, Key: { id: 'a' } })),
    GetItem: () => dynamo.client.send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: 'a' } } })),
    'Document PutItem': (i) => doc.send(new PutCommand({ TableName: TABLE, Item: { id: `p${i % 100}`, v: i, tags: ['a', 'b'] } })),
    'Document PutItem, condition fails': () => doc.send(new PutCommand({ TableName: TABLE, Item: { id: 'a' }, ConditionExpression: 'attribute_not_exists(id)' })).catch((error: Error) => error),
    'Document UpdateItem': (i) =>
      doc.send(new UpdateCommand({ TableName: TABLE, Key: { id: 'a' }, UpdateExpression: 'SET v = :v', ConditionExpression: 'attribute_exists(id)', ExpressionAttributeValues: { ':v': i } })),
  };
  return { dynamo, calls };
}

const sides = { standard: await side(false), fast: await side(true) };
const best = new Map<string, number>();
for (let round = 0; round < ROUNDS; round++) {
  for (const [path, { calls }] of Object.entries(sides)) {
    for (const [name, call] of Object.entries(calls)) {
      const before = process.cpuUsage();
      for (let i = 0; i < CALLS; i++) await call(i);
      const cpu = process.cpuUsage(before);
      const key = `${name}\t${path}`;
      best.set(key, Math.min(best.get(key) ?? Infinity, (cpu.user + cpu.system) / CALLS));
    }
  }
}
console.log(`In-process DynamoDB calls — Node ${process.version}, best of ${ROUNDS} rounds of ${CALLS} calls; load average ${loadavg().map((n) => n.toFixed(2)).join(' ')}`);
for (const name of Object.keys(sides.fast.calls)) {
  const standard = best.get(`${name}\tstandard`)!;
  const fast = best.get(`${name}\tfast`)!;
  console.log(`${name.padEnd(36)} standard ${standard.toFixed(0).padStart(4)} µs CPU, fast ${fast.toFixed(0).padStart(4)} µs CPU  (${(standard / fast).toFixed(2)}x)`);
}
for (const { dynamo } of Object.values(sides)) await dynamo.close();
