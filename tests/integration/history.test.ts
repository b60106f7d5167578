import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { messagesOf, outboxFor, runsOf } from '../helpers/journeys';

/**
 * History is history: imported events dated long ago do not start journeys
 * (`trigger.max_age`), while goals still see them; and the frequency cap
 * defers a marketing send until the window frees, up to a maximum delay.
 * Driven through the embedded engine's HTTP API on virtual time.
 */
const DAY = 86_400_000;
const folders: string[] = [];
afterAll(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

function journeysDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-history-'));
  folders.push(dir);
  for (const [id, text] of Object.entries(files)) writeFileSync(join(dir, `${id}.yaml`), text);
  return dir;
}

const identify = (userId: string) => ({ type: 'identify', userId, messageId: `${userId}-identify`, traits: { email: `${userId}@example.com`, name: userId } });
const track = (userId: string, event: string, timestamp: string, properties: Record<string, unknown> = {}) => ({
  type: 'track',
  userId,
  event,
  timestamp,
  messageId: `${userId}-${event.replace(/ /g, '-')}-${timestamp}`,
  properties,
});
const order = (userId: string, timestamp: string) => track(userId, 'Order Completed', timestamp, { orderId: `${userId}-${timestamp}`, revenue: 20, currency: 'EUR' });
const counters = async (api: ReturnType<typeof client>, journeyId: string) => ((await api.get(`/v1/journeys/${journeyId}/stats`)).json as unknown as { counters: Record<string, number> }).counters;
const steps = (engine: Engine, id: string) => outboxFor(engine, id).map((m) => m.step);

async function engineWith(options: Parameters<typeof startTestEngine>[0] = {}) {
  const clock = new VirtualClock('2026-03-02T10:00:00Z');
  const engine = await startTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT', ...options });
  const api = client(engine);
  return {
    engine,
    clock,
    api,
    ago: (ms: number) => new Date(clock.now().getTime() - ms).toISOString(),
    /** Send, then run the clock until no timer is left (every run has ended). */
    sendAndRun: async (events: unknown) => {
      await api.send(events);
      await clock.run();
    },
    statusOf: async (id: string, journeyId: string) => (await runsOf(engine, id)).find((r) => r.journeyId === journeyId)?.status,
  };
}

describe('trigger.max_age: imported history does not start journeys', () => {
  it('a year-old Signed Up and order start neither welcome nor win-back; the welcome counts the trigger as skipped (stale)', async () => {
    const t = await engineWith();
    try {
      await t.sendAndRun([identify('h-old'), track('h-old', 'Signed Up', t.ago(365 * DAY)), order('h-old', t.ago(360 * DAY))]);
      expect(await runsOf(t.engine, 'h-old')).toEqual([]);
      expect(steps(t.engine, 'h-old')).toEqual([]);
      const welcome = await counters(t.api, 'welcome');
      expect(welcome['skipped.stale']).toBe(1);
      expect(welcome.entered ?? 0).toBe(0);
      // The order made the customer inactive (a derived event): caused by a year-old event, it is stale too.
      const winBack = await counters(t.api, 'win-back');
      expect(winBack['skipped.stale']).toBe(1);
      expect(winBack.entered ?? 0).toBe(0);
    } finally {
      await t.engine.stop();
    }
  });

  it('a fresh Signed Up (within the default day) still starts the welcome', async () => {
    const t = await engineWith();
    try {
      await t.api.send([identify('h-fresh'), track('h-fresh', 'Signed Up', t.ago(60 * 60_000))]);
      await t.clock.idle();
      expect(steps(t.engine, 'h-fresh')).toEqual(['send-welcome']);
    } finally {
      await t.engine.stop();
    }
  });

  const ANY_AGE = `id: any-age
name: Welcome, whatever the sign-up's age
version: 1
trigger: { event: Signed Up, max_age: none }
goals:
  - event: Order Completed
steps:
  - id: greet
    send: { channel: email, template: welcome }
  - id: pause
    wait: 1d
  - id: follow-up
    send: { channel: email, template: getting-started }
`;

  it('max_age: none starts the journey from a year-old trigger', async () => {
    const t = await engineWith({ journeysDir: journeysDir({ 'any-age': ANY_AGE }) });
    try {
      await t.sendAndRun([identify('h-none'), track('h-none', 'Signed Up', t.ago(365 * DAY))]);
      expect(await t.statusOf('h-none', 'any-age')).toBe('completed');
      expect(steps(t.engine, 'h-none')).toEqual(['greet', 'follow-up']);
    } finally {
      await t.engine.stop();
    }
  });

  it('an order dated after the sign-up, though older than the 90 days a profile keeps, is the goal', async () => {
    const t = await engineWith({ journeysDir: journeysDir({ 'any-age': ANY_AGE }) });
    try {
      await t.sendAndRun([identify('h-goal'), track('h-goal', 'Signed Up', t.ago(365 * DAY)), order('h-goal', t.ago(300 * DAY))]);
      expect(await t.statusOf('h-goal', 'any-age')).toBe('converted');
      expect(steps(t.engine, 'h-goal')).not.toContain('follow-up');
    } finally {
      await t.engine.stop();
    }
  });

  it('an order dated before the sign-up is no goal of the run', async () => {
    const t = await engineWith({ journeysDir: journeysDir({ 'any-age': ANY_AGE }) });
    try {
      await t.api.send([identify('h-before'), track('h-before', 'Signed Up', t.ago(200 * DAY))]);
      await t.clock.idle();
      expect(steps(t.engine, 'h-before')).toEqual(['greet']);
      // The run is under way when the older order arrives: the goal router must not count it.
      await t.sendAndRun(order('h-before', t.ago(300 * DAY)));
      expect(await t.statusOf('h-before', 'any-age')).toBe('completed');
      expect(steps(t.engine, 'h-before')).toEqual(['greet', 'follow-up']);
    } finally {
      await t.engine.stop();
    }
  });
});

