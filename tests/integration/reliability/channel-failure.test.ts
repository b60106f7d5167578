/**
 * A channel down (SES, SMS, an outbound webhook) on the embedded engine: the send
 * is retried with the compiled backoff, then the step's failure is recorded and
 * the run fails, visibly; and a send is never made twice, even when a channel
 * fails after accepting the message.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelUnavailableError } from '../../../functions/journeys/channels/types';
import type { Engine } from '../../../infra/embedded/engine';
import type { ChannelCall, ChannelFault } from '../../../infra/embedded/faults';
import { VirtualClock } from '../../../infra/embedded/virtual-time';
import { STEP_RETRY } from '../../../workflows/journeys/asl';
import { client } from '../../helpers/client';
import { startTestEngine } from '../../helpers/engine';
import { runToEnd, messagesOf, outboxFor, runsOf } from '../../helpers/journeys';

/** Which customer's sends fail, and how; every channel call is logged per customer. */
const plans = new Map<string, (attempt: number, call: ChannelCall) => ChannelFault | undefined>();
const attempts = new Map<string, number>();
const customerOf = (call: ChannelCall) =>
  call.channel === 'webhook' ? ((JSON.parse(call.message.body) as { customerId?: string }).customerId ?? '') : (call.message.tags.customer ?? '');

let engine: Engine;
let api: ReturnType<typeof client>;
// Virtual time: the 8 retries' backoff (up to ~8.5 minutes) are timers on it and take no real time.
const clock = new VirtualClock('2026-03-02T10:00:00Z');
beforeAll(async () => {
  engine = await startTestEngine({
    clock,
    sendPolicy: { quietHours: undefined },
    sweepEveryMs: 0,
    logLevel: 'SILENT',
    faults: {
      channels: (call) => {
        const customer = customerOf(call);
        const n = (attempts.get(customer) ?? 0) + 1;
        attempts.set(customer, n);
        return plans.get(customer)?.(n, call);
      },
    },
  });
  api = client(engine);
});
afterAll(() => engine.stop());

const signUp = (id: string) => [
  { type: 'identify', userId: id, traits: { email: `${id}@example.com`, name: id } },
  { type: 'track', userId: id, event: 'Signed Up' },
];
const welcomes = (id: string) => outboxFor(engine, id).filter((m) => m.step === 'send-welcome');
const sesDown = () => ({ error: new ChannelUnavailableError('SES is unavailable: ServiceUnavailable (injected)') });

describe('a channel that is down', () => {
  it('retries the send with backoff, then records it failed with the reason and fails the run', async () => {
    plans.set('ch-down', () => sesDown());
    await api.send(signUp('ch-down'));
    const run = await runToEnd(clock, engine, 'ch-down', 'welcome');

    expect(run.status).toBe('failed');
    expect(attempts.get('ch-down')).toBe(1 + STEP_RETRY.MaxAttempts);
    expect(welcomes('ch-down')).toEqual([]);
    expect(await messagesOf(engine, 'ch-down')).toEqual([
      expect.objectContaining({ journeyId: 'welcome', stepId: 'send-welcome', channel: 'email', status: 'failed', reason: 'ChannelUnavailableError: SES is unavailable: ServiceUnavailable (injected)' }),
    ]);
    const execution = engine.journeys.sfn.executions.get(run.executionName)!;
    expect(execution.status).toBe('FAILED');
    expect(execution.states).toEqual(['send-welcome', 'send-welcome.failed', 'Failed']);
    const stats = (await api.get('/v1/journeys/welcome/stats')).json as unknown as { counters: Record<string, number> };
    expect(stats.counters['send-welcome.failed']).toBeGreaterThanOrEqual(1);
  });

  it('sends once when the channel comes back within the retries, and the run goes on', async () => {
    plans.set('ch-flaky', (n) => (n <= 3 ? sesDown() : undefined));
    await api.send(signUp('ch-flaky'));
    await clock.run(clock.now().getTime() + 3_600_000);
    expect((await messagesOf(engine, 'ch-flaky')).map((m) => m.status)).toEqual(['sent']);
    expect(attempts.get('ch-flaky')).toBe(4);
    expect(welcomes('ch-flaky')).toHaveLength(1);
    // The run is waiting a day before the next email, not failed.
    const [run] = await runsOf(engine, 'ch-flaky');
    expect(run).toMatchObject({ journeyId: 'welcome', status: 'running' });
    expect(engine.journeys.sfn.executions.get(run!.executionName)?.states).toContain('wait-a-day');
  });

  it('records a webhook target that stays down as failed, and fails the complaint run', async () => {
    plans.set('ch-hook', (_n, call) => (call.channel === 'webhook' ? { error: new ChannelUnavailableError('webhook "support" answered 503') } : undefined));
    await api.send([
      { type: 'identify', userId: 'ch-hook', traits: { email: 'ch-hook@example.com' } },
      { type: 'track', userId: 'ch-hook', event: 'Complaint Filed', properties: { complaintId: 'k-hook', category: 'delivery', severity: 'high' } },
    ]);
    const run = await runToEnd(clock, engine, 'ch-hook', 'complaint-follow-up');
    expect(run.status).toBe('failed');
    const messages = await messagesOf(engine, 'ch-hook');
    expect(messages.find((m) => m.stepId === 'acknowledge')).toMatchObject({ status: 'sent' });
    expect(messages.find((m) => m.stepId === 'open-ticket')).toMatchObject({ status: 'failed', channel: 'webhook:support', reason: 'ChannelUnavailableError: webhook "support" answered 503' });
    expect(outboxFor(engine, 'ch-hook').map((m) => m.step)).toEqual(['acknowledge']);
  });
});

