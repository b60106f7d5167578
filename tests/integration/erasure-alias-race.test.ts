/**
 * Erasure is complete whatever order an alias (or an identify linking a visitor) races it in
 * (decision 8). The link records an alias writes — `A#<previousId>`, the visitor record
 * `C#anon:<previousId>`, the forwarding record `C#<previousId>` — and the survivor's own items are
 * written in several steps, and the erasure tombstones, reads, deletes and completes in several steps:
 * each round runs one side to completion at one step of the other (a DynamoDB middleware on the
 * engine's client pauses the call), then redelivers the alias (at-least-once), and scans the whole
 * profile table, every partition, for the erased id (and, where the other id had nothing of its own,
 * for that one too).
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import type { BusEntry } from '../../shared';
import { dynamoHooks } from '../helpers/dynamo-hooks';
import { useTestEngine } from '../helpers/engine';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: undefined } });

/** One DynamoDB call of one side, at which the other side runs to completion. */
interface Pause {
  name: string;
  match: (operation: string, input: string) => boolean;
  at: 'before' | 'after';
}
const hooks = dynamoHooks(t, 'testInterleaveErasure');
/** Every entry put on the bus, as put (erasure removes the customer's from the bus log). */
const putOnBus: BusEntry[] = [];

beforeAll(() => {
  const bus = t.engine.bus;
  const putEvents = bus.putEvents.bind(bus);
  bus.putEvents = (entries) => (putOnBus.push(...entries), putEvents(entries));
});

/** Whether a request (document client or marshalled) has attribute `name` = `value`. */
const has = (input: string, name: string, value: string) => input.includes(`"${name}":"${value}"`) || input.includes(`"${name}":{"S":"${value}"}`);
/** Steps of the writer (the profile consumer applying the alias or identify). */
const writerPauses = (old: string, next: string, alias: boolean): Pause[] => [
  { name: 'after the visitor link A#old', at: 'after', match: (op, input) => op === 'PutItem' && has(input, 'PK', `A#${old}`) },
  { name: 'after the visitor record is frozen', at: 'after', match: (op, input) => op === 'PutItem' && has(input, 'PK', `C#anon:${old}`) },
  ...(alias ? [{ name: 'after the known id is frozen', at: 'after' as const, match: (op: string, input: string) => op === 'PutItem' && has(input, 'PK', `C#${old}`) && input.includes('mergedInto') }] : []),
  { name: 'after the survivor profile write', at: 'after', match: (op, input) => op === 'PutItem' && has(input, 'PK', `C#${next}`) && has(input, 'itemType', 'profile') },
];
/** Steps of the erasure (DELETE /v1/customers/{id}). */
const eraserPauses: Pause[] = [
  { name: 'after the first tombstone', at: 'after', match: (op, input) => op === 'PutItem' && has(input, 'itemType', 'tombstone') },
  { name: 'before the deletes', at: 'before', match: (op) => op === 'BatchWriteItem' },
  { name: 'before completion', at: 'before', match: (op, input) => op === 'UpdateItem' && input.includes('completedAt') },
];

async function tableItemsNaming(needles: string[]): Promise<string[]> {
  const out: string[] = [];
  let start: Record<string, never> | undefined;
  do {
    const page = await t.engine.dynamo.client.send(new ScanCommand({ TableName: PROFILE_TABLE, ConsistentRead: true, ...(start && { ExclusiveStartKey: start }) }));
    for (const item of page.Items ?? []) if (needles.some((n) => JSON.stringify(item).includes(n))) out.push(JSON.stringify(item));
    start = page.LastEvaluatedKey as typeof start;
  } while (start);
  return out;
}

