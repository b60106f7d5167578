/**
 * Issue 13 item 1, end to end on what deploys: the step Lambda runs from the bundle synth produces (minified
 * as in AWS), inside the engine, under the compiled ASL. A step whose DynamoDB calls fail (500, past the SDK's
 * own retries) throws TransientStepError; the state machine's Retry matches it by name, and the retried step
 * sends the message once. Bundled without esbuild's keepNames, the error is thrown under a minified name, no
 * Retry matches, and the run fails: this test fails (checked by turning keepNames off in infra/cdk/function.ts).
 *
 * The nudge's tag step publishes Tag Added through the bundle's EventBridge client. Then the welcome and
 * complaint journeys run on the bundle as they run on the sources: the same runs, message records (with their
 * times) and deliveries per customer (sends, webhooks, waits of days, quiet hours, branches, goals, wait_for
 * with its timeout, and the step resuming a run itself with SendTaskSuccess).
 *
 * Covered: the step handler's code (middy, parsing, the step runner, the error mapping, the AWS SDK, the
 * channels) as bundled; its DynamoDB, EventBridge and Step Functions calls authorised by its role in the
 * template and served by the engine. The bundle reads the system clock, which reads the engine's virtual
 * time inside each invocation (`atEngineTime`: the twin's time is virtual for every function). Not covered:
 * the other functions (starter, consumer, run-ended, ingest, sweep) run from the sources; SES, Secrets
 * Manager and the webhook receivers are answered by the test, unauthorised.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PROFILE_TABLE, type Engine } from '../../infra/embedded/engine';
import type { StepLambdaHandler } from '../../infra/embedded/journeys';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { ENV } from '../../shared';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { messagesOf, outboxFor, runsOf } from '../helpers/journeys';
import { scheduleEvents } from '../helpers/virtual';
import { atEngineTime, interceptWebhooks, loadBundledStepHandler, twinEndpoint, webhooks, type TwinEndpoint } from './bundles';
import { twinAuthorizer } from './engine';

const START = Date.parse('2026-03-02T10:00:00Z');
const NUDGE = [
  'id: nudge',
  'name: Nudge',
  'version: 1',
  'trigger:',
  '  event: Nudge Requested',
  'entry:',
  '  reentry: always',
  'steps:',
  '  - id: send-nudge',
  '    send: { channel: email, template: welcome, kind: transactional }',
  '  - id: tag-nudged',
  '    tag: { add: nudged }',
  '',
].join('\n');

/** The bundled handler, loaded once for the file (its environment is the process's); its endpoint; the engine it serves. */
let bundled: StepLambdaHandler;
let endpoint: TwinEndpoint;
let journeysDir: string;
let current: { engine?: Engine; clock?: VirtualClock } = {};
/** The name of each error the bundled handler threw, as Lambda reports it to Step Functions. */
const thrown: Array<{ customer: string; name: string }> = [];
/** Customers whose DynamoDB calls from the step fail until the step has failed once. */
const failing = new Set<string>();

beforeAll(async () => {
  journeysDir = mkdtempSync(path.join(tmpdir(), 'rapport-twin-bundled-'));
  writeFileSync(path.join(journeysDir, 'nudge.yaml'), NUDGE);
  for (const journey of ['welcome', 'complaint-follow-up']) copyFileSync(`workflows/journeys.d/${journey}.yaml`, path.join(journeysDir, `${journey}.yaml`));
  const authorize = await twinAuthorizer();
  endpoint = await twinEndpoint({
    functionName: 'rapport-steps',
    engine: () => current.engine!,
    ...(authorize && { authorize }),
    fault: ({ body }) => {
      const text = JSON.stringify(body);
      return [...failing].some((customer) => text.includes(`C#${customer}`)) ? 'InternalServerError' : undefined;
    },
  });
  interceptWebhooks(inject('twinTemplate'));
  // The bundle reads the system clock: inside each invocation, that is the engine's virtual time.
  bundled = atEngineTime(() => current.clock!, await loadBundledStepHandler(inject('twinStepBundle'), inject('twinTemplate'), endpoint.url, () => ({ [ENV.PROFILE_TABLE_NAME]: PROFILE_TABLE })));
}, 60_000);
afterAll(async () => {
  await current.engine?.stop();
  await endpoint?.close();
  rmSync(journeysDir, { recursive: true, force: true });
});

/** The bundled handler as the engine's step Lambda, each error's name recorded. */
const stepHandler: StepLambdaHandler = async (event, context) => {
  try {
    return await bundled(event, context);
  } catch (error) {
    const customer = String((event as { customerId?: unknown }).customerId);
    thrown.push({ customer, name: (error as Error).name });
    failing.delete(customer);
    throw error;
  }
};

/** A twin engine on virtual time from START: with the bundled step, or the one built from the sources. */
async function engineWith(step: 'bundle' | 'sources'): Promise<Engine> {
  await current.engine?.stop();
  const clock = new VirtualClock(START);
  const engine = await startTestEngine({
    clock,
    journeysDir,
    sweepEveryMs: 0,
    logLevel: 'SILENT',
    ...(step === 'bundle' && { stepHandler }),
    twin: { seed: 3, maxDelayMs: 10_000, duplicateProbability: 0.2 },
  });
  current = { engine, clock };
  return engine;
}

/** What the bundle delivered to a customer: emails to their address, and webhooks about them. */
const delivered = (id: string) => endpoint.emails.filter((e) => JSON.stringify(e).includes(`${id}@example.com`)).length + webhooks.filter((w) => w.body.includes(`"${id}"`)).length;

