/**
 * Issue 13 item 1, end to end on what deploys: the step Lambda runs from the bundle synth produces (minified
 * as in AWS), inside the engine, under the compiled ASL. A step whose DynamoDB calls fail (500, past the SDK's
 * own retries) throws TransientStepError; the state machine's Retry matches it by name, and the retried step
 * sends the message once. Bundled without esbuild's keepNames, the error is thrown under a minified name, no
 * Retry matches, and the run fails: this test fails (checked by turning keepNames off in infra/cdk/function.ts).
 *
 * Then the welcome journey runs on the bundle as it runs on the sources: the same runs, message records and
 * emails per customer (sends, waits of days, the branch on orders, the goal).
 *
 * Covered: the step handler's code (middy, parsing, the step runner, the error mapping, the AWS SDK, the
 * channels) as bundled, with its DynamoDB calls authorised by its role in the template. The bundle reads the
 * system clock, which reads the engine's virtual time inside each invocation (`atEngineTime`: the twin's time
 * is virtual for every function). Not covered: the other functions (starter, consumer, run-ended, ingest) run
 * from the sources; the bundled step's PutEvents, SendTaskSuccess and webhooks reach no engine here, so
 * journeys with tag, update, wait_for or webhook steps are not run on it.
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
import { atEngineTime, loadBundledStepHandler, twinEndpoint, type TwinEndpoint } from './bundles';
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
  copyFileSync('workflows/journeys.d/welcome.yaml', path.join(journeysDir, 'welcome.yaml'));
  const authorize = await twinAuthorizer();
  endpoint = await twinEndpoint({
    functionName: 'rapport-steps',
    dynaliteEndpoint: () => current.engine!.dynamo.endpoint,
    ...(authorize && { authorize }),
    fault: ({ body }) => {
      const text = JSON.stringify(body);
      return [...failing].some((customer) => text.includes(`C#${customer}`)) ? 'InternalServerError' : undefined;
    },
  });
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

const recipients = (id: string) => endpoint.emails.filter((e) => JSON.stringify(e).includes(`${id}@example.com`)).length;

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
      emails: recipients(id),
    });
    expect({ thrown, 'bs-retried': await outcome('bs-retried'), 'bs-plain': await outcome('bs-plain') }).toEqual({
      thrown: [{ customer: 'bs-retried', name: 'TransientStepError' }],
      'bs-retried': { runs: ['completed'], messages: [['send-nudge', 'sent']], emails: 1 },
      'bs-plain': { runs: ['completed'], messages: [['send-nudge', 'sent']], emails: 1 },
    });
    expect(endpoint.unexpected).toEqual([]);
    expect(engine.deadLetters).toEqual([]);
  });
});

describe('the welcome journey on the bundled step ends for every customer as on the sources', () => {
  const HOUR = 3_600_000;
  const DAY = 24 * HOUR;
  const CUSTOMERS = 3;
  /** Sign-ups at 11:00 and 12:00 UTC, the first ordering the next day, and one at 22:00 UTC, in quiet hours (21:00-08:00). */
  function population(): Array<Record<string, unknown>> {
    const at = (ms: number) => new Date(ms).toISOString();
    return Array.from({ length: CUSTOMERS }, (_, i) => {
      const id = `bw-${i}`;
      const t = START + (i === 2 ? 12 : 1 + i) * HOUR;
      const order = i === 0 ? t + DAY + 2 * HOUR : undefined;
      return [
        { type: 'identify', userId: id, messageId: `${id}-id`, timestamp: at(t), traits: { email: `${id}@example.com` } },
        { type: 'track', userId: id, messageId: `${id}-su`, timestamp: at(t), event: 'Signed Up', properties: {} },
        ...(order === undefined ? [] : [{ type: 'track', userId: id, messageId: `${id}-o`, timestamp: at(order), event: 'Order Completed', properties: { orderId: `${id}-o`, revenue: 20, currency: 'EUR' } }]),
      ];
    }).flat();
  }
  async function replay(step: 'bundle' | 'sources') {
    const engine = await engineWith(step);
    const api = client(engine);
    const sent = scheduleEvents(current.clock!, (batch) => api.send(batch), population());
    await current.clock!.run(START + 5 * DAY);
    sent.check();
    const outcomes: Record<string, unknown> = {};
    for (let i = 0; i < CUSTOMERS; i++) {
      const id = `bw-${i}`;
      outcomes[id] = {
        runs: (await runsOf(engine, id)).map((r) => `${r.journeyId}:${r.status}`),
        messages: (await messagesOf(engine, id)).map((m) => `${(m as { at?: string }).at} ${m.stepId}:${m.status}${m.reason ? `:${m.reason}` : ''}`).sort(),
        emails: step === 'bundle' ? recipients(id) : outboxFor(engine, id).length,
      };
    }
    expect(engine.deadLetters).toEqual([]);
    return outcomes;
  }

  it('the same runs, message records and emails, customer by customer', async () => {
    const sources = await replay('sources');
    const emailsBefore = endpoint.emails.length;
    const bundle = await replay('bundle');

    // To the millisecond: the bundle runs on the engine's time, as the sources do.
    expect(bundle).toEqual(sources);
    // The welcome's story: a buyer the next day converted after two emails; the others offered a first order;
    // the one who signed up at 22:00 welcomed at 08:00, after quiet hours (virtual time, whatever the hour the test runs).
    expect(sources).toEqual({
      'bw-0': { runs: ['welcome:converted'], messages: ['2026-03-02T11:00:00.749Z send-welcome:sent', '2026-03-03T11:00:00.749Z send-getting-started:sent'], emails: 2 },
      'bw-1': {
        runs: ['welcome:completed'],
        messages: ['2026-03-02T12:01:01.618Z send-welcome:sent', '2026-03-03T12:01:01.618Z send-getting-started:sent', '2026-03-05T12:01:01.618Z send-first-order-offer:sent'],
        emails: 3,
      },
      'bw-2': {
        runs: ['welcome:completed'],
        messages: ['2026-03-03T08:00:00.000Z send-welcome:sent', '2026-03-04T08:00:00.000Z send-getting-started:sent', '2026-03-06T08:00:00.000Z send-first-order-offer:sent'],
        emails: 3,
      },
    });
    expect(endpoint.emails.length - emailsBefore).toBe(8);
    expect(endpoint.unexpected).toEqual([]);
  });
});