describe('the frequency cap defers marketing instead of dropping it', () => {
  const TWO = `id: two-mails
name: Two mails back to back
version: 1
trigger: { event: Signed Up }
steps:
  - id: first
    send: { channel: email, template: welcome }
  - id: second
    send: { channel: email, template: getting-started }
  - id: receipt
    send: { channel: email, template: welcome, kind: transactional }
`;

  it('over the cap the send waits until the window frees, then goes out; transactional messages are not capped', async () => {
    // One message a day, two days' delay allowed at most.
    const t = await engineWith({
      journeysDir: journeysDir({ 'two-mails': TWO }),
      sendPolicy: { quietHours: undefined, frequencyCap: 1, frequencyWindowDays: 1, frequencyCapMaxDelayDays: 2 },
    });
    try {
      await t.sendAndRun([identify('cap-defer'), track('cap-defer', 'Signed Up', t.ago(0))]);
      expect(await t.statusOf('cap-defer', 'two-mails')).toBe('completed');
      const sent = outboxFor(t.engine, 'cap-defer');
      expect(sent.map((m) => m.step)).toEqual(['first', 'second', 'receipt']);
      // The second goes out the millisecond the first has left the 1-day window (a send counts while at >= now - window).
      expect(new Date(sent[1]!.at).getTime() - new Date(sent[0]!.at).getTime()).toBe(DAY + 1);
      const c = await counters(t.api, 'two-mails');
      expect(c['second.deferred.frequency-cap']).toBeGreaterThanOrEqual(1);
      expect(c['second.sent']).toBe(1);
      expect(c['second.skipped.frequency-cap']).toBeUndefined();
    } finally {
      await t.engine.stop();
    }
  });

  it('a send the window would not free within the maximum delay is skipped (frequency-cap)', async () => {
    // The window (2 days) frees after the maximum delay (1 day): no point waiting.
    const t = await engineWith({
      journeysDir: journeysDir({ 'two-mails': TWO }),
      sendPolicy: { quietHours: undefined, frequencyCap: 1, frequencyWindowDays: 2, frequencyCapMaxDelayDays: 1 },
    });
    try {
      await t.sendAndRun([identify('cap-skip'), track('cap-skip', 'Signed Up', t.ago(0))]);
      expect(await t.statusOf('cap-skip', 'two-mails')).toBe('completed');
      expect(steps(t.engine, 'cap-skip')).toEqual(['first', 'receipt']);
      const second = (await messagesOf(t.engine, 'cap-skip')).find((m) => m.stepId === 'second');
      expect(second).toMatchObject({ status: 'skipped', reason: 'frequency-cap' });
    } finally {
      await t.engine.stop();
    }
  });

  /** TWO with a `send_policy` of its own (and `second` with `step`, its own override). */
  const twoWith = (journey: string, step = '') =>
    TWO.replace('steps:\n', `send_policy: { frequency_cap_max_delay: ${journey} }\nsteps:\n`).replace(
      'send: { channel: email, template: getting-started }',
      `send: { channel: email, template: getting-started${step && `, frequency_cap_max_delay: ${step}`} }`,
    );

  it("a journey's send_policy.frequency_cap_max_delay of 0s skips at once where the deployment's would defer", async () => {
    // The deployment defers up to 2 days (the window frees after 1): the journey says never wait.
    const t = await engineWith({
      journeysDir: journeysDir({ 'two-mails': twoWith('0s') }),
      sendPolicy: { quietHours: undefined, frequencyCap: 1, frequencyWindowDays: 1, frequencyCapMaxDelayDays: 2 },
    });
    try {
      await t.sendAndRun([identify('cap-zero'), track('cap-zero', 'Signed Up', t.ago(0))]);
      expect(await t.statusOf('cap-zero', 'two-mails')).toBe('completed');
      expect(steps(t.engine, 'cap-zero')).toEqual(['first', 'receipt']);
      expect((await messagesOf(t.engine, 'cap-zero')).find((m) => m.stepId === 'second')).toMatchObject({ status: 'skipped', reason: 'frequency-cap' });
      const c = await counters(t.api, 'two-mails');
      expect(c['second.deferred.frequency-cap']).toBeUndefined();
      expect(c['second.skipped.frequency-cap']).toBe(1);
    } finally {
      await t.engine.stop();
    }
  });

  it("a journey's longer frequency_cap_max_delay defers past the deployment's maximum; a send step's own overrides the journey's", async () => {
    // The deployment waits at most 1 day, the window (2 days) frees later: the deployment alone would skip.
    for (const [customer, journey, step] of [
      ['cap-long', '3d', ''],
      ['cap-step', '0s', '2d1h'],
    ] as const) {
      const t = await engineWith({
        journeysDir: journeysDir({ 'two-mails': twoWith(journey, step) }),
        sendPolicy: { quietHours: undefined, frequencyCap: 1, frequencyWindowDays: 2, frequencyCapMaxDelayDays: 1 },
      });
      try {
        await t.sendAndRun([identify(customer), track(customer, 'Signed Up', t.ago(0))]);
        expect(await t.statusOf(customer, 'two-mails'), customer).toBe('completed');
        const sent = outboxFor(t.engine, customer);
        expect(sent.map((m) => m.step), customer).toEqual(['first', 'second', 'receipt']);
        expect(new Date(sent[1]!.at).getTime() - new Date(sent[0]!.at).getTime(), customer).toBe(2 * DAY + 1);
        expect((await counters(t.api, 'two-mails'))['second.skipped.frequency-cap'], customer).toBeUndefined();
      } finally {
        await t.engine.stop();
      }
    }
  });
});
