/**
 * A redelivery after an alias join leaves the event once on the survivor's timeline. X unsubscribes (event m, applied
 * to X, its timeline item under X's partition); an alias joins X into Y. EventBridge delivers m again (at least once;
 * or an archive replay): the profile consumer resolves X to Y, sees m applied (Y holds X's applied marks) and answers
 * `duplicate`. The duplicate path rewrites m's timeline item (to finish what a crashed attempt left) only when no item
 * of it is under another id it may have been applied to (`timelineIdsOf`): here it is under X's partition, so nothing
 * is written under Y's, and `GET /v1/customers/Y/events` (which reads both partitions) lists the unsubscribe once (the
 * export too). Control: without the alias, the redelivery leaves one item.
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

  it('after the alias: the timeline lists it once', async () => {
    expect((await scenario('a9-tl-x', 'a9-tl-y', true)).unsubscribes).toBe(1);
  }, 30_000);
});
