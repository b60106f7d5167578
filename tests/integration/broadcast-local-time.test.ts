/**
 * A broadcast `at` a wall-clock time without a zone, on the embedded engine and virtual time: each recipient
 * gets it at that time in their own time zone (the `timezone` trait, else the policy's default), deferred until
 * then and counted as deferred meanwhile; a time already past in the earliest zone is refused, naming `at`.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { useTestEngine } from '../helpers/engine';

const START = Date.parse('2026-03-02T00:00:00Z');

interface Answer {
  status: string;
  sent: number;
  deferred: number;
  recipients: number;
  problems?: Array<{ path: string; message: string }>;
}

describe('broadcast at a local time', () => {
  const clock = new VirtualClock(START);
  const world = useTestEngine({ clock, sweepEveryMs: 0, sendPolicy: { quietHours: undefined }, logLevel: 'SILENT' });

  const post = async (body: unknown) => {
    const res = await fetch(`${world.engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as Answer };
  };
  const get = async (id: string) => (await world.api.get(`/v1/broadcasts/${id}`)).json as unknown as Answer;
  /** When each customer got the broadcast (UTC, to the minute). */
  const sentAt = (id: string) =>
    Object.fromEntries(world.engine.outbox.entries.flatMap((m) => ('tags' in m && m.tags.journey === `broadcast:${id}` ? [[m.tags.customer, m.at.slice(0, 16)]] : [])));

  it('sends at 09:00 in each customer\'s own time zone, deferring the others until theirs', async () => {
    // Prepare: Tokyo (UTC+9), London (UTC+0 in early March), New York (UTC-5 before 8 March), and no zone (the default, UTC).
    const member = (userId: string, timezone?: string) => ({ type: 'identify', userId, traits: { email: `${userId}@example.com`, tags: ['crm-gold'], ...(timezone && { timezone }) } });
    await world.api.sendAndSettle([member('lt-tokyo', 'Asia/Tokyo'), member('lt-london', 'Europe/London'), member('lt-ny', 'America/New_York'), member('lt-none'), member('lt-bad', 'Mars/Olympus')]);

    // Act
    const created = await post({ id: 'lt-morning', segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you' }, at: '2026-03-03T09:00' });
    await clock.run(Date.parse('2026-03-03T00:30:00Z'));
    const early = { view: await get('lt-morning'), sent: sentAt('lt-morning') };
    await clock.run(Date.parse('2026-03-03T15:00:00Z'));

    // Assess
    expect(created.status).toBe(201);
    expect(early.sent).toEqual({ 'lt-tokyo': '2026-03-03T00:00' });
    expect(early.view).toMatchObject({ status: 'running', recipients: 5, sent: 1, deferred: 4 });
    expect(sentAt('lt-morning')).toEqual({
      'lt-tokyo': '2026-03-03T00:00',
      'lt-london': '2026-03-03T09:00',
      'lt-none': '2026-03-03T09:00',
      'lt-bad': '2026-03-03T09:00',
      'lt-ny': '2026-03-03T14:00',
    });
    expect(await get('lt-morning')).toMatchObject({ status: 'completed', recipients: 5, sent: 5, deferred: 0 });
  });

  it('refuses a local time already past in the earliest time zone, and takes one with a zone as one instant', async () => {
    // Act: it is 15:00 UTC on 3 March, so 09:00 on 4 March has not come anywhere yet, but 4 March 00:30 has in Kiritimati (UTC+14).
    const past = await post({ id: 'lt-late', segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you' }, at: '2026-03-04T00:30' });
    const ahead = await post({ id: 'lt-ahead', segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you' }, at: '2026-03-04T09:00' });
    const notATime = await post({ id: 'lt-bad', segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you' }, at: '09:00' });

    // Assess
    expect(past.status).toBe(400);
    expect(past.json.problems).toEqual([{ path: '$.at', message: expect.stringContaining('the earliest (UTC+14) reached 2026-03-04T00:30 at 2026-03-03T10:30:00.000Z') as string }]);
    expect(ahead.status).toBe(201);
    expect(notATime.status).toBe(400);
    expect(notATime.json.problems?.map((p) => p.path)).toEqual(['$.at']);
  });
});
