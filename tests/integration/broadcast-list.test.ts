/**
 * `GET /v1/broadcasts` on the embedded engine: every broadcast, newest first, a page at a time from the
 * index (the cursor leads to the next page, and only a cursor the listing returned is taken); bad
 * paging gets a 400 naming the parameter.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { useTestEngine } from '../helpers/engine';

const MINUTE = 60_000;
const START = Date.parse('2026-03-02T10:00:00Z');

interface ListAnswer {
  broadcasts?: Array<{ id: string; status: string; createdAt: string; sent: number }>;
  next?: string;
  error?: string;
  message?: string;
}

describe('broadcast list', () => {
  const clock = new VirtualClock(START);
  const world = useTestEngine({ clock, sweepEveryMs: 0, sendPolicy: { quietHours: undefined }, logLevel: 'SILENT' });

  const post = (id: string) =>
    fetch(`${world.engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you' } }) });
  const list = async (query = '') => {
    const res = await fetch(`${world.engine.url}/v1/broadcasts${query}`);
    return { status: res.status, json: (await res.json()) as ListAnswer };
  };

  it('lists every broadcast newest first, a page at a time, with their status and counters', async () => {
    // Prepare: one member, three broadcasts a minute apart (ids not in time order).
    await world.api.sendAndSettle({ type: 'identify', userId: 'bl-1', traits: { email: 'bl-1@example.com', tags: ['crm-gold'] } });
    for (const [i, id] of ['bl-zeta', 'bl-alpha', 'bl-mid'].entries()) {
      expect((await post(id)).status).toBe(201);
      await clock.run(START + (i + 1) * MINUTE);
    }

    // Act
    const first = await list('?limit=2');
    const second = await list(`?limit=2&cursor=${encodeURIComponent(first.json.next ?? '')}`);
    const all = await list();

    // Assess
    expect(first.status).toBe(200);
    expect(first.json.broadcasts?.map((b) => b.id)).toEqual(['bl-mid', 'bl-alpha']);
    expect(first.json.next).toEqual(expect.any(String));
    expect(second.json.broadcasts?.map((b) => b.id)).toEqual(['bl-zeta']);
    expect(second.json.next).toBeUndefined();
    expect(all.json.broadcasts?.map((b) => [b.id, b.status, b.sent])).toEqual([
      ['bl-mid', 'completed', 1],
      ['bl-alpha', 'completed', 1],
      ['bl-zeta', 'completed', 1],
    ]);
    expect(all.json.next).toBeUndefined();
  });

  it('refuses a cursor the listing did not return and a limit out of range, naming them', async () => {
    // Act
    const forged = await list(`?cursor=${Buffer.from(JSON.stringify({ PK: 'C#bl-1', SK: 'P', GSI1PK: 'BCAST', GSI1SK: 'x#bl-1' })).toString('base64url')}`);
    const garbage = await list('?cursor=not-a-cursor');
    const zero = await list('?limit=0');
    const huge = await list('?limit=101');
    const put = await fetch(`${world.engine.url}/v1/broadcasts`, { method: 'PUT' });

    // Assess
    expect([forged.status, forged.json.error]).toEqual([400, 'invalid_cursor']);
    expect([garbage.status, garbage.json.error]).toEqual([400, 'invalid_cursor']);
    expect([zero.status, zero.json.error]).toEqual([400, 'invalid_limit']);
    expect(huge.json.message).toBe('limit must be a whole number from 1 to 100');
    expect(put.status).toBe(405);
  });
});
