import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { ScaledClock } from '../../shared';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { ended, eventually, messagesOf, outboxFor, runsOf } from '../helpers/journeys';

/**
 * Every path of the built-in journeys, end to end on the embedded engine:
 * driven only by signed webhooks and the HTTP API, on a scaled journey clock.
 * Quiet hours are off here (they depend on the time of day the suite runs) and
 * are tested on their own below.
 */
const DAY = 86_400_000;
const noQuietHours = { quietHours: undefined };

async function engineAt(scale: number, sendPolicy: Record<string, unknown> = noQuietHours) {
  const clock = new ScaledClock(scale);
  const engine = await startTestEngine({ clock, sendPolicy, sweepEveryMs: 0 });
  return { engine, clock, api: client(engine) };
}
const identify = (userId: string, traits: Record<string, unknown> = {}) => ({ type: 'identify', userId, traits: { email: `${userId}@example.com`, name: userId, ...traits } });
const track = (userId: string, event: string, properties: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({ type: 'track', userId, event, properties, ...extra });
const order = (userId: string, n: number, extra: Record<string, unknown> = {}) => track(userId, 'Order Completed', { orderId: `${userId}-${n}`, revenue: 20, currency: 'EUR' }, extra);
const steps = (engine: Engine, id: string) => outboxFor(engine, id).map((m) => m.step);

describe('welcome journey (1 simulated day per 0.5 s)', () => {
  let t: Awaited<ReturnType<typeof engineAt>>;
  beforeAll(async () => {
    t = await engineAt(2 * 86_400);
  });
  afterAll(() => t.engine.stop());

  it('without an order: welcome at once, getting-started a day later, the first-order offer two days after', async () => {
    await t.api.send([identify('w-none'), track('w-none', 'Signed Up')]);
    const run = await ended(t.engine, 'w-none', 'welcome');
    expect(run.status).toBe('completed');
    const sent = outboxFor(t.engine, 'w-none');
    expect(sent.map((m) => m.step)).toEqual(['send-welcome', 'send-getting-started', 'send-first-order-offer']);
    expect(sent[0]).toMatchObject({ channel: 'email', to: 'w-none@example.com', subject: 'Welcome aboard, w-none!' });
    // The waits hold on the journey clock: about 1 day, then about 2 more.
    const at = sent.map((m) => new Date(m.at).getTime());
    expect((at[1]! - at[0]!) / DAY).toBeGreaterThanOrEqual(1);
    expect((at[1]! - at[0]!) / DAY).toBeLessThan(1.5);
    expect((at[2]! - at[1]!) / DAY).toBeGreaterThanOrEqual(2);
    // Marketing email carries the one-click unsubscribe headers.
    expect(sent[0]).toMatchObject({ headers: { 'List-Unsubscribe': expect.stringMatching(/^<http:\/\/127\.0\.0\.1:\d+\/v1\/unsubscribe\?c=w-none&ch=email&t=/), 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } });
  });

  it('with an order: the goal ends the run at once as a conversion, and nothing more is sent', async () => {
    await t.api.send([identify('w-buyer'), track('w-buyer', 'Signed Up')]);
    await eventually(() => steps(t.engine, 'w-buyer').includes('send-welcome'), 'welcome email');
    await t.api.send(order('w-buyer', 1));
    const run = await ended(t.engine, 'w-buyer', 'welcome', 3_000);
    expect(run.status).toBe('converted');
    const execution = t.engine.journeys.sfn.executions.get(run.executionName);
    await eventually(() => execution?.status === 'ABORTED', 'execution stopped');
    await new Promise((r) => setTimeout(r, 1_800)); // > 3 simulated days
    expect(steps(t.engine, 'w-buyer')).toEqual(['send-welcome']);
    const stats = (await t.api.get('/v1/journeys/welcome/stats')).json as unknown as { counters: Record<string, number> };
    expect(stats.counters.goal).toBeGreaterThanOrEqual(1);
    expect(stats.counters.entered).toBeGreaterThanOrEqual(2);
  });

  it('an order that reaches the engine before its sign-up (out of order) still ends the run as the goal', async () => {
    // The goal router saw the order when there was no run to stop; the starter finds it on the profile.
    const signedUpAt = t.clock.now().getTime();
    const at = (ms: number) => new Date(signedUpAt + ms).toISOString();
    await t.api.sendAndSettle([identify('w-late'), order('w-late', 1, { timestamp: at(60_000) })]);
    await t.api.send(track('w-late', 'Signed Up', {}, { timestamp: at(0) }));
    const run = await ended(t.engine, 'w-late', 'welcome', 5_000);
    expect(run.status).toBe('converted');
    await new Promise((r) => setTimeout(r, 1_800)); // > 3 simulated days
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
    await ended(t.engine, 'w-dup', 'welcome');
    expect((await runsOf(t.engine, 'w-dup')).filter((r) => r.journeyId === 'welcome')).toHaveLength(1);
    expect(steps(t.engine, 'w-dup').filter((s) => s === 'send-welcome')).toHaveLength(1);
  });

  it('stops marketing after an unsubscribe mid-journey, and records each skip with its reason', async () => {
    await t.api.send([identify('w-unsub'), track('w-unsub', 'Signed Up')]);
    await eventually(() => steps(t.engine, 'w-unsub').includes('send-welcome'), 'welcome email');
    await t.api.send(track('w-unsub', 'Unsubscribed', { channel: 'email' }));
    await ended(t.engine, 'w-unsub', 'welcome');
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

describe('win-back journey (10 simulated days per second)', () => {
  let t: Awaited<ReturnType<typeof engineAt>>;
  beforeAll(async () => {
    t = await engineAt(10 * 86_400);
  });
  afterAll(() => t.engine.stop());
  /**
   * A customer whose only order is 75 days old turns dormant with time: the sweep after the 90th day
   * publishes Customer Became Inactive, which starts win-back. (An order imported 95 days old makes the
   * customer dormant at once, but that news is as old as the order: history starts no journey.)
   */
  const lapsed = async (id: string) => {
    const orderedAt = t.clock.now().getTime() - 75 * DAY;
    await t.api.sendAndSettle([identify(id), order(id, 0, { timestamp: new Date(orderedAt).toISOString() })]);
    await eventually(() => t.clock.now().getTime() > orderedAt + 90.2 * DAY, 'the 90th day since the order');
    await t.engine.sweep();
  };

  it('converts after the first message', async () => {
    await lapsed('wb-first');
    await eventually(() => steps(t.engine, 'wb-first').includes('send-we-miss-you'), 'we-miss-you');
    await t.api.send(order('wb-first', 1));
    expect((await ended(t.engine, 'wb-first', 'win-back')).status).toBe('converted');
    expect(steps(t.engine, 'wb-first')).toEqual(['send-we-miss-you']);
  });

  it('converts after the second message', async () => {
    await lapsed('wb-second');
    await eventually(() => steps(t.engine, 'wb-second').includes('send-offer'), 'win-back offer');
    await t.api.send(order('wb-second', 1));
    expect((await ended(t.engine, 'wb-second', 'win-back')).status).toBe('converted');
    expect(steps(t.engine, 'wb-second')).toEqual(['send-we-miss-you', 'send-offer']);
  });

  it('tags the customer churned after three silent weeks', async () => {
    await lapsed('wb-churn');
    expect((await ended(t.engine, 'wb-churn', 'win-back')).status).toBe('completed');
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
  describe('at 1 simulated day per second', () => {
    let t: Awaited<ReturnType<typeof engineAt>>;
    beforeAll(async () => {
      t = await engineAt(86_400);
    });
    afterAll(() => t.engine.stop());

    it('resolved in time: acknowledgement and ticket at once, survey an hour after the resolution, and an order ends it', async () => {
      await t.api.send([identify('c-ok'), track('c-ok', 'Complaint Filed', { complaintId: 'cmp-1', category: 'delivery' })]);
      await eventually(() => steps(t.engine, 'c-ok').includes('open-ticket'), 'support ticket');
      const [ack, ticket] = outboxFor(t.engine, 'c-ok');
      expect(ack).toMatchObject({ step: 'acknowledge', channel: 'email', headers: {} });
      expect(JSON.parse((ticket as { body: string }).body)).toMatchObject({ complaintId: 'cmp-1', customerId: 'c-ok', sla: { respondWithinHours: 2, resolveWithinHours: 24 } });
      // A resolution of another complaint does not resume this one.
      await t.api.send(track('c-ok', 'Complaint Resolved', { complaintId: 'cmp-other' }));
      await t.api.send(track('c-ok', 'Complaint Resolved', { complaintId: 'cmp-1' }));
      await eventually(() => steps(t.engine, 'c-ok').includes('send-survey'), 'satisfaction survey');
      await t.api.send(order('c-ok', 1));
      expect((await ended(t.engine, 'c-ok', 'complaint-follow-up')).status).toBe('completed');
      expect(steps(t.engine, 'c-ok')).toEqual(['acknowledge', 'open-ticket', 'send-survey']);
    });

    it('escalated: no resolution in 24 hours → supervisor webhook; resolved later → survey', async () => {
      await t.api.send([identify('c-late'), track('c-late', 'Complaint Filed', { complaintId: 'cmp-2' })]);
      await eventually(() => steps(t.engine, 'c-late').includes('escalate'), 'escalation', 5_000);
      await t.api.send(track('c-late', 'Complaint Resolved', { complaintId: 'cmp-2' }));
      await eventually(() => steps(t.engine, 'c-late').includes('send-survey'), 'satisfaction survey');
      await t.api.send(order('c-late', 1));
      await ended(t.engine, 'c-late', 'complaint-follow-up');
      expect(steps(t.engine, 'c-late')).toEqual(['acknowledge', 'open-ticket', 'escalate', 'send-survey']);
    });

    it('never resolved: escalated, then 48 hours later the run takes its exit step and counts as an exit, not a completion', async () => {
      await t.api.send([identify('c-never'), track('c-never', 'Complaint Filed', { complaintId: 'cmp-never' })]);
      const run = await ended(t.engine, 'c-never', 'complaint-follow-up', 15_000);
      expect(run.status).toBe('exited');
      expect(steps(t.engine, 'c-never')).toEqual(['acknowledge', 'open-ticket', 'escalate']);
      // The counters are written just after the run record: wait for them, then check both moved together.
      const counters = await eventually(async () => {
        const { counters } = (await t.api.get('/v1/journeys/complaint-follow-up/stats')).json as unknown as { counters: Record<string, number> };
        return counters.exited ? counters : undefined;
      }, 'exit counted');
      expect(counters['exited.escalated']).toBe(1);
      expect(counters.exited).toBe(1);
    });

    it('runs once per complaintId: two complaints run side by side, a repeat of one does not start another', async () => {
      await t.api.send([identify('c-two'), track('c-two', 'Complaint Filed', { complaintId: 'cmp-a' }), track('c-two', 'Complaint Filed', { complaintId: 'cmp-b' })]);
      await eventually(async () => (await runsOf(t.engine, 'c-two')).length === 2, 'two runs');
      await t.api.send(track('c-two', 'Complaint Filed', { complaintId: 'cmp-a' }));
      await t.engine.settle();
      expect((await runsOf(t.engine, 'c-two')).filter((r) => r.journeyId === 'complaint-follow-up')).toHaveLength(2);
    });
  });

  it('escalated and then silent for 30 days → coupon and call-back request (5 simulated days per second)', async () => {
    const t = await engineAt(5 * 86_400);
    try {
      await t.api.send([identify('c-quiet'), track('c-quiet', 'Complaint Filed', { complaintId: 'cmp-3' })]);
      await eventually(() => steps(t.engine, 'c-quiet').includes('escalate'), 'escalation', 5_000);
      await t.api.send(track('c-quiet', 'Complaint Resolved', { complaintId: 'cmp-3' }));
      expect((await ended(t.engine, 'c-quiet', 'complaint-follow-up', 30_000)).status).toBe('completed');
      expect(steps(t.engine, 'c-quiet')).toEqual(['acknowledge', 'open-ticket', 'escalate', 'send-survey', 'send-we-value-you', 'request-callback']);
      const callback = outboxFor(t.engine, 'c-quiet').at(-1) as { body: string };
      expect(JSON.parse(callback.body)).toMatchObject({ customerId: 'c-quiet', complaintId: 'cmp-3' });
    } finally {
      await t.engine.stop();
    }
  });
});

describe('send-time rules', () => {
  it('holds the frequency cap for marketing and records the skip', async () => {
    const t = await engineAt(2 * 86_400, { quietHours: undefined, frequencyCap: 1, frequencyWindowDays: 7 });
    try {
      await t.api.send([identify('cap-1'), track('cap-1', 'Signed Up')]);
      await ended(t.engine, 'cap-1', 'welcome');
      expect(steps(t.engine, 'cap-1')).toEqual(['send-welcome']);
      expect((await messagesOf(t.engine, 'cap-1')).filter((m) => m.status === 'skipped').map((m) => m.reason)).toEqual(['frequency-cap', 'frequency-cap']);
    } finally {
      await t.engine.stop();
    }
  });

  it('defers marketing in quiet hours instead of dropping it; transactional messages are not deferred', async () => {
    // Quiet hours from the current hour in Tokyo to 8 hours later: the customer is in them now.
    // One simulated hour per real second: a loaded machine's latency (a second or two) stays
    // well inside the window, so the welcome is deferred, not sent late by accident.
    const tokyoHour = (d: Date) => Number(new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Tokyo', hour: '2-digit', hourCycle: 'h23' }).format(d));
    const h = tokyoHour(new Date());
    const pad = (n: number) => String(n % 24).padStart(2, '0');
    const t = await engineAt(3_600, { quietHours: { start: `${pad(h)}:00`, end: `${pad(h + 8)}:00` } });
    try {
      await t.api.send([identify('quiet-1', { timezone: 'Asia/Tokyo' }), track('quiet-1', 'Signed Up'), track('quiet-1', 'Complaint Filed', { complaintId: 'q-1' })]);
      const ack = await eventually(() => outboxFor(t.engine, 'quiet-1').find((m) => m.step === 'acknowledge'), 'transactional acknowledgement');
      expect(outboxFor(t.engine, 'quiet-1').some((m) => m.step === 'send-welcome')).toBe(false);
      const welcome = await eventually(() => outboxFor(t.engine, 'quiet-1').find((m) => m.step === 'send-welcome'), 'deferred welcome', 30_000);
      // Sent when quiet hours ended (8 h after their start, give or take timer latency), not dropped.
      const hoursLater = (new Date(welcome.at).getTime() - new Date(ack.at).getTime()) / 3_600_000;
      expect(hoursLater).toBeGreaterThan(5);
      const end = (h + 8) % 24;
      expect([end, (end + 1) % 24]).toContain(tokyoHour(new Date(welcome.at)));
      // The counters are written just after the outbox: wait for the send's own count.
      const stats = await eventually(async () => {
        const s = (await t.api.get('/v1/journeys/welcome/stats')).json as unknown as { counters: Record<string, number> };
        return s.counters['send-welcome.sent'] ? s : undefined;
      }, 'welcome counters');
      expect(stats.counters['send-welcome.deferred.quiet-hours']).toBe(1);
      expect(stats.counters['send-welcome.sent']).toBe(1);
    } finally {
      await t.engine.stop();
    }
  });
});

describe('erasure during a running journey', () => {
  it('stops the run; nothing is sent after it; no item is left', async () => {
    const t = await engineAt(2 * 86_400);
    try {
      await t.api.send([identify('erase-run'), track('erase-run', 'Signed Up')]);
      await eventually(() => steps(t.engine, 'erase-run').includes('send-welcome'), 'welcome email');
      expect((await t.api.del('/v1/customers/erase-run')).status).toBe(200);
      const runs = [...t.engine.journeys.sfn.executions.values()].filter((e) => e.input.customerId === 'erase-run');
      await eventually(() => runs.every((e) => e.status === 'ABORTED'), 'executions stopped');
      await new Promise((r) => setTimeout(r, 1_800));
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