describe('a channel that fails after accepting', () => {
  it('never sends twice when the step is retried after the provider accepted (the Lambda died before recording the send)', async () => {
    // The provider takes the email, then the invocation fails with a transient Lambda error, which Step Functions retries.
    const lambdaDied = Object.assign(new Error('the step Lambda died after the send (injected)'), { name: 'Lambda.ServiceException' });
    plans.set('ch-accepted', (n) => (n === 1 ? { error: lambdaDied, afterAccept: true } : undefined));
    await api.send(signUp('ch-accepted'));
    const run = await runToEnd(clock, engine, 'ch-accepted', 'welcome');

    expect(welcomes('ch-accepted')).toHaveLength(1);
    expect(attempts.get('ch-accepted')).toBe(1); // the retry found the claim and did not call the channel again
    expect(run.status).toBe('failed');
    const [message] = await messagesOf(engine, 'ch-accepted');
    expect(message).toMatchObject({ stepId: 'send-welcome', status: 'failed' });
    expect(message!.reason).toMatch(/^SendOutcomeUnknownError: send send-welcome was started by an earlier attempt .* may have gone out, so it is not sent again$/);
  });

  it('never sends twice when the channel errors after accepting (a lost response), and says so', async () => {
    const lost = Object.assign(new Error('socket hang up after the request was sent (injected)'), { name: 'TimeoutError' });
    plans.set('ch-lost', (n) => (n === 1 ? { error: lost, afterAccept: true } : undefined));
    await api.send(signUp('ch-lost'));
    const run = await runToEnd(clock, engine, 'ch-lost', 'welcome');

    expect(run.status).toBe('failed');
    expect(welcomes('ch-lost')).toHaveLength(1);
    expect(attempts.get('ch-lost')).toBe(1);
    expect(await messagesOf(engine, 'ch-lost')).toEqual([
      expect.objectContaining({ stepId: 'send-welcome', status: 'failed', reason: 'TimeoutError: socket hang up after the request was sent (injected)' }),
    ]);
  });
});

describe('SMS down (AWS End User Messaging SMS)', () => {
  // No built-in journey texts, so this one does: a transactional shipping update by SMS.
  const dir = mkdtempSync(path.join(tmpdir(), 'rapport-sms-'));
  let sms: Engine;
  const smsClock = new VirtualClock('2026-03-02T10:00:00Z');
  let smsApi: ReturnType<typeof client>;
  const smsAttempts = new Map<string, number>();
  const smsPlans = new Map<string, (attempt: number) => ChannelFault | undefined>();
  beforeAll(async () => {
    for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
    writeFileSync(
      path.join(dir, 'journeys', 'shipping-update.yaml'),
      ['id: shipping-update', 'name: Shipping update', 'version: 1', 'trigger: { event: Order Shipped }', 'entry: { reentry: always }', 'steps:', '  - id: text-shipped', '    send: { channel: sms, template: shipped, kind: transactional }', ''].join('\n'),
    );
    writeFileSync(path.join(dir, 'templates', 'shipped.sms.liquid'), 'Your order {{ trigger.orderId }} is on its way.');
    sms = await startTestEngine({
      journeysDir: path.join(dir, 'journeys'),
      templatesDir: path.join(dir, 'templates'),
      clock: smsClock,
      sendPolicy: { quietHours: undefined },
      sweepEveryMs: 0,
      logLevel: 'SILENT',
      faults: {
        channels: (call) => {
          if (call.channel !== 'sms') return undefined;
          const customer = call.message.tags.customer ?? '';
          const n = (smsAttempts.get(customer) ?? 0) + 1;
          smsAttempts.set(customer, n);
          return smsPlans.get(customer)?.(n);
        },
      },
    });
    smsApi = client(sms);
  });
  afterAll(async () => {
    await sms.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const shipped = (id: string) => [
    { type: 'identify', userId: id, traits: { phone: '+447700900123' } },
    { type: 'track', userId: id, event: 'Order Shipped', properties: { orderId: `${id}-o1` } },
  ];
  const texts = (id: string) => outboxFor(sms, id).filter((m) => m.channel === 'sms');
  const smsDown = () => ({ error: new ChannelUnavailableError('End User Messaging SMS is unavailable: ThrottlingException (injected)') });

  it('retries the text with backoff, then records it failed with the reason and fails the run; nothing is sent', async () => {
    smsPlans.set('sms-down', () => smsDown());
    await smsApi.send(shipped('sms-down'));
    const run = await runToEnd(smsClock, sms, 'sms-down', 'shipping-update');
    expect(run.status).toBe('failed');
    expect(smsAttempts.get('sms-down')).toBe(1 + STEP_RETRY.MaxAttempts);
    expect(texts('sms-down')).toEqual([]);
    expect(await messagesOf(sms, 'sms-down')).toEqual([
      expect.objectContaining({ journeyId: 'shipping-update', stepId: 'text-shipped', channel: 'sms', status: 'failed', reason: 'ChannelUnavailableError: End User Messaging SMS is unavailable: ThrottlingException (injected)' }),
    ]);
  });

  it('sends the text once when SMS comes back within the retries', async () => {
    smsPlans.set('sms-flaky', (n) => (n <= 2 ? smsDown() : undefined));
    await smsApi.send(shipped('sms-flaky'));
    const run = await runToEnd(smsClock, sms, 'sms-flaky', 'shipping-update');
    expect(run.status).toBe('completed');
    expect(smsAttempts.get('sms-flaky')).toBe(3);
    expect(texts('sms-flaky')).toEqual([expect.objectContaining({ to: '+447700900123', body: 'Your order sms-flaky-o1 is on its way.' })]);
  });
});
