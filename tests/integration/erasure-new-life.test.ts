/**
 * What a customer gets after erasure (decision 8): a late event (dated before the
 * erasure) and a replay of an old one from the bus are dropped and redacted from
 * the bus log; a genuinely new event (dated and received after the erasure)
 * starts a new, clean profile that old events never reach.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { startTestEngine, useTestEngine } from '../helpers/engine';
import { eventually, runsOf } from '../helpers/journeys';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: undefined } });

const onBus = (messageId: string, on: Engine = t.engine) => on.bus.log.filter((e) => (e.detail as { messageId: string }).messageId === messageId);

describe('after erasure', () => {
  it('drops late and replayed old events, and starts a clean profile for a new one', async () => {
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    await t.api.sendAndSettle([{ type: 'identify', userId: 'nl-1', messageId: 'nl-old', traits: { email: 'nl-old@example.com', phone: '+15550001111' }, timestamp: hourAgo }]);
    const old = onBus('nl-old')[0]!;
    expect((await t.api.del('/v1/customers/nl-1')).status).toBe(200);

    // A late event, dated before the erasure: dropped, and gone from the bus log.
    await t.api.sendAndSettle([{ type: 'identify', userId: 'nl-1', messageId: 'nl-late', traits: { email: 'nl-late@example.com' }, timestamp: hourAgo }]);
    expect((await t.api.get('/v1/customers/nl-1')).status).toBe(404);
    expect(onBus('nl-late')).toEqual([]);
    // A replay of the old event (same detail, as the archive replays it): dropped, and gone again.
    t.engine.bus.putEvents([{ Source: old.source, DetailType: old['detail-type'], Detail: JSON.stringify(old.detail), Time: new Date(old.time) }]);
    await t.engine.settle();
    expect((await t.api.get('/v1/customers/nl-1')).status).toBe(404);
    expect(onBus('nl-old')).toEqual([]);

    // They come back: a new event (dated at receipt, after the erasure) starts a clean profile.
    await t.api.sendAndSettle([{ type: 'identify', userId: 'nl-1', messageId: 'nl-new', traits: { name: 'Back again' } }]);
    const back = await t.api.customer('nl-1');
    expect(back.traits).toEqual({ name: 'Back again' });
    expect(back.stats.eventCount).toBe(1);
    // An old event still does not reach the new profile.
    await t.api.sendAndSettle([{ type: 'identify', userId: 'nl-1', messageId: 'nl-late-2', traits: { email: 'nl-late@example.com' }, timestamp: hourAgo }]);
    expect((await t.api.customer('nl-1')).traits).toEqual({ name: 'Back again' });
    expect(onBus('nl-late-2')).toEqual([]);
    // Redacting the late event forgets only the erased life: the new life's events stay on the bus log.
    expect(onBus('nl-new')).toHaveLength(1);
  });
});

describe('an event received during the erasure', () => {
  it('replayed after the customer came back, stays out of the new life (dated after the erasure began, received before it completed)', async () => {
    const id = 'nl-during';
    await t.api.sendAndSettle([{ type: 'identify', userId: id, traits: { email: 'nl-during-old@example.com' }, timestamp: new Date(Date.now() - 3_600_000).toISOString() }]);
    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
    const tomb = (await t.engine.profiles.tombstone(id, new Date()))!;
    await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { name: 'Back again' } });
    // As ingest put it on the bus (and in the archive) while the erasure ran: dated 1 ms after it began,
    // received between its start and completion (at its start when the two are the same millisecond).
    await t.api.sendAndSettle({ type: 'identify', userId: 'nl-during-template', messageId: 'nl-during-1', traits: { email: 'nl-during@example.com' } });
    const template = onBus('nl-during-1')[0]!;
    const receivedAt = new Date(Math.floor((Date.parse(tomb.erasedAt) + Date.parse(tomb.completedAt!)) / 2)).toISOString();
    const detail = { ...(template.detail as object), userId: id, timestamp: new Date(Date.parse(tomb.erasedAt) + 1).toISOString(), receivedAt };
    expect(receivedAt <= tomb.completedAt!).toBe(true);
    t.engine.bus.putEvents([{ Source: template.source, DetailType: template['detail-type'], Detail: JSON.stringify(detail), Time: new Date(detail.timestamp) }]);
    await t.engine.settle();
    const back = await t.api.customer(id);
    expect(back.traits).toEqual({ name: 'Back again' });
    expect(back.stats.eventCount).toBe(1);
  });
});

describe('the outbox after erasure', () => {
  const welcomes = (id: string) => t.engine.outbox.entries.filter((m) => m.channel === 'email' && m.tags.customer === id && m.tags.journey === 'welcome');

  it('forgets the erased life’s messages but keeps those of a customer who came back, when a late event is dropped', async () => {
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    await t.api.sendAndSettle([
      { type: 'identify', userId: 'nl-2', messageId: 'nl2-old', traits: { email: 'nl2-old@example.com' } },
      { type: 'track', event: 'Signed Up', userId: 'nl-2', messageId: 'nl2-signup-old' },
    ]);
    await eventually(() => welcomes('nl-2').length === 1, 'the first welcome');
    expect((await t.api.del('/v1/customers/nl-2')).status).toBe(200);
    expect(welcomes('nl-2')).toEqual([]);

    // They come back, sign up again and are welcomed again: a message of their new life.
    await t.api.sendAndSettle([
      { type: 'identify', userId: 'nl-2', messageId: 'nl2-new', traits: { email: 'nl2-new@example.com' } },
      { type: 'track', event: 'Signed Up', userId: 'nl-2', messageId: 'nl2-signup-new' },
    ]);
    const welcome = await eventually(() => welcomes('nl-2')[0], 'the welcome of their new life');
    expect(welcome).toMatchObject({ to: 'nl2-new@example.com' });

    // A late event of the erased life is dropped and redacted; the new life's message stays.
    await t.api.sendAndSettle([{ type: 'identify', userId: 'nl-2', messageId: 'nl2-late', traits: { email: 'nl2-old@example.com' }, timestamp: hourAgo }]);
    expect(onBus('nl2-late')).toEqual([]);
    expect(welcomes('nl-2')).toEqual([welcome]);
    expect(JSON.stringify(t.engine.outbox.entries)).not.toContain('nl2-old@example.com');
  });
});

describe('journeys after erasure (virtual time)', () => {
  const clock = new VirtualClock('2026-03-02T10:00:00Z');
  let engine: Engine;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    engine = await startTestEngine({ clock, sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: undefined } });
    api = client(engine);
  });
  afterAll(() => engine.stop());
  const at = (offsetMs: number) => new Date(clock.now().getTime() + offsetMs).toISOString();
  const counters = async (journeyId: string) => ((await api.get(`/v1/journeys/${journeyId}/stats`)).json as unknown as { counters: Record<string, number> }).counters;

  it('a late trigger of the erased life starts no journey on the customer who came back', async () => {
    const id = 'nl-trig';
    await api.sendAndSettle([{ type: 'identify', userId: id, traits: { email: 'nl-trig-old@example.com' }, timestamp: at(-3_600_000) }]);
    const oldSignedUp = at(-1_800_000);
    expect((await api.del(`/v1/customers/${id}`)).status).toBe(200);
    clock.advance(clock.now().getTime() + 60_000);
    // They come back (a new life) with a new address ...
    await api.sendAndSettle({ type: 'identify', userId: id, traits: { email: 'nl-trig-new@example.com' } });
    // ... and a late Signed Up of the erased life arrives (dated before the erasure).
    await api.sendAndSettle({ type: 'track', userId: id, event: 'Signed Up', messageId: 'nl-trig-old-signup', timestamp: oldSignedUp });
    await clock.idle();

    expect((await api.customer(id)).stats.eventCount).toBe(1); // the consumer dropped it
    expect(await runsOf(engine, id)).toEqual([]); // and the starter started nothing
    expect(engine.outbox.entries.filter((m) => 'to' in m && m.to === 'nl-trig-new@example.com')).toEqual([]);
    expect((await counters('welcome'))['skipped.erased']).toBe(1);

    // A Signed Up of the new life still welcomes them.
    await api.sendAndSettle({ type: 'track', userId: id, event: 'Signed Up', messageId: 'nl-trig-new-signup' });
    await eventually(() => engine.outbox.entries.some((m) => 'to' in m && m.to === 'nl-trig-new@example.com'), 'the welcome of the new life');
  });

  it('the tombstone outlives the archive copy of a late event: dropped 20 days after the erasure, its replay at day 48 is dropped too', async () => {
    const DAY = 86_400_000;
    const to = async (at: number) => {
      while (clock.advance(at)) await clock.idle();
    };
    const id = 'nl-late-tomb';
    const dated = at(-3_600_000);
    await api.sendAndSettle({ type: 'identify', userId: id, traits: { email: 'nl-late-tomb@example.com' }, timestamp: dated });
    expect((await api.del(`/v1/customers/${id}`)).status).toBe(200);
    const erasedAt = clock.now().getTime();
    await to(erasedAt + 20 * DAY);
    // The late event as ingest put it on the bus (and in the archive, kept 30 days from receipt) at day 20:
    // the detail of an event ingest received now, for this customer, dated before the erasure.
    await api.sendAndSettle({ type: 'identify', userId: 'nl-late-template', messageId: 'nl-late-tomb-1', traits: { email: 'x@example.com' } });
    const template = onBus('nl-late-tomb-1', engine)[0]!;
    const late = { ...(template.detail as object), userId: id, traits: { email: 'nl-late-tomb@example.com' }, timestamp: dated };
    const put = () => engine.bus.putEvents([{ Source: template.source, DetailType: template['detail-type'], Detail: JSON.stringify(late), Time: clock.now() }]);
    put();
    await engine.settle();
    expect((await api.get(`/v1/customers/${id}`)).status).toBe(404);
    // Day 48: past the tombstone's first expiry (47 days from the erasure), the archive still holds the late event.
    await to(erasedAt + 48 * DAY);
    expect(await engine.profiles.tombstone(id, clock.now())).toBeDefined();
    put();
    await engine.settle();
    expect((await api.get(`/v1/customers/${id}`)).status).toBe(404);
  });
});
