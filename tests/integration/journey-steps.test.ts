import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { PROFILE_LIMITS } from '../../functions/profile/limits';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { messagesOf, outboxFor, runsOf } from '../helpers/journeys';

/**
 * Split (with a holdout), update and wait_until steps run for real on the
 * embedded engine, driven by signed events and read back through the HTTP API,
 * on virtual time: each test runs the clock to the moment it checks.
 * Each test gets its own journeys folder holding just the journey it runs.
 */
const DAY = 86_400_000;
const folders: string[] = [];
afterAll(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

function journeysDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-journey-steps-'));
  folders.push(dir);
  for (const [id, text] of Object.entries(files)) writeFileSync(join(dir, `${id}.yaml`), text);
  return dir;
}

const identify = (userId: string, traits: Record<string, unknown> = {}) => ({ type: 'identify', userId, messageId: `${userId}-identify`, traits: { email: `${userId}@example.com`, name: userId, ...traits } });
const track = (userId: string, event: string, properties: Record<string, unknown> = {}, messageId = `${userId}-${event.replace(/ /g, '-')}`) => ({ type: 'track', userId, event, messageId, properties });
const counters = async (api: ReturnType<typeof client>, journeyId: string) => ((await api.get(`/v1/journeys/${journeyId}/stats`)).json as unknown as { counters: Record<string, number> }).counters;

