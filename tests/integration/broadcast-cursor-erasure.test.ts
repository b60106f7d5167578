/**
 * A broadcast's page cursor names the last customer a page read. It is kept in the table, never in the
 * execution's state (history cannot be rewritten), and erasing the customer it names rewinds it to the one
 * read before them: nothing names the erased customer, and the broadcast goes on where it was, nobody
 * missed and nobody twice. Both listings: the segment's members, and the recipients quiet hours deferred.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { profileItemsNaming, startTestEngine } from '../helpers/engine';

const START = Date.parse('2026-03-02T10:00:00Z');

interface BroadcastView {
  status: string;
  recipients: number;
  sent: number;
  deferred: number;
  skipped: Record<string, number>;
}

describe('a broadcast cursor naming a customer who is erased', () => {
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
  });

  const setUp = async (options: { quietHours?: { start: string; end: string } } = {}) => {
    const clock = new VirtualClock(START);
    engine = await startTestEngine({ clock, sweepEveryMs: 0, logLevel: 'SILENT', ...(options.quietHours && { sendPolicy: { quietHours: options.quietHours, defaultTimeZone: 'UTC' } }) });
    const api = client(engine);
    const ids = ['cur-1', 'cur-2', 'cur-3', 'cur-4', 'cur-5', 'cur-6'];
    await api.sendAndSettle(ids.map((id) => ({ type: 'identify', userId: id, messageId: `${id}-id`, traits: { email: `${id}@example.org`, tags: ['crm-gold'] } })));
    // Two recipients a page, a page a second.
    const res = await fetch(`${engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'cur-news', segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you', kind: 'marketing' }, rate: 2 }) });
    expect(res.status).toBe(201);
    const view = async () => (await api.get('/v1/broadcasts/cur-news')).json as unknown as BroadcastView;
    const sent = () => engine!.outbox.entries.filter((m) => m.channel === 'email' && m.tags.journey === 'broadcast:cur-news').map((m) => (m as { tags: Record<string, string> }).tags.customer!);
    return { clock, api, ids, view, sent, engine };
  };

  it('in the members listing: the cursor is rewound, the broadcast resumes after them, each other member once', async () => {
    // Prepare: the first page (cur-1, cur-2) sent; the cursor names cur-2.
    const { clock, api, view, sent, engine: e } = await setUp();
    await clock.run(START + 500);
    expect(sent().sort()).toEqual(['cur-1', 'cur-2']);
    expect((await profileItemsNaming(e, ['BK#cur-news#1'])).join()).toContain('C#cur-2');

    // Act
    expect((await api.del('/v1/customers/cur-2')).status).toBe(200);

    // Assess: no item names cur-2 (the cursor names cur-1 now); the rest goes out once each (the outbox forgot cur-2).
    expect(await profileItemsNaming(e, ['cur-2'])).toEqual([]);
    expect((await profileItemsNaming(e, ['BK#cur-news#1'])).join()).toContain('C#cur-1');
    await clock.run();
    expect(await view()).toMatchObject({ status: 'completed', recipients: 6, sent: 6 });
    expect(sent().sort()).toEqual(['cur-1', 'cur-3', 'cur-4', 'cur-5', 'cur-6']);
    expect(await profileItemsNaming(e, ['broadcast-cursor'])).toEqual([]);
  });

  it('in the members listing: erasing the first and the one the cursor names resumes from the beginning, nobody missed', async () => {
    // Prepare
    const { clock, api, view, sent, engine: e } = await setUp();
    await clock.run(START + 500);
    expect(sent().sort()).toEqual(['cur-1', 'cur-2']);

    // Act: cur-1 first, then cur-2: the cursor is rewound to cur-1, then dropped (nobody is listed before).
    expect((await api.del('/v1/customers/cur-1')).status).toBe(200);
    expect((await api.del('/v1/customers/cur-2')).status).toBe(200);

    // Assess
    expect(await profileItemsNaming(e, ['cur-1', 'cur-2'])).toEqual([]);
    await clock.run();
    expect(await view()).toMatchObject({ status: 'completed', recipients: 6, sent: 6 });
    expect(sent().sort()).toEqual(['cur-3', 'cur-4', 'cur-5', 'cur-6']);
    expect(await profileItemsNaming(e, ['BK#cur-news#'])).toEqual([]);
  });

  it('in the deferred listing: the cursor is rewound to the deferred recipient before them', async () => {
    // Prepare: quiet hours 09:00–12:00 UTC defer all six; the deferred pass reads two a page and re-defers them.
    const { clock, api, view, sent, engine: e } = await setUp({ quietHours: { start: '09:00', end: '12:00' } });
    await clock.run(START + 3_500);
    expect(await view()).toMatchObject({ status: 'running', recipients: 6, deferred: 6 });
    await clock.run(START + 4_500);
    const cursors = (await profileItemsNaming(e, ['BK#cur-news#'])).map((text) => (JSON.parse(text) as { PK: { S: string } }).PK.S);
    expect(cursors).toHaveLength(1);
    const named = cursors[0]!.slice(2);
    expect(named).toMatch(/^cur-[2-5]$/);

    // Act
    expect((await api.del(`/v1/customers/${named}`)).status).toBe(200);

    // Assess: nothing names them; at 12:00 the other five are sent once each, and the erased one counts as skipped.
    expect(await profileItemsNaming(e, [named])).toEqual([]);
    await clock.run();
    expect(await view()).toMatchObject({ status: 'completed', recipients: 6, sent: 5, deferred: 0, skipped: { erased: 1 } });
    expect(await profileItemsNaming(e, ['broadcast-cursor'])).toEqual([]);
    expect(sent().sort()).toEqual(['cur-1', 'cur-2', 'cur-3', 'cur-4', 'cur-5', 'cur-6'].filter((id) => id !== named));
  });
});
