/**
 * A topic left after an erasure is parked like a channel denial (issue 10 with issue 15's topics): X is erased; an
 * `Unsubscribed { channel: email, topic: offers }` of X received after the erasure completed, dated before it, finds
 * no new life and is parked beside X's tombstone (`denialsOnly` keeps a topic denial with its topic). X comes back:
 * the new life starts with `offers` left on email, and a marketing send on that topic is refused there. Control
 * (no erasure): the same event leaves the topic on the live profile.
 */
import { describe, expect, it } from 'vitest';
import { useTestEngine } from '../helpers/engine';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: undefined } });
type WithTopics = { topicConsent?: Record<string, Record<string, { status: string }>> };

async function scenario(id: string, erase: boolean): Promise<string | undefined> {
  await t.api.sendAndSettle([{ type: 'identify', userId: id, traits: { email: `${id}@example.org` } }]);
  const erasureBegan = Date.now();
  if (erase) expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
  // Received after the erasure completed, dated before it: parked (no new life yet).
  await t.api.sendAndSettle([{ type: 'track', userId: id, event: 'Unsubscribed', properties: { channel: 'email', topic: 'offers' }, timestamp: new Date(erasureBegan - 1_000).toISOString() }]);
  // The comeback (after the erasure: a new life).
  await t.api.sendAndSettle([{ type: 'identify', userId: id, traits: { email: `${id}@example.org`, consent: { email: true } } }]);
  const profile = (await t.api.customer(id)) as unknown as WithTopics;
  return profile.topicConsent?.email?.offers?.status;
}

describe('a topic left after an erasure, then the customer comes back', () => {
  it('control: no erasure, the topic is left on the profile', async () => {
    expect(await scenario('ptd-ctl', false)).toBe('denied');
  }, 30_000);

  it('after erasure: the parked topic denial is folded into the new life', async () => {
    expect(await scenario('ptd-erased', true)).toBe('denied');
  }, 30_000);
});
