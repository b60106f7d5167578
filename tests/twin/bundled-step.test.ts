/**
 * Issue 13 item 1, end to end on what deploys: the step Lambda runs from the bundle synth produces (minified
 * as in AWS), inside the engine, under the compiled ASL. A step whose DynamoDB calls fail (500, past the SDK's
 * own retries) throws TransientStepError; the state machine's Retry matches it by name, and the retried step
 * sends the message once. Bundled without esbuild's keepNames, the error is thrown under a minified name, no
 * Retry matches, and the run fails: this test fails (checked by turning keepNames off in infra/cdk/function.ts).
 *
 * Covered: the step handler's code (middy, parsing, the step runner, the error mapping, the AWS SDK, the
 * channels) as bundled, with its DynamoDB calls authorised by its role in the template. Not covered here: the
 * other functions (starter, consumer, run-ended, ingest) still run from the sources, and the bundled step
 * reads the system clock (its own `systemClock`), not the engine's virtual one, so quiet hours are off for it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PROFILE_TABLE, type Engine } from '../../infra/embedded/engine';
import type { StepLambdaHandler } from '../../infra/embedded/journeys';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { ENV } from '../../shared';
import { JOURNEY_ENV } from '../../shared/config/journey-env';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { messagesOf, runsOf } from '../helpers/journeys';
import { loadBundledStepHandler, twinEndpoint, type TwinEndpoint } from './bundles';
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

describe('the bundled step function under the compiled ASL: a TransientStepError is retried by its name', () => {
  let clock: VirtualClock;
  let engine: Engine;
  let endpoint: TwinEndpoint;
  let journeysDir: string;
  /** The name of each error the bundled handler threw, as Lambda reports it to Step Functions. */
  const thrown: Array<{ customer: string; name: string }> = [];
  /** Customers whose DynamoDB calls from the step fail until the step has failed once. */
  const failing = new Set(['bs-retried']);

  beforeAll(async () => {
    journeysDir = mkdtempSync(path.join(tmpdir(), 'rapport-twin-bundled-'));
    writeFileSync(path.join(journeysDir, 'nudge.yaml'), NUDGE);
    const authorize = await twinAuthorizer();
    let dynalite = '';
    endpoint = await twinEndpoint({
      functionName: 'rapport-steps',
      dynaliteEndpoint: () => dynalite,
      ...(authorize && { authorize }),
      fault: ({ body }) => {
        const text = JSON.stringify(body);
        return [...failing].some((customer) => text.includes(`C#${customer}`)) ? 'InternalServerError' : undefined;
      },
    });
    const bundled = await loadBundledStepHandler(inject('twinStepBundle'), inject('twinTemplate'), endpoint.url, (env) => ({
      [ENV.PROFILE_TABLE_NAME]: PROFILE_TABLE,
      // The bundle reads the system clock, not the engine's virtual one: quiet hours would depend on the hour the test runs.
      [JOURNEY_ENV.SEND_POLICY]: JSON.stringify({ ...(JSON.parse(env[JOURNEY_ENV.SEND_POLICY] ?? '{}') as object), quietHours: null }),
    }));
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
    clock = new VirtualClock(START);
    engine = await startTestEngine({ clock, journeysDir, sweepEveryMs: 0, logLevel: 'SILENT', stepHandler, twin: { seed: 3, maxDelayMs: 10_000, duplicateProbability: 0.2 } });
    dynalite = engine.dynamo.endpoint;
  }, 60_000);
  afterAll(async () => {
    await engine?.stop();
    await endpoint?.close();
    rmSync(journeysDir, { recursive: true, force: true });
  });

  it('sends once after the retry; a customer without faults is sent to at the first attempt', async () => {
    const api = client(engine);
    const customers = ['bs-retried', 'bs-plain'];
    await api.send(customers.flatMap((id) => [{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Nudge Requested', properties: {} }]));
    await clock.run(START + 60 * 60_000);

    // The step failed once, under the name the state machines' Retry lists, and was retried: both runs
    // completed, each message sent once (without keepNames: a minified name, no retry, a failed run, no email).
    const outcome = async (id: string) => ({
      runs: (await runsOf(engine, id)).map((r) => r.status),
      messages: (await messagesOf(engine, id)).map((m) => [m.stepId, m.status]),
      emails: endpoint.emails.filter((e) => JSON.stringify(e).includes(`${id}@example.com`)).length,
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
