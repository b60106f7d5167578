/**
 * A topic denial received after the erasure completed is parked like a channel denial (audit 11): X is erased; X's
 * preference centre (or an ESP's delayed webhook) then reports `Unsubscribed {channel: email, topic: offers}`, dated
 * before the erasure, received after it. `denialsOnly` keeps a topic denial with its topic: parked beside the
 * tombstone, folded into X's comeback, which shows "offers" left on email. Control: a channel `Unsubscribed
 * {channel: email}` so received is parked and denies the comeback too. On virtual time.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { useTestEngine } from '../helpers/engine';

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
const later = async (ms: number) => {
  const at = clock.now().getTime() + ms;
  while (clock.advance(at)) await clock.idle();
};
type WithTopics = { consent: Record<string, { status: string } | undefined>; topicConsent?: Record<string, Record<string, { status: string } | undefined> | undefined> };

async function scenario(id: string, properties: Record<string, unknown>): Promise<WithTopics> {
  const email = `${id}@example.com`;
  await t.api.send({ type: 'identify', userId: id, traits: { email } });
  await clock.idle();
  await t.engine.settle();
  await later(60_000);
  const erasureBegan = clock.now().getTime();
  expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
  await later(1_000);
  // Received after DELETE answered, dated a second before the erasure began (a delayed report of a choice made then).
  await t.api.send({ type: 'track', userId: id, messageId: `${id}-unsub`, event: 'Unsubscribed', properties, timestamp: new Date(erasureBegan - 1_000).toISOString() });
  await clock.idle();
  await t.engine.settle();
  await later(60_000);
  // X comes back: a new life, same id and address.
  await t.api.send({ type: 'identify', userId: id, traits: { email } });
  await clock.idle();
  await t.engine.settle();
  return (await t.api.customer(id)) as unknown as WithTopics;
}

describe('a topic denial received after the erasure (audit 11)', () => {
  it('control: a channel denial so received is parked and denies the comeback', async () => {
    const profile = await scenario('a11-tpark-ctl', { channel: 'email' });
    expect(profile.consent.email).toMatchObject({ status: 'denied' });
  }, 30_000);

  it('a topic denial so received is parked and denies the topic on the comeback', async () => {
    const profile = await scenario('a11-tpark', { channel: 'email', topic: 'offers' });
    expect(profile.topicConsent?.email?.offers).toMatchObject({ status: 'denied' });
  }, 30_000);
});