type Order = { name: string; run: (link: () => Promise<unknown>, erase: () => Promise<unknown>) => Promise<void> };
const orders = (old: string, next: string, alias: boolean): Order[] => [
  {
    name: 'erasure first, the link delivered late',
    run: async (link, erase) => {
      await erase();
      await link();
    },
  },
  {
    name: 'the link first, then the erasure',
    run: async (link, erase) => {
      await link();
      await erase();
    },
  },
  ...writerPauses(old, next, alias).map((pause) => ({
    name: `erasure ${pause.name}`,
    run: async (link: () => Promise<unknown>, erase: () => Promise<unknown>) => {
      hooks.set({ match: pause.match, [pause.at]: erase });
      await link();
    },
  })),
  ...eraserPauses.map((pause) => ({
    name: `the link ${pause.name} of the erasure`,
    run: async (link: () => Promise<unknown>, erase: () => Promise<unknown>) => {
      hooks.set({ match: pause.match, [pause.at]: link });
      await erase();
    },
  })),
];

let round = 0;
/** One round: fresh ids, the link event and the erasure in `order`, a redelivery, then the scan. */
async function race(kind: 'alias' | 'identify', erased: 'survivor' | 'previous', pick: (old: string, next: string) => Order) {
  const { api, engine } = t;
  round += 1;
  const old = `zq-${round}-old`;
  const next = `zq-${round}-new`;
  const messageId = `link-msg-${round}`;
  await api.sendAndSettle([
    { type: 'identify', userId: next, traits: { email: `${next}@example.org` }, messageId: `setup-n-${round}` },
    { type: 'track', userId: next, event: 'Order Completed', properties: { orderId: `o-${round}`, revenue: 3 }, messageId: `setup-o-${round}` },
    // Erasing the previous id needs it known; erasing the survivor, the previous id has nothing of its own.
    ...(erased === 'previous' ? [{ type: 'identify', userId: old, traits: { email: `${old}@example.org` }, messageId: `setup-p-${round}` }] : []),
  ]);
  // Dated before the erasure: a late event of the erased life, not the start of a new one.
  const timestamp = new Date(Date.now() - 60_000).toISOString();
  const event = kind === 'alias' ? { type: 'alias', previousId: old, userId: next, messageId, timestamp } : { type: 'identify', userId: next, anonymousId: old, traits: { plan: 'x' }, messageId, timestamp };
  const target = erased === 'survivor' ? next : old;
  const order = pick(old, next);
  hooks.set();
  let status: number | undefined;
  await order.run(
    () => api.sendAndSettle(event),
    async () => (status = (await api.del(`/v1/customers/${target}`)).status),
  );
  await engine.settle();
  hooks.clear();
  // At-least-once: the link event again, after everything.
  const ingested = putOnBus.find((e) => e.Source === 'rapport.ingest' && (JSON.parse(e.Detail!) as { messageId: string }).messageId === messageId);
  expect(ingested, `${messageId} was put on the bus`).toBeDefined();
  engine.bus.putEvents([ingested!]);
  await engine.settle();
  const what = `${kind}, erasing the ${erased}, ${order.name}`;
  if (!order.name.includes('first')) expect(hooks.fired > 0, `${what}: the pause was reached`).toBe(true);
  expect(status, what).toBe(200);
  // The erased id is gone from every partition; so is the other id when all it had was the link.
  const needles = erased === 'survivor' ? [old, next] : [old];
  expect(await tableItemsNaming(needles), what).toEqual([]);
  expect((await api.get(`/v1/customers/${target}`)).status, what).toBe(404);
}

describe('erasure racing an alias or identify that links another id', () => {
  for (const kind of ['alias', 'identify'] as const) {
    for (const erased of kind === 'alias' ? (['survivor', 'previous'] as const) : (['survivor'] as const)) {
      const names = orders('o', 'n', kind === 'alias').map((o) => o.name);
      it.each(names)(`${kind}, erasing the ${erased}: %s — no item names the erased id`, async (name) => {
        await race(kind, erased, (old, next) => orders(old, next, kind === 'alias').find((o) => o.name === name)!);
        expect(t.engine.deadLetters).toEqual([]);
      }, 60_000);
    }
  }
});
