/**
 * Segment membership under the two races a hostile audit found (on virtual time, real stores):
 * - a crash right after a profile write, then more writes of the customer that push its segment changes out
 *   of the 50-entry outbox before the bus redelivers: the redelivery reconciles the members with the profile;
 * - an alias joining a customer into another while that customer's segment change is under way: the change,
 *   once written, sees the join and leaves again.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { useTestEngine } from '../helpers/engine';

const START = Date.parse('2026-03-02T10:00:00Z');
const HOUR = 3_600_000;
const at = (ms: number) => new Date(ms).toISOString();
/** Yield to the event loop until `done()` holds (bounded): no wall-clock waiting. */
async function until(done: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if (await done()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`never: ${what}`);
}

describe('segment membership races', () => {
  const clock = new VirtualClock(START);
  const world = useTestEngine({ clock, sweepEveryMs: 0, logLevel: 'SILENT' });
  const members = async (id: string) => ((await world.api.get(`/v1/segments/${id}/customers`)).json as unknown as { customers: Array<{ id: string }> }).customers.map((c) => c.id);
  const tags = (userId: string, list: string[], messageId: string, t = clock.now().getTime()) => ({ type: 'identify', userId, messageId, timestamp: at(t), traits: { tags: list } });

  it('a crash after the write, then 30 more writes, then the redelivery: the customer is in the right lifecycle segment', async () => {
    await world.api.sendAndSettle({ type: 'identify', userId: 'ev-1', messageId: 'ev-1-id', traits: { email: 'ev-1@example.com' } });
    const segments = world.engine.profiles.segments;
    const change = segments.change.bind(segments);
    let failed = false;
    segments.change = async (customerId, segment, into, seq) => {
      if (customerId === 'ev-1' && segment === 'lifecycle:new' && !failed) {
        failed = true;
        throw Object.assign(new Error('throttled (injected)'), { name: 'ProvisionedThroughputExceededException' });
      }
      return change(customerId, segment, into, seq);
    };
    try {
      const t = clock.now().getTime();
      await world.api.send({ type: 'track', userId: 'ev-1', event: 'Order Completed', messageId: 'ev-1-o1', timestamp: at(t), properties: { orderId: 'o1', revenue: 50 } });
      await until(async () => failed, 'the injected failure');
      // The customer's next writes push the order's entries out of the outbox before Lambda retries it (a minute on).
      for (let i = 0; i < 30; i++) await world.api.sendAndSettle(tags('ev-1', i % 2 ? ['crm-gold'] : ['beta-tester'], `ev-1-f${i}`, t + 1000 + i));
      expect((await world.engine.profiles.get('ev-1'))!.outbox.some((o) => o.cause.endsWith('ev-1-o1'))).toBe(false);
      await clock.run(t + HOUR);
      await world.engine.settle();
    } finally {
      segments.change = change;
    }
    const view = (await world.api.get('/v1/customers/ev-1')).json as unknown as { segments: string[] };
    expect(view.segments).toContain('lifecycle:new');
    expect(await members('lifecycle:new')).toContain('ev-1');
    expect(await members('lifecycle:prospect')).not.toContain('ev-1');
  });

  it('an alias joins B into A while B enters a segment: B is not left counted', async () => {
    await world.api.sendAndSettle([tags('ja', ['crm-gold'], 'ja-1'), tags('jb', [], 'jb-0')]);
    const segments = world.engine.profiles.segments;
    const change = segments.change.bind(segments);
    const leaveAll = segments.leaveAll.bind(segments);
    let left = false;
    segments.leaveAll = async (customerId) => {
      const out = await leaveAll(customerId);
      if (customerId === 'jb') left = true;
      return out;
    };
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let held = false;
    segments.change = async (customerId, segment, into, seq) => {
      if (customerId === 'jb' && segment === 'tag:crm-gold' && into) {
        held = true;
        await gate;
      }
      return change(customerId, segment, into, seq);
    };
    try {
      const entering = world.api.send(tags('jb', ['crm-gold'], 'jb-1'));
      await until(async () => held, 'B entering');
      await world.api.send({ type: 'alias', previousId: 'jb', userId: 'ja', messageId: 'j-alias' });
      // The join's leave-all has run (and found B in no segment yet) before B's entry is written.
      await until(async () => left, "the join's leave-all");
      open();
      await entering;
      await world.engine.settle();
    } finally {
      segments.change = change;
      segments.leaveAll = leaveAll;
    }
    const gold = await members('tag:crm-gold');
    expect(gold.filter((id) => id.startsWith('j'))).toEqual(['ja']);
    expect(((await world.api.get('/v1/segments/tag:crm-gold')).json as unknown as { count: number }).count).toBe(gold.length);
  });
});
