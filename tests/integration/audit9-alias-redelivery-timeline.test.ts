/**
 * A redelivery after an alias join duplicates the event in the survivor's timeline (audit 9). X unsubscribes (event
 * m, applied to X, its timeline item under X's partition); an alias joins X into Y. EventBridge delivers m again
 * (at least once; or an archive replay): the profile consumer resolves X to Y, sees m applied (Y holds X's applied
 * marks) and answers `duplicate`, but it writes m's timeline item again (`written.push` of the duplicate, to finish
 * what a crashed attempt left), under Y's partition this time. `GET /v1/customers/Y/events` reads both partitions
 * and lists the one unsubscribe twice (the export too). Found while checking parked denials (audit9-folded-denial-
 * redelivered.test.ts): it needs no erasure. Control: without the alias, the redelivery leaves one item.
 */
import { describe, expect, it } from 'vitest';
import type { BusEntry } from '../../shared';
import { useTestEngine } from '../helpers/engine';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: undefined } });

async function scenario(x: string, y: string, alias: boolean): Promise<{ unsubscribes: number }> {
  await t.api.sendAndSettle([{ type: 'identify', userId: x, traits: { email: `${x}@example.org` } }]);
  await t.api.sendAndSettle([{ type: 'track', userId: x, messageId: `${x}-unsub`, event: 'Unsubscribed', properties: { channel: 'email' } }]);
  const original = t.engine.bus.log.find((e) => e.source === 'rapport.ingest' && (e.detail as { messageId?: string }).messageId === `${x}-unsub`)!;
  if (alias) {
    await t.api.sendAndSettle([{ type: 'identify', userId: y, traits: { email: `${y}@example.org` } }]);
    await t.api.sendAndSettle([{ type: 'alias', userId: y, previousId: x }]);
  }
  t.engine.bus.putEvents([{ Source: original.source, DetailType: original['detail-type'], Detail: JSON.stringify(original.detail), Time: new Date(original.time) } satisfies BusEntry]);
  await t.engine.settle();
  const id = alias ? y : x;
  const events = (await t.api.get(`/v1/customers/${id}/events`)).json as unknown as { events: Array<{ event?: string }> };
  return { unsubscribes: events.events.filter((e) => e.event === 'Unsubscribed').length };
}

describe('a redelivered event after an alias joined its customer', () => {
  it('control: no alias, the timeline lists it once', async () => {
    expect((await scenario('a9-tl-ctl-x', 'a9-tl-ctl-y', false)).unsubscribes).toBe(1);
  }, 30_000);

  // BREAK (audit 9): a duplicate's timeline item is rewritten under the survivor's partition while the original stays under the joined id's, so the timeline (and export) list the event twice; fix idea: write a duplicate's timeline item only when none exists under any id it may have been applied to (store.hasTimelineEvent(timelineIdsOf(...))), or under the partition the original went to
  it.fails('after the alias: the timeline lists it once', async () => {
    expect((await scenario('a9-tl-x', 'a9-tl-y', true)).unsubscribes).toBe(1);
  }, 30_000);
});
