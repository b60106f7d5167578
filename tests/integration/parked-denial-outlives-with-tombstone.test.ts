/**
 * Fixed (extending a tombstone extends the denials parked beside it). The break, from audit 8:
 * Audit 8 (issue 10, parked denials vs the tombstone's life): README says parked denials "live as long as the
 * tombstone". A parked denial is timed from its own receipt (`parkDenial`: receipt + lifetime), while the tombstone
 * is lengthened by every later event of the erased life that is dropped (`extendTombstone`). X is erased (day 0); X's
 * `Unsubscribed` (dated before the erasure) is received on day 1 and parked; a late event of the erased life is
 * dropped on day 20, and the tombstone now lives until day 20 + lifetime. On day lifetime + 3 the tombstone lives, the
 * parked denial does not: X's comeback identify, its grant dated 12 hours after the erasure (before the denial's
 * receipt: delivered late from the app's queue), starts a new life that is `granted`. While the tombstone lives, the
 * same comeback a day earlier ends `denied`.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { useTestEngine } from '../helpers/engine';

const DAY = 86_400_000;
const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
const later = async (ms: number) => {
  const at = clock.now().getTime() + ms;
  while (clock.advance(at)) await clock.idle();
  await clock.idle();
};

async function scenario(id: string, comebackDay: (lifetimeDays: number) => number): Promise<string> {
  await t.api.send([{ type: 'identify', userId: id, traits: { email: `${id}@example.org` } }]);
  await clock.idle();
  await later(60_000);
  const erasedAt = clock.now().getTime();
  expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
  await clock.idle();
  const lifetimeDays = (await t.engine.profiles.tombstone(id, clock.now()))!.lifetimeDays!;

  await later(DAY);
  await t.api.send([{ type: 'track', userId: id, messageId: `${id}-unsub`, event: 'Unsubscribed', properties: { channel: 'email' }, timestamp: new Date(erasedAt - 1_000).toISOString() }]);
  await clock.idle();
  await later(19 * DAY);
  await t.api.send([{ type: 'track', userId: id, messageId: `${id}-late`, event: 'Viewed Page', properties: {}, timestamp: new Date(erasedAt - 2_000).toISOString() }]);
  await clock.idle();

  await later(erasedAt + comebackDay(lifetimeDays) * DAY - clock.now().getTime());
  expect(await t.engine.profiles.tombstone(id, clock.now()), 'the tombstone still lives').toBeDefined();
  await t.api.send([{ type: 'identify', userId: id, messageId: `${id}-comeback`, traits: { email: `${id}@example.org`, consent: { email: true } }, timestamp: new Date(erasedAt + DAY / 2).toISOString() }]);
  await clock.idle();
  await t.engine.settle();
  return (await t.api.customer(id)).consent.email.status;
}

describe('a parked denial while the tombstone lives', () => {
  it('control: the comeback before the denial\'s own lifetime ends is denied', async () => {
    expect(await scenario('a8-outlived-ctl', (days) => days - 1)).toBe('denied');
  }, 60_000);

  it('the comeback after it, while the tombstone lives, is denied too', async () => {
    expect(await scenario('a8-outlived-break', (days) => days + 3)).toBe('denied');
  }, 60_000);
});