describe('the bundled step function under the compiled ASL: a TransientStepError is retried by its name', () => {
  it('sends once after the retry; a customer without faults is sent to at the first attempt', async () => {
    const engine = await engineWith('bundle');
    const api = client(engine);
    const customers = ['bs-retried', 'bs-plain'];
    failing.add('bs-retried');
    await api.send(customers.flatMap((id) => [{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Nudge Requested', properties: {} }]));
    await current.clock!.run(START + 60 * 60_000);

    // The step failed once, under the name the state machines' Retry lists, and was retried: both runs
    // completed, each message sent once (without keepNames: a minified name, no retry, a failed run, no email).
    const outcome = async (id: string) => ({
      runs: (await runsOf(engine, id)).map((r) => r.status),
      messages: (await messagesOf(engine, id)).map((m) => [m.stepId, m.status]),
      emails: delivered(id),
    });
    expect({ thrown, 'bs-retried': await outcome('bs-retried'), 'bs-plain': await outcome('bs-plain') }).toEqual({
      thrown: [{ customer: 'bs-retried', name: 'TransientStepError' }],
      'bs-retried': { runs: ['completed'], messages: [['send-nudge', 'sent']], emails: 1 },
      'bs-plain': { runs: ['completed'], messages: [['send-nudge', 'sent']], emails: 1 },
    });
    // The tag step after it published Tag Added through the bundle's EventBridge client, onto the engine's bus.
    for (const id of customers) {
      expect(engine.bus.log.filter((e) => e['detail-type'] === 'Tag Added' && (e.detail as { userId?: string }).userId === id).map((e) => (e.detail as { properties?: { tag?: string } }).properties?.tag), id).toEqual(['nudged']);
    }
    expect(endpoint.unexpected).toEqual([]);
    expect(engine.deadLetters).toEqual([]);
  });
});

describe('the welcome and complaint journeys on the bundled step end for every customer as on the sources', () => {
  const HOUR = 3_600_000;
  const DAY = 24 * HOUR;
  const CUSTOMERS = 4;
  /**
   * Sign-ups at 11:00, 12:00 and 13:00 UTC, and one at 22:00 UTC in quiet hours (21:00-08:00). The first orders
   * the next day; the second complains an hour after signing up and is resolved a second later (its event may be
   * handled before the run waits for it: the step then resumes the run itself, with SendTaskSuccess); the third
   * complains and is never resolved (escalated).
   */
  function population(): Array<Record<string, unknown>> {
    const at = (ms: number) => new Date(ms).toISOString();
    return Array.from({ length: CUSTOMERS }, (_, i) => {
      const id = `bw-${i}`;
      const t = START + (i === 3 ? 12 : 1 + i) * HOUR;
      const track = (suffix: string, when: number, event: string, properties: Record<string, unknown>) => ({ type: 'track', userId: id, messageId: `${id}-${suffix}`, timestamp: at(when), event, properties });
      return [
        { type: 'identify', userId: id, messageId: `${id}-id`, timestamp: at(t), traits: { email: `${id}@example.com` } },
        track('su', t, 'Signed Up', {}),
        ...(i === 0 ? [track('o', t + DAY + 2 * HOUR, 'Order Completed', { orderId: `${id}-o`, revenue: 20, currency: 'EUR' })] : []),
        ...(i === 1 || i === 2 ? [track('cf', t + HOUR, 'Complaint Filed', { complaintId: `${id}-c`, category: 'delivery' })] : []),
        ...(i === 1 ? [track('cr', t + HOUR + 1000, 'Complaint Resolved', { complaintId: `${id}-c`, resolution: 'refund' })] : []),
      ];
    }).flat();
  }
  async function replay(step: 'bundle' | 'sources') {
    const engine = await engineWith(step);
    const api = client(engine);
    const sent = scheduleEvents(current.clock!, (batch) => api.send(batch), population());
    await current.clock!.run(START + 40 * DAY);
    sent.check();
    const outcomes: Record<string, unknown> = {};
    for (let i = 0; i < CUSTOMERS; i++) {
      const id = `bw-${i}`;
      outcomes[id] = {
        runs: (await runsOf(engine, id)).map((r) => `${r.journeyId}:${r.status}`).sort(),
        messages: (await messagesOf(engine, id)).map((m) => `${(m as { at?: string }).at} ${m.stepId}:${m.status}${m.reason ? `:${m.reason}` : ''}`).sort(),
        delivered: step === 'bundle' ? delivered(id) : outboxFor(engine, id).length,
      };
    }
    expect(engine.deadLetters).toEqual([]);
    return outcomes;
  }

  it('the same runs, message records and deliveries, customer by customer', async () => {
    const sources = await replay('sources');
    const bundle = await replay('bundle');
    // To the millisecond: the bundle runs on the engine's time, as the sources do.
    expect(bundle).toEqual(sources);
    // The stories: a buyer converted; a complaint resolved at once (its event handled before the run waited for
    // it, so the bundled step resumed the run itself with SendTaskSuccess) then surveyed; one escalated; a
    // sign-up at 22:00 welcomed at 08:00, after quiet hours (virtual time, whatever the hour the test runs).
    expect(sources).toMatchObject({
      'bw-0': { runs: ['welcome:converted'] },
      'bw-1': { runs: ['complaint-follow-up:completed', 'welcome:completed'] },
      'bw-2': { runs: ['complaint-follow-up:exited', 'welcome:completed'] },
      'bw-3': { runs: ['welcome:completed'], messages: expect.arrayContaining(['2026-03-03T08:00:00.000Z send-welcome:sent']) as unknown },
    });
    expect(endpoint.served.get('AWSStepFunctions.SendTaskSuccess')).toBe(1);
    expect(webhooks.length).toBeGreaterThanOrEqual(4);
    expect(endpoint.unexpected).toEqual([]);
  });
});
