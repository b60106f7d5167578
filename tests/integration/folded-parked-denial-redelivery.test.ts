/**
 * A parked denial folded into a new life is applied once, also when the bus delivers its event again. X is erased;
 * X's app sends a back-dated `Unsubscribed` (messageId m) received after the erasure completed: X has no new life, so
 * it is parked beside X's tombstone under a hashed messageId (`parkedMessageId`). X's new life then begins as an alias
 * joining X into known customer Y (`claimKnown` folds the parked denial into Y), or as X's own identify (the fold of
 * `applyGroup`). EventBridge delivers at least once: m comes again (a redelivery, an archive replay). The profile
 * remembers the fold under the parked form's mark, and the consumer's applied check (`appliedUnder`) reads that form
 * too (`parkedKey`): the redelivery is a duplicate, Y's event count and timeline stay as they were (the duplicate path
 * writes no second timeline item: the parked one is there). Control: without the erasure (X live, unsubscribed,
 * identifies again) the redelivery is a duplicate. The event is taken from the bus log right after ingest: the
 * embedded bus log redacts it once it is parked, but EventBridge's retries and archive keep it.
 */
import { describe, expect, it } from 'vitest';
import type { BusEntry } from '../../shared';
import { useTestEngine } from '../helpers/engine';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: undefined } });

interface Counts {
  eventCount: number;
  unsubscribes: number;
  consent: string;
}

async function counts(id: string): Promise<Counts> {
  const customer = await t.api.customer(id);
  const events = (await t.api.get(`/v1/customers/${id}/events`)).json as unknown as { events: Array<{ event?: string }> };
  return { eventCount: customer.stats.eventCount, unsubscribes: events.events.filter((e) => e.event === 'Unsubscribed').length, consent: customer.consent.email.status };
}

/** Returns Y's counts before and after the denial's redelivery. */
async function scenario(x: string, y: string, erase: boolean, comeback: 'alias' | 'identify'): Promise<{ before: Counts; after: Counts }> {
  await t.api.sendAndSettle([{ type: 'identify', userId: x, traits: { email: `${x}@example.org` } }]);
  const erasureBegan = Date.now();
  if (erase) expect((await t.api.del(`/v1/customers/${x}`)).status).toBe(200);
  if (comeback === 'alias') await t.api.sendAndSettle([{ type: 'identify', userId: y, traits: { email: `${y}@example.org`, consent: { email: true } } }]);
  // Received after the erasure completed, dated before it: parked (no new life yet).
  // The bus entry as EventBridge keeps it (its archive; the embedded bus log redacts it once it is parked).
  await t.api.send([{ type: 'track', userId: x, messageId: `${x}-unsub`, event: 'Unsubscribed', properties: { channel: 'email' }, timestamp: new Date(erasureBegan - 1_000).toISOString() }]);
  const original = t.engine.bus.log.find((e) => e.source === 'rapport.ingest' && (e.detail as { messageId?: string }).messageId === `${x}-unsub`);
  expect(original).toBeDefined();
  const entry = { Source: original!.source, DetailType: original!['detail-type'], Detail: JSON.stringify(original!.detail), Time: new Date(original!.time) } satisfies BusEntry;
  await t.engine.settle();
  if (comeback === 'alias') await t.api.sendAndSettle([{ type: 'alias', userId: y, previousId: x }]);
  else await t.api.sendAndSettle([{ type: 'identify', userId: x, traits: { email: `${x}@example.org` } }]);
  const before = await counts(y);
  // EventBridge delivers at least once: the same event again (or an archive replay).
  t.engine.bus.putEvents([entry]);
  await t.engine.settle();
  const after = await counts(y);
  return { before, after };
}

describe('a denial folded from the parked ones, then redelivered by the bus', () => {
  it('control: no erasure, the redelivered denial is a duplicate', async () => {
    const { before, after } = await scenario('a9-redeliver-ctl-x', 'a9-redeliver-ctl-x', false, 'identify');
    expect(before.consent).toBe('denied');
    expect(before.unsubscribes).toBe(1);
    expect(after).toEqual(before);
  }, 30_000);

  it('after erasure and an alias join: the redelivered denial is a duplicate', async () => {
    const { before, after } = await scenario('a9-redeliver-alias-x', 'a9-redeliver-alias-y', true, 'alias');
    expect(before.consent).toBe('denied');
    expect(before.unsubscribes).toBe(1);
    expect(after).toEqual(before);
  }, 30_000);

  it('after erasure and a comeback identify: the redelivered denial is a duplicate', async () => {
    const { before, after } = await scenario('a9-redeliver-own-x', 'a9-redeliver-own-x', true, 'identify');
    expect(before.consent).toBe('denied');
    expect(before.unsubscribes).toBe(1);
    expect(after).toEqual(before);
  }, 30_000);
});
