/**
 * Segment benchmark: `npm run bench:segments`.
 *
 * BENCH_MEMBERS customers (default 100,000) enter one segment through `SegmentStore.change`, the path the
 * profile consumer takes (each flip: a conditional write of the member, then its count settled: the member's
 * pending cleared, and with the flips settling at once, up to COUNT_BATCH_MAX, one conditional add and one
 * write forgetting their ids on the segment's counter item), 32 at a time, against dynalite in this process:
 * flips/s, DynamoDB calls and CPU ms per flip. Then prints how long a count read takes (one GetItem whatever
 * the size: p50 and p99 of 1,000 reads), a first page of 1,000 members, and the whole listing.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { documentClient } from '../functions/profile';
import { SegmentStore } from '../functions/profile/segment-store';
import { ensureTable, profileTableDefinition, startDynalite } from '../infra/embedded/dynamo';
import { mapLimit } from '../shared';

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 100_000);
const SEGMENT = 'tag:bench';

const dynamo = await startDynalite();
await ensureTable(dynamo.client, profileTableDefinition('profiles'));
const store = new SegmentStore(documentClient(dynamo.client), 'profiles');
// Every DynamoDB call, by operation and whether it is on the counter item (`SEGS#`) or a member.
const calls = new Map<string, number>();
dynamo.client.middlewareStack.add(
  (next, context) => async (args) => {
    const key = (args.input as { Key?: { PK?: string | { S?: string } } }).Key?.PK;
    const pk = (typeof key === 'string' ? key : key?.S) ?? '';
    const what = `${(context.commandName ?? '?').replace(/Command$/, '')} ${pk.startsWith('SEGS#') ? 'counter' : 'member'}`;
    calls.set(what, (calls.get(what) ?? 0) + 1);
    return next(args);
  },
  { step: 'initialize', name: 'benchCountCalls' },
);
const ids = Array.from({ length: MEMBERS }, (_, i) => `c-${String(i).padStart(7, '0')}`);
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

try {
  console.log(`load average before: ${loadavg().map((n) => n.toFixed(2)).join(' ')}`);
  const cpuBefore = process.cpuUsage();
  let t = performance.now();
  await mapLimit(ids, 32, (id) => store.change(id, SEGMENT, true, 1));
  const entered = (performance.now() - t) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const perFlip = [...calls].sort((a, b) => b[1] - a[1]).map(([what, n]) => `${what} ${(n / MEMBERS).toFixed(2)}`);
  const count = await store.count(SEGMENT);
  if (count !== MEMBERS) throw new Error(`count ${count}, expected ${MEMBERS}`);
  console.log(`segment of ${MEMBERS} members: entered in ${entered.toFixed(1)} s (${(MEMBERS / entered).toFixed(0)} flips/s, 32 writers)`);
  console.log(`  per flip: ${((cpu.user + cpu.system) / 1000 / MEMBERS).toFixed(3)} ms CPU, ${([...calls.values()].reduce((a, b) => a + b, 0) / MEMBERS).toFixed(2)} DynamoDB calls (${perFlip.join(', ')}); load average after: ${loadavg().map((n) => n.toFixed(2)).join(' ')}`);

  const reads: number[] = [];
  for (let i = 0; i < 1000; i++) {
    t = performance.now();
    await store.count(SEGMENT);
    reads.push(performance.now() - t);
  }
  reads.sort((a, b) => a - b);
  console.log(`  count read (GetItem):   p50 ${quantile(reads, 0.5).toFixed(2)} ms, p99 ${quantile(reads, 0.99).toFixed(2)} ms`);

  t = performance.now();
  const first = await store.members(SEGMENT, 1000);
  console.log(`  first page of 1,000:    ${(performance.now() - t).toFixed(1)} ms`);
  t = performance.now();
  let listed = first.customers.length;
  let cursor = first.next;
  while (cursor !== undefined) {
    const page = await store.members(SEGMENT, 1000, cursor);
    listed += page.customers.length;
    cursor = page.next;
  }
  if (listed !== MEMBERS) throw new Error(`listed ${listed}, expected ${MEMBERS}`);
  console.log(`  every member, in pages: ${((performance.now() - t) / 1000).toFixed(1)} s`);
} finally {
  await dynamo.close();
}
