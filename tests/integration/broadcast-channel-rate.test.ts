/**
 * Broadcasts share their channel's lane (issue 14): with `broadcastRates: { email: 4 }`, two broadcasts posted
 * together to the same 20 members send their 40 emails at 4 per second in all (never more than a full bucket, 4,
 * plus 4 a second after the first), each member once per broadcast, and both complete; a customer who signs up
 * meanwhile gets the welcome journey's email at once: journeys never take from the broadcasts' bucket.
 * On virtual time: the send times are the engine's own, the same on any machine.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { useTestEngine } from '../helpers/engine';

const START = Date.parse('2026-03-02T10:00:00Z');
const RATE = 4;
const MEMBERS = Array.from({ length: 20 }, (_, i) => `cr-member-${String(i).padStart(2, '0')}`);

describe('broadcasts on a rate-limited channel', () => {
  const clock = new VirtualClock(START);
  const world = useTestEngine({ clock, sweepEveryMs: 0, sendPolicy: { quietHours: undefined }, broadcastRates: { email: RATE }, logLevel: 'SILENT' });

  it('sends two broadcasts at the channel rate in all, while a journey sends at once', async () => {
    await world.api.sendAndSettle(MEMBERS.map((id) => ({ type: 'identify', userId: id, traits: { email: `${id}@example.com`, tags: ['crm-gold'] } })));
    const post = (id: string) =>
      fetch(`${world.engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you' } }) });
    const posted = await Promise.all([post('cr-news-a'), post('cr-news-b')]);
    expect(posted.map((r) => r.status)).toEqual([201, 201]);

    // A sign-up two seconds in, while both broadcasts wait for their lane.
    await clock.run(START + 2_000);
    const signUp = clock.now().getTime();
    await world.api.sendAndSettle([{ type: 'identify', userId: 'cr-new', traits: { email: 'cr-new@example.com' } }, { type: 'track', userId: 'cr-new', event: 'Signed Up', messageId: 'cr-new-signup' }]);
    await clock.run(START + 60_000);

    const outbox = world.engine.outbox.entries;
    const welcome = outbox.find((m) => m.channel === 'email' && m.tags.customer === 'cr-new' && m.tags.step === 'send-welcome');
    expect(welcome?.at).toBe(new Date(signUp).toISOString());

    const sends = outbox.filter((m) => m.channel === 'email' && m.tags.journey?.startsWith('broadcast:cr-news-'));
    for (const id of ['cr-news-a', 'cr-news-b']) {
      expect(sends.filter((m) => m.channel === 'email' && m.tags.journey === `broadcast:${id}`).map((m) => m.channel === 'email' && m.tags.customer).sort()).toEqual(MEMBERS);
      const record = (await world.api.get(`/v1/broadcasts/${id}`)).json as unknown as { status: string; sent: number };
      expect(record).toMatchObject({ status: 'completed', sent: MEMBERS.length });
    }
    // The k-th send (from 0) of both together is never before (k + 1 - a full bucket) / rate seconds after the first.
    const times = sends.map((m) => Date.parse(m.at)).sort((a, b) => a - b);
    expect(times).toHaveLength(2 * MEMBERS.length);
    times.forEach((at, k) => expect(at - times[0]!, `send ${k}`).toBeGreaterThanOrEqual(((k + 1 - RATE) / RATE) * 1000));
    // And the lane is used, not starved: 40 sends at 4/s take 9 to 12 seconds.
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(9_000);
    expect(times.at(-1)! - times[0]!).toBeLessThanOrEqual(12_000);
  }, 60_000);
});
