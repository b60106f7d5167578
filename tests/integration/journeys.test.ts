import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { messagesOf, outboxFor, runsOf } from '../helpers/journeys';

/**
 * Every path of the built-in journeys, end to end on the embedded engine:
 * driven only by signed webhooks and the HTTP API, on virtual time (the clock
 * stands still while the engine works and jumps to the next wait or timeout
 * when it is idle: each test runs it to the moment it checks, and every wait
 * ends to the millisecond). Quiet hours are off here and tested on their own below.
 */
const DAY = 86_400_000;
const HOUR = 3_600_000;
const START = '2026-03-02T10:00:00Z';
const noQuietHours = { quietHours: undefined };

async function engineAt(start: string = START, sendPolicy: Record<string, unknown> = noQuietHours) {
  const clock = new VirtualClock(start);
  const engine = await startTestEngine({ clock, sendPolicy, sweepEveryMs: 0 });
  return { engine, clock, api: client(engine) };
}
type T = Awaited<ReturnType<typeof engineAt>>;
const identify = (userId: string, traits: Record<string, unknown> = {}) => ({ type: 'identify', userId, traits: { email: `${userId}@example.com`, name: userId, ...traits } });
const track = (userId: string, event: string, properties: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({ type: 'track', userId, event, properties, ...extra });
const order = (userId: string, n: number, extra: Record<string, unknown> = {}) => track(userId, 'Order Completed', { orderId: `${userId}-${n}`, revenue: 20, currency: 'EUR' }, extra);
const steps = (engine: Engine, id: string) => outboxFor(engine, id).map((m) => m.step);
/** Run the clock until the customer has been sent this step (or nothing is left to run). */
const runUntilSent = (t: T, id: string, step: string) => t.clock.run(undefined, () => steps(t.engine, id).includes(step));
/** The customer's run of a journey, as the API shows it. */
const runOf = async (t: T, id: string, journeyId: string) => (await runsOf(t.engine, id)).find((r) => r.journeyId === journeyId);
const counters = async (t: T, journeyId: string) => ((await t.api.get(`/v1/journeys/${journeyId}/stats`)).json as unknown as { counters: Record<string, number> }).counters;

describe('welcome journey', () => {
  let t: T;
  beforeAll(async () => {
    t = await engineAt();
  });
  afterAll(() => t.engine.stop());

  it('without an order: welcome at once, getting-started a day later, the first-order offer two days after', async () => {
    await t.api.send([identify('w-none'), track('w-none', 'Signed Up')]);
    await t.clock.run();
    expect((await runOf(t, 'w-none', 'welcome'))?.status).toBe('completed');
    const sent = outboxFor(t.engine, 'w-none');
    expect(sent.map((m) => m.step)).toEqual(['send-welcome', 'send-getting-started', 'send-first-order-offer']);
    expect(sent[0]).toMatchObject({ channel: 'email', to: 'w-none@example.com', subject: 'Welcome aboard, w-none!' });
    // The waits hold on the journey clock, to the millisecond: 1 day, then 2 more.
    const at = sent.map((m) => new Date(m.at).getTime());
    expect([at[1]! - at[0]!, at[2]! - at[1]!]).toEqual([DAY, 2 * DAY]);
    // Marketing email carries the one-click unsubscribe headers.
    expect(sent[0]).toMatchObject({ headers: { 'List-Unsubscribe': expect.stringMatching(/^<http:\/\/127\.0\.0\.1:\d+\/v1\/unsubscribe\?c=w-none&ch=email&a=[0-9a-f]{64}&t=/), 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } });
  });

  it('with an order: the goal ends the run at once as a conversion, and nothing more is sent', async () => {
    await t.api.send([identify('w-buyer'), track('w-buyer', 'Signed Up')]);
    await t.clock.idle();
    expect(steps(t.engine, 'w-buyer')).toEqual(['send-welcome']);
    await t.api.send(order('w-buyer', 1));
    await t.clock.idle();
    const run = await runOf(t, 'w-buyer', 'welcome');
    expect(run?.status).toBe('converted');
    expect(t.engine.journeys.sfn.executions.get(run!.executionName)?.status).toBe('ABORTED');
    await t.clock.run();
    expect(steps(t.engine, 'w-buyer')).toEqual(['send-welcome']);
    const c = await counters(t, 'welcome');
    expect(c.goal).toBeGreaterThanOrEqual(1);
    expect(c.entered).toBeGreaterThanOrEqual(2);
  });

  it('an order that reaches the engine before its sign-up (out of order) still ends the run as the goal', async () => {
    // The goal router saw the order when there was no run to stop; the starter finds it on the profile.
    const signedUpAt = t.clock.now().getTime();
    const at = (ms: number) => new Date(signedUpAt + ms).toISOString();
    await t.api.send([identify('w-late'), order('w-late', 1, { timestamp: at(60_000) })]);
    await t.clock.idle();
    await t.api.send(track('w-late', 'Signed Up', {}, { timestamp: at(0) }));
    await t.clock.run();
    const run = await runOf(t, 'w-late', 'welcome');
    expect(run?.status).toBe('converted');
    // The starter stopped the execution itself (on the twin, with its role's states:StopExecution), at its first attempt.
    expect(t.engine.journeys.sfn.executions.get(run!.executionName)?.status).toBe('ABORTED');
    expect(t.engine.deadLetters.filter((l) => l.functionName === 'rapport-starter')).toEqual([]);
    expect(steps(t.engine, 'w-late')).not.toContain('send-getting-started');
    expect(steps(t.engine, 'w-late')).not.toContain('send-first-order-offer');
  });

  it('enrols once for a duplicate trigger (a redelivered webhook, or EventBridge delivering twice)', async () => {
    const signUp = track('w-dup', 'Signed Up', {}, { messageId: 'w-dup-signup' });
    await t.api.send([identify('w-dup'), signUp], { id: 'wh-w-dup' });
    await t.api.send([identify('w-dup'), signUp], { id: 'wh-w-dup' });
    await t.api.send(signUp);
    const published = t.engine.bus.log.find((e) => (e.detail as { messageId: string }).messageId === 'w-dup-signup')!;
    t.engine.bus.putEvents([{ Source: published.source, DetailType: published['detail-type'], Detail: JSON.stringify(published.detail) }]);
    await t.clock.run();
    expect((await runsOf(t.engine, 'w-dup')).filter((r) => r.journeyId === 'welcome')).toHaveLength(1);
    expect(steps(t.engine, 'w-dup').filter((s) => s === 'send-welcome')).toHaveLength(1);
  });

  it('stops marketing after an unsubscribe mid-journey, and records each skip with its reason', async () => {
    await t.api.send([identify('w-unsub'), track('w-unsub', 'Signed Up')]);
    await t.clock.idle();
    expect(steps(t.engine, 'w-unsub')).toEqual(['send-welcome']);
    await t.api.send(track('w-unsub', 'Unsubscribed', { channel: 'email' }));
    await t.clock.run();
    expect((await runOf(t, 'w-unsub', 'welcome'))?.status).not.toBe('running');
    expect(steps(t.engine, 'w-unsub')).toEqual(['send-welcome']);
    const messages = await messagesOf(t.engine, 'w-unsub');
    expect(messages.map((m) => [m.stepId, m.status, m.reason])).toEqual(
      expect.arrayContaining([
        ['send-welcome', 'sent', undefined],
        ['send-getting-started', 'skipped', 'unsubscribed'],
        ['send-first-order-offer', 'skipped', 'unsubscribed'],
      ]),
    );
  });
});

describe('win-back journey', () => {
  let t: T;
  beforeAll(async () => {
    t = await engineAt();
  });
  afterAll(() => t.engine.stop());
  /**
   * A customer whose only order is 75 days old turns dormant with time: the sweep after the 90th day
   * publishes Customer Became Inactive, which starts win-back. (An order imported 95 days old makes the
   * customer dormant at once, but that news is as old as the order: history starts no journey.)
   */
  const lapsed = async (id: string) => {
    const orderedAt = t.clock.now().getTime() - 75 * DAY;
    await t.api.send([identify(id), order(id, 0, { timestamp: new Date(orderedAt).toISOString() })]);
    await t.clock.run(orderedAt + 90.2 * DAY);
    await t.engine.sweep();
    await t.clock.idle();
  };

  it('converts after the first message', async () => {
    await lapsed('wb-first');
    expect(steps(t.engine, 'wb-first')).toEqual(['send-we-miss-you']);
    await t.api.send(order('wb-first', 1));
    await t.clock.idle();
    expect((await runOf(t, 'wb-first', 'win-back'))?.status).toBe('converted');
    await t.clock.run();
    expect(steps(t.engine, 'wb-first')).toEqual(['send-we-miss-you']);
  });

  it('converts after the second message, sent when the 7-day wait for an order timed out', async () => {
    await lapsed('wb-second');
    await runUntilSent(t, 'wb-second', 'send-offer');
    const [miss, offer] = outboxFor(t.engine, 'wb-second');
    expect(new Date(offer!.at).getTime() - new Date(miss!.at).getTime()).toBe(7 * DAY);
    await t.api.send(order('wb-second', 1));
    await t.clock.idle();
    expect((await runOf(t, 'wb-second', 'win-back'))?.status).toBe('converted');
    expect(steps(t.engine, 'wb-second')).toEqual(['send-we-miss-you', 'send-offer']);
  });

  it('tags the customer churned after three silent weeks', async () => {
    await lapsed('wb-churn');
    await t.clock.run();
    expect((await runOf(t, 'wb-churn', 'win-back'))?.status).toBe('completed');
    expect(steps(t.engine, 'wb-churn')).toEqual(['send-we-miss-you', 'send-offer']);
    const customer = await t.api.customer('wb-churn');
    expect(customer.tags).toContain('churned');
    // The journey's own tag: a CRM's tags trait cannot remove it.
    expect(customer.journeyTags).toContain('churned');
    expect(customer.manualTags).not.toContain('churned');
    expect(t.engine.bus.log.some((e) => e['detail-type'] === 'Tag Added' && (e.detail as { properties: { customerId: string; tag: string } }).properties.tag === 'churned' && (e.detail as { userId: string }).userId === 'wb-churn')).toBe(true);
  });
});

describe('complaint follow-up journey', () => {
  describe('on one engine', () => {
    let t: T;
    beforeAll(async () => {
      t = await engineAt();
    });
    afterAll(() => t.engine.stop());

    it('resolved in time: acknowledgement and ticket at once, survey an hour after the resolution, and an order ends it', async () => {
      await t.api.send([identify('c-ok'), track('c-ok', 'Complaint Filed', { complaintId: 'cmp-1', category: 'delivery' })]);
      await t.clock.idle();
      const [ack, ticket] = outboxFor(t.engine, 'c-ok');
      expect(ack).toMatchObject({ step: 'acknowledge', channel: 'email', headers: {} });
      expect(ticket).toMatchObject({ step: 'open-ticket' });
      expect(JSON.parse((ticket as { body: string }).body)).toMatchObject({ complaintId: 'cmp-1', customerId: 'c-ok', sla: { respondWithinHours: 2, resolveWithinHours: 24 } });
      await t.clock.run(t.clock.now().getTime() + 2 * HOUR);
      // A resolution of another complaint does not resume this one.
      await t.api.send(track('c-ok', 'Complaint Resolved', { complaintId: 'cmp-other' }));
      await t.api.send(track('c-ok', 'Complaint Resolved', { complaintId: 'cmp-1' }));
      const resolvedAt = t.clock.now().getTime();
      await runUntilSent(t, 'c-ok', 'send-survey');
      expect(new Date(outboxFor(t.engine, 'c-ok').at(-1)!.at).getTime() - resolvedAt).toBe(HOUR);
      await t.api.send(order('c-ok', 1));
      await t.clock.idle();
      expect((await runOf(t, 'c-ok', 'complaint-follow-up'))?.status).toBe('completed');
      expect(steps(t.engine, 'c-ok')).toEqual(['acknowledge', 'open-ticket', 'send-survey']);
    });

    it('escalated: no resolution in 24 hours → supervisor webhook; resolved later → survey', async () => {
      await t.api.send([identify('c-late'), track('c-late', 'Complaint Filed', { complaintId: 'cmp-2' })]);
      const filedAt = t.clock.now().getTime();
      await runUntilSent(t, 'c-late', 'escalate');
      expect(new Date(outboxFor(t.engine, 'c-late').at(-1)!.at).getTime() - filedAt).toBe(24 * HOUR);
      await t.api.send(track('c-late', 'Complaint Resolved', { complaintId: 'cmp-2' }));
      await runUntilSent(t, 'c-late', 'send-survey');
      await t.api.send(order('c-late', 1));
      await t.clock.idle();
      expect((await runOf(t, 'c-late', 'complaint-follow-up'))?.status).toBe('completed');
      expect(steps(t.engine, 'c-late')).toEqual(['acknowledge', 'open-ticket', 'escalate', 'send-survey']);
    });

    it('never resolved: escalated, then 48 hours later the run takes its exit step and counts as an exit, not a completion', async () => {
      await t.api.send([identify('c-never'), track('c-never', 'Complaint Filed', { complaintId: 'cmp-never' })]);
      await t.clock.run();
      expect((await runOf(t, 'c-never', 'complaint-follow-up'))?.status).toBe('exited');
      expect(steps(t.engine, 'c-never')).toEqual(['acknowledge', 'open-ticket', 'escalate']);
      const c = await counters(t, 'complaint-follow-up');
      expect(c['exited.escalated']).toBe(1);
      expect(c.exited).toBe(1);
    });

    it('runs once per complaintId: two complaints run side by side, a repeat of one does not start another', async () => {
      await t.api.send([identify('c-two'), track('c-two', 'Complaint Filed', { complaintId: 'cmp-a' }), track('c-two', 'Complaint Filed', { complaintId: 'cmp-b' })]);
      await t.clock.idle();
      expect(await runsOf(t.engine, 'c-two')).toHaveLength(2);
      await t.api.send(track('c-two', 'Complaint Filed', { complaintId: 'cmp-a' }));
      await t.clock.idle();
      expect((await runsOf(t.engine, 'c-two')).filter((r) => r.journeyId === 'complaint-follow-up')).toHaveLength(2);
    });
  });

  it('escalated and then silent for 30 days → coupon and call-back request', async () => {
    const t = await engineAt();
    try {
      await t.api.send([identify('c-quiet'), track('c-quiet', 'Complaint Filed', { complaintId: 'cmp-3' })]);
      await runUntilSent(t, 'c-quiet', 'escalate');
      await t.api.send(track('c-quiet', 'Complaint Resolved', { complaintId: 'cmp-3' }));
      const resolvedAt = t.clock.now().getTime();
      await t.clock.run();
      expect((await runOf(t, 'c-quiet', 'complaint-follow-up'))?.status).toBe('completed');
      expect(steps(t.engine, 'c-quiet')).toEqual(['acknowledge', 'open-ticket', 'escalate', 'send-survey', 'send-we-value-you', 'request-callback']);
      // The survey an hour after the resolution, the coupon 30 days after the survey.
      const at = (step: string) => new Date(outboxFor(t.engine, 'c-quiet').find((m) => m.step === step)!.at).getTime();
      expect([at('send-survey') - resolvedAt, at('send-we-value-you') - at('send-survey')]).toEqual([HOUR, 30 * DAY]);
      const callback = outboxFor(t.engine, 'c-quiet').at(-1) as { body: string };
      expect(JSON.parse(callback.body)).toMatchObject({ customerId: 'c-quiet', complaintId: 'cmp-3' });
    } finally {
      await t.engine.stop();
    }
  });
});

describe('send-time rules', () => {
  it('holds the frequency cap for marketing and records the skip', async () => {
    const t = await engineAt(START, { quietHours: undefined, frequencyCap: 1, frequencyWindowDays: 7 });
    try {
      await t.api.send([identify('cap-1'), track('cap-1', 'Signed Up')]);
      await t.clock.run();
      expect((await runOf(t, 'cap-1', 'welcome'))?.status).toBe('completed');
      expect(steps(t.engine, 'cap-1')).toEqual(['send-welcome']);
      expect((await messagesOf(t.engine, 'cap-1')).filter((m) => m.status === 'skipped').map((m) => m.reason)).toEqual(['frequency-cap', 'frequency-cap']);
    } finally {
      await t.engine.stop();
    }
  });

  it('defers marketing in quiet hours instead of dropping it; transactional messages are not deferred', async () => {
    // 12:00 in Tokyo, inside quiet hours of 12:00-20:00.
    const t = await engineAt('2026-03-02T03:00:00Z', { quietHours: { start: '12:00', end: '20:00' } });
    try {
      await t.api.send([identify('quiet-1', { timezone: 'Asia/Tokyo' }), track('quiet-1', 'Signed Up'), track('quiet-1', 'Complaint Filed', { complaintId: 'q-1' })]);
      await t.clock.idle();
      const ack = outboxFor(t.engine, 'quiet-1').find((m) => m.step === 'acknowledge');
      expect(ack?.at).toBe('2026-03-02T03:00:00.000Z');
      expect(outboxFor(t.engine, 'quiet-1').some((m) => m.step === 'send-welcome')).toBe(false);
      await runUntilSent(t, 'quiet-1', 'send-welcome');
      // Sent when quiet hours ended, 20:00 in Tokyo to the millisecond, not dropped.
      expect(outboxFor(t.engine, 'quiet-1').find((m) => m.step === 'send-welcome')?.at).toBe('2026-03-02T11:00:00.000Z');
      const c = await counters(t, 'welcome');
      expect(c['send-welcome.deferred.quiet-hours']).toBe(1);
      expect(c['send-welcome.sent']).toBe(1);
    } finally {
      await t.engine.stop();
    }
  });
});

describe('erasure during a running journey', () => {
  it('stops the run; nothing is sent after it; no item is left', async () => {
    const t = await engineAt();
    try {
      await t.api.send([identify('erase-run'), track('erase-run', 'Signed Up')]);
      await t.clock.idle();
      expect(steps(t.engine, 'erase-run')).toEqual(['send-welcome']);
      expect((await t.api.del('/v1/customers/erase-run')).status).toBe(200);
      const runs = [...t.engine.journeys.sfn.executions.values()].filter((e) => e.input.customerId === 'erase-run');
      await t.clock.idle();
      expect(runs.map((e) => e.status)).toEqual(['ABORTED']);
      // The run's 1-day wait was cancelled with it: no timer is left, and nothing more is sent.
      await t.clock.run(t.clock.now().getTime() + 4 * DAY);
      expect(outboxFor(t.engine, 'erase-run')).toEqual([]);
      expect((await t.api.get('/v1/customers/erase-run')).status).toBe(404);
      expect(JSON.stringify(await t.engine.profiles.allItems('erase-run'))).toBe('[]');
    } finally {
      await t.engine.stop();
    }
  });
});

describe('a broken journey file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-journeys-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is refused with file:line:col and what was expected; the engine does not start', async () => {
    writeFileSync(
      join(dir, 'no-timeout.yaml'),
      ['id: no-timeout', 'name: Waits forever', 'version: 1', 'trigger: { event: Signed Up }', 'steps:', '  - id: hello', '    send: { channel: email, template: welcome }', '  - id: wait-forever', '    wait_for: { event: Order Completed }', ''].join('\n'),
    );
    writeFileSync(
      join(dir, 'bad-template.yaml'),
      ['id: bad-template', 'name: Unknown template', 'version: 1', 'trigger: { event: Signed Up }', 'steps:', '  - id: hello', '    send: { channel: email, template: no-such-template }', ''].join('\n'),
    );
    const attempt = startTestEngine({ journeysDir: dir });
    // Every problem of every file at once, each with file:line:col.
    await expect(attempt).rejects.toThrow(/no-timeout\.yaml:9:15 steps\[1\]\.wait_for\.timeout: wait_for needs a timeout, such as "7d"/);
    await expect(attempt).rejects.toThrow(/bad-template\.yaml:7:\d+ .*no-such-template/);
  });

  it('is refused when it reads a tag nothing produces (as rapport validate refuses it); a manual tag in tags.yaml makes it start', async () => {
    const journeys = mkdtempSync(join(dir, 'tags-'));
    writeFileSync(
      join(journeys, 'vip-thanks.yaml'),
      ['id: vip-thanks', 'name: VIP thanks', 'version: 1', 'trigger:', '  event: Tag Added', '  where: { tag: [vipp] }', 'steps:', '  - id: thank', '    send: { channel: email, template: welcome }', ''].join('\n'),
    );
    await expect(startTestEngine({ journeysDir: journeys })).rejects.toThrow(/vip-thanks\.yaml:6:18 trigger\.where\.tag\[0\]: unknown tag "vipp" \(did you mean "vip"\?\)/);

    const config = mkdtempSync(join(dir, 'config-'));
    for (const name of ['tags.yaml', 'segmentation.config.yaml']) copyFileSync(join('workflows', name), join(config, name));
    const tagsFile = join(config, 'tags.yaml');
    writeFileSync(tagsFile, readFileSync(tagsFile, 'utf8').replace('\nmanualTags:\n', '\nmanualTags:\n  - { name: vipp, description: VIPs marked in the CRM }\n'));
    const engine = await startTestEngine({ journeysDir: journeys, configDir: config });
    await engine.stop();
  });
});