describe('split with a holdout (40 customers, 40% / 40% / 20% holdout)', () => {
  const SPLIT = `id: ab-test
name: A/B test with a holdout
version: 1
trigger: { event: Signed Up }
goals:
  - event: Order Completed
steps:
  - id: ab
    split:
      - { percent: 40, next: offer-a }
      - { percent: 40, next: offer-b }
      - { percent: 20, holdout: true }
  - id: offer-a
    send: { channel: email, template: welcome }
    next: linger
  - id: offer-b
    send: { channel: email, template: getting-started }
  - id: linger
    wait: 2d
`;
  const customers = Array.from({ length: 40 }, (_, i) => `ab-${String(i).padStart(2, '0')}`);
  let engine: Engine;
  let api: ReturnType<typeof client>;
  let clock: VirtualClock;
  /** Customers by the group they landed in. */
  const groups = { a: [] as string[], b: [] as string[], holdout: [] as string[] };

  beforeAll(async () => {
    clock = new VirtualClock('2026-03-02T10:00:00Z');
    engine = await startTestEngine({ clock, journeysDir: journeysDir({ 'ab-test': SPLIT }), sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
    api = client(engine);
  });
  afterAll(() => engine.stop());

  it('puts every customer in one group: both arms get their message, the holdout gets none and is counted as holdout', async () => {
    // Fixed messageIds: the draw (a hash of the execution name) is the same on every run of the test.
    await api.send(customers.flatMap((id) => [identify(id), track(id, 'Signed Up')]));
    // Everything the sign-ups cause at this instant is done once the engine is idle (the arms then wait 2 days).
    await clock.idle();
    for (const id of customers) {
      const steps = outboxFor(engine, id).map((m) => m.step);
      const held = (await runsOf(engine, id)).some((r) => r.journeyId === 'ab-test' && r.status === 'holdout');
      const group = steps.includes('offer-a') ? 'a' : steps.includes('offer-b') ? 'b' : held ? 'holdout' : undefined;
      expect(group, `${id} in a group`).toBeDefined();
      groups[group!].push(id);
    }
    expect(groups.a.length).toBeGreaterThan(0);
    expect(groups.b.length).toBeGreaterThan(0);
    expect(groups.holdout.length).toBeGreaterThan(0);
    expect(groups.a.length + groups.b.length + groups.holdout.length).toBe(40);

    for (const id of groups.holdout) {
      expect(outboxFor(engine, id)).toEqual([]);
      expect(await messagesOf(engine, id)).toEqual([]);
      const [run] = await runsOf(engine, id);
      expect(run).toMatchObject({ journeyId: 'ab-test', status: 'holdout' });
      const execution = engine.journeys.sfn.executions.get(run!.executionName);
      expect(execution?.status).toBe('SUCCEEDED');
      expect(execution?.states.at(-1)).toBe('Holdout');
    }
    // The arms' runs are still in their wait: each got exactly its own message.
    for (const id of groups.a) expect(outboxFor(engine, id).map((m) => m.step)).toEqual(['offer-a']);
    for (const id of groups.b) expect(outboxFor(engine, id).map((m) => m.step)).toEqual(['offer-b']);

    const c = await counters(api, 'ab-test');
    expect(c).toMatchObject({ entered: 40, holdout: groups.holdout.length, 'offer-a.sent': groups.a.length, 'offer-b.sent': groups.b.length });
    expect(c.goal).toBeUndefined();
  });

  it('counts a goal reached while held as a conversion of the holdout, and one after the holding time not at all', async () => {
    // With these messageIds the draw puts several customers in the holdout (it is deterministic).
    expect(groups.holdout.length).toBeGreaterThanOrEqual(2);
    const [held, late] = groups.holdout as [string, string];
    const treated = groups.a[0]!;
    await api.send([track(held, 'Order Completed', { orderId: `${held}-1`, revenue: 20, currency: 'EUR' }), track(treated, 'Order Completed', { orderId: `${treated}-1`, revenue: 20, currency: 'EUR' })]);
    await clock.idle();
    const c = await counters(api, 'ab-test');
    expect(c).toMatchObject({ goal: 2, 'holdout.goal': 1, holdout: groups.holdout.length });
    // The held run keeps its outcome (holdout) and records the conversion; the treated run ends converted.
    expect((await runsOf(engine, held))[0]).toMatchObject({ status: 'holdout', convertedBy: `${held}-Order-Completed` });
    expect((await runsOf(engine, treated))[0]).toMatchObject({ status: 'converted' });
    // A redelivered goal event does not count twice.
    await api.send(track(held, 'Order Completed', { orderId: `${held}-1`, revenue: 20, currency: 'EUR' }, `${held}-Order-Completed-again`));
    await clock.idle();
    expect(await counters(api, 'ab-test')).toMatchObject({ goal: 2, 'holdout.goal': 1 });

    // Held for as long as the arms can run (their 2-day wait): after that, a goal is no longer the journey's.
    const { heldUntil } = (await runsOf(engine, late))[0] as unknown as { heldUntil: string };
    expect(new Date(heldUntil).getTime() - clock.now().getTime()).toBe(2 * DAY);
    await clock.run(new Date(heldUntil).getTime() + 1);
    await api.send(track(late, 'Order Completed', { orderId: `${late}-1`, revenue: 20, currency: 'EUR' }));
    await clock.idle();
    expect(await counters(api, 'ab-test')).toMatchObject({ goal: 2, 'holdout.goal': 1 });
    expect((await runsOf(engine, late))[0]).not.toHaveProperty('convertedBy');
  });
});

describe('update step', () => {
  const UPDATE = `id: choose-plan
name: Record the chosen plan
version: 1
trigger: { event: Plan Chosen }
steps:
  - id: set-plan
    update: { trait: plan, value: "{{ trigger.plan }}" }
  - id: set-onboarded
    update: { trait: onboarded, value: true }
  - id: clear-trial
    update: { trait: trial, value: null }
`;

  it('sets and removes profile traits, visible on GET /v1/customers/{id}', async () => {
    const clock = new VirtualClock('2026-03-02T10:00:00Z');
    const engine = await startTestEngine({ clock, journeysDir: journeysDir({ 'choose-plan': UPDATE }), sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
    try {
      const api = client(engine);
      await api.send(identify('upd-1', { trial: true, plan: 'free' }));
      await clock.idle();
      expect((await api.customer('upd-1')).traits).toMatchObject({ plan: 'free', trial: true });
      await api.send(track('upd-1', 'Plan Chosen', { plan: 'pro' }));
      await clock.run();
      expect((await runsOf(engine, 'upd-1')).map((r) => r.status)).toEqual(['completed']);
      const { traits } = await api.customer('upd-1');
      expect(traits).toMatchObject({ plan: 'pro', onboarded: true, email: 'upd-1@example.com' });
      expect(traits).not.toHaveProperty('trial');
    } finally {
      await engine.stop();
    }
  });
});

describe('update steps keep to the profile limits', () => {
  const UPDATE = `id: choose-plan
name: Record the chosen plan
version: 1
trigger: { event: Plan Chosen }
steps:
  - id: set-onboarded
    update: { trait: onboarded, value: true }
`;

  it('a new trait key on a profile holding the key limit is refused and recorded, as a sender’s would be', async () => {
    const clock = new VirtualClock('2026-03-02T10:00:00Z');
    const engine = await startTestEngine({ clock, journeysDir: journeysDir({ 'choose-plan': UPDATE }), sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
    try {
      const api = client(engine);
      // 3 identifies of 250 new keys each: the profile keeps PROFILE_LIMITS.traitKeys (512) of them.
      for (let n = 0; n < 3; n++) {
        await api.send({ type: 'identify', userId: 'upd-full', messageId: `upd-full-keys-${n}`, traits: Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`k-${n}-${i}`, 1])) });
      }
      await clock.idle();
      expect(Object.keys((await engine.profiles.get('upd-full'))!.profile.traitTimes)).toHaveLength(PROFILE_LIMITS.traitKeys);

      await api.send(track('upd-full', 'Plan Chosen'));
      await clock.run();
      expect((await runsOf(engine, 'upd-full')).map((r) => r.status)).toEqual(['completed']);
      const stored = (await engine.profiles.get('upd-full'))!.profile;
      expect(Object.keys(stored.traitTimes)).toHaveLength(PROFILE_LIMITS.traitKeys);
      expect(stored.traits).not.toHaveProperty('onboarded');
      expect(stored.refusedTraits?.at(-1)).toMatchObject({ key: 'onboarded', reason: expect.stringContaining('512 trait keys') as unknown });
    } finally {
      await engine.stop();
    }
  });
});

describe('wait_until a time of day', () => {
  const MORNING = `id: morning-mail
name: Next morning at nine
version: 1
trigger: { event: Newsletter Requested }
steps:
  - id: at-nine
    wait_until: { time: "09:00" }
  - id: send-it
    send: { channel: email, template: welcome }
`;
  const localTime = (at: string, timeZone: string) =>
    new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(at));

  it("sends at the next 09:00 in the customer's time zone (Tokyo, New York, and UTC without one), on the engine clock", async () => {
    // The engine clock starts at 2026-03-10 20:00 UTC: 05:00 the next day in Tokyo, 16:00 in New York (EDT), 20:00 UTC.
    const clock = new VirtualClock('2026-03-10T20:00:00Z');
    const engine = await startTestEngine({ clock, journeysDir: journeysDir({ 'morning-mail': MORNING }), sweepEveryMs: 0, logLevel: 'SILENT' });
    try {
      const api = client(engine);
      const people = { 'tz-tokyo': 'Asia/Tokyo', 'tz-newyork': 'America/New_York', 'tz-none': undefined } as const;
      await api.send(Object.entries(people).flatMap(([id, tz]) => [identify(id, tz ? { timezone: tz } : {}), track(id, 'Newsletter Requested')]));
      await clock.run();
      // At 09:00 local to the millisecond: on virtual time nothing is late.
      const expected = { 'tz-tokyo': '2026-03-11T00:00:00.000Z', 'tz-newyork': '2026-03-11T13:00:00.000Z', 'tz-none': '2026-03-11T09:00:00.000Z' };
      for (const [id, tz] of Object.entries(people)) {
        expect(outboxFor(engine, id).map((m) => [m.step, m.at])).toEqual([['send-it', expected[id as keyof typeof expected]]]);
        expect(localTime(outboxFor(engine, id)[0]!.at, tz ?? 'UTC')).toBe('2026-03-11, 09:00');
      }
      // The UTC customer's 09:00 came before New York's: the sends follow local time, not the order of entry.
      const at = (id: string) => outboxFor(engine, id)[0]!.at;
      expect([at('tz-tokyo') < at('tz-none'), at('tz-none') < at('tz-newyork')]).toEqual([true, true]);
    } finally {
      await engine.stop();
    }
  });
});
