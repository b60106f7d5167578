/**
 * Issue 13: the twin tests what deploys. Every function of the engine (ingest, the profile consumer, the
 * starter, the step, run-ended, the sweep, the customer API, SES feedback) runs from the bundle `cdk synth`
 * produces for it (the whole stack synthesized with its bundles, each found as its code asset in the cloud
 * assembly), loaded with the environment the template gives it, its AWS calls authorised by its own role in
 * that template (`twinEndpoint`) and served by the engine. A population runs the built-in journeys on it and on
 * the same engine running the sources, with the same roles and AWS delivery semantics; every customer must end
 * the same: the same runs, message records (with their times), emails and webhooks, and profile.
 *
 * The population: a welcome; a buyer converting the welcome; a complaint resolved at once; a lapsed customer
 * won back by the sweep (Customer Became Inactive, a derived event, through the starter); an erasure while the
 * welcome runs (the customer API stopping the run); an SES complaint on a welcome email (the SES feedback
 * function); a hard bounce reported to ingest (its consent hold suppressing the next emails); a welcome whose
 * step's DynamoDB calls fail once (TransientStepError, retried by the state machines' Retry by that name).
 *
 * A minified name, a missing grant or a bundling bug makes a customer end differently, and the test fails:
 * `RAPPORT_TWIN_WITHOUT=rapport-starter:states:StartExecution` (a grant dropped from the template both runs
 * use) fails it on the lapsed customer, who is never won back; `rapport-steps:ses:SendEmail` fails every email
 * (AccessDeniedException from SES); `rapport-steps:secretsmanager:GetSecretValue` fails the sends that need the
 * unsubscribe key or a webhook's signing secret; `keepNames: false` in infra/cdk/function.ts
 * fails it on ab-retried, whose step throws `oA`, which no Retry matches: the run fails.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDEMPOTENCY_TABLE, PROFILE_TABLE, type Engine } from '../../infra/embedded/engine';
import type { DynamoCall } from '../../infra/embedded/faults';
import { ENGINE_FUNCTIONS, type FunctionHandlers } from '../../infra/embedded/functions';
import { invokingFunction } from '../../infra/embedded/lambda-async';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { ENV } from '../../shared';
import { client } from '../helpers/client';
import { startTestEngine, TEST_SECRET, TEST_WRITE_KEY } from '../helpers/engine';
import { messagesOf, outboxFor, runsOf } from '../helpers/journeys';
import { scheduleEvents } from '../helpers/virtual';
import { interceptWebhooks, loadBundledHandlers, synthBundledStack, twinEndpoint, webhooks, type BundledStack, type TwinEndpoint } from './bundles';
import { loadIam } from './engine';
import type { TwinIam } from './iam';
import { Deployed, withoutGrant } from './template';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const START = Date.parse('2026-03-02T10:00:00Z');
const END = START + 32 * DAY;
/** When ab-erased is erased: two days into the welcome, between its emails. */
const ERASED_AT = START + 2 * DAY + 6 * HOUR;
const CUSTOMERS = ['ab-welcome', 'ab-buyer', 'ab-complaint', 'ab-lapsed', 'ab-erased', 'ab-ses', 'ab-bounced', 'ab-retried'] as const;
/**
 * ab-retried: every DynamoDB call the step makes for them fails (500, past the SDK's retries) at the first virtual
 * instant one does, in both runs: the step throws TransientStepError, which the state machine retries by its name.
 */
const RETRIED = 'ab-retried';
let failingAt: number | undefined;
const stepFault = (functionName: string | undefined, body: unknown): boolean => {
  if (functionName !== 'rapport-steps' || !JSON.stringify(body).includes(`C#${RETRIED}`)) return false;
  const now = current.clock!.now().getTime();
  failingAt ??= now;
  return now === failingAt;
};

let folder: string;
let stack: BundledStack;
let iam: TwinIam;
let endpoint: TwinEndpoint;
let bundled: FunctionHandlers;
let current: { engine?: Engine; clock?: VirtualClock } = {};
/** The name of each error the bundled step threw, as Lambda reports it to Step Functions. */
const thrown: string[] = [];

beforeAll(async () => {
  folder = mkdtempSync(path.join(tmpdir(), 'rapport-twin-all-'));
  const started = Date.now();
  stack = await synthBundledStack(folder);
  // A grant removed on purpose shows what it is for (e.g. rapport-starter:states:StartExecution).
  for (const removal of (process.env.RAPPORT_TWIN_WITHOUT ?? '').split(',').filter(Boolean)) {
    const [fn, ...action] = removal.split(':');
    stack = { ...stack, template: withoutGrant(stack.template, fn!, action.join(':')) };
  }
  iam = await loadIam(stack.template);
  endpoint = await twinEndpoint({
    engine: () => current.engine!,
    authorize: iam.authorize,
    // The starter and the consumer start runs through each journey's alias: only those the template deploys exist.
    aliasArns: new Deployed(stack.template).aliasArns(),
    fault: ({ functionName, body }) => (stepFault(functionName, body) ? 'InternalServerError' : undefined),
    // The ingest's source secret: the test engine's default source; any other secret, the fixed key.
    secret: (id) => (id.includes('SourceSecretdefault') ? JSON.stringify({ webhookSecrets: [TEST_SECRET], writeKeys: [TEST_WRITE_KEY] }) : undefined),
  });
  interceptWebhooks(stack.template);
  bundled = await loadBundledHandlers(stack, endpoint.url, () => current.clock!, { [ENV.PROFILE_TABLE_NAME]: PROFILE_TABLE, [ENV.IDEMPOTENCY_TABLE_NAME]: IDEMPOTENCY_TABLE });
  const step = bundled['rapport-steps']!;
  bundled['rapport-steps'] = async (event, context) => {
    try {
      return await step(event, context);
    } catch (error) {
      thrown.push((error as Error).name);
      throw error;
    }
  };
  console.info(`the stack synthesized with its bundles and every bundle loaded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}, 240_000);
afterAll(async () => {
  await current.engine?.stop();
  await endpoint?.close();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

/** A twin engine on virtual time from START, with the stack's roles: every function from its bundle, or from the sources. */
async function engineWith(functions: 'bundles' | 'sources'): Promise<Engine> {
  await current.engine?.stop();
  const clock = new VirtualClock(START);
  const engine = await startTestEngine({
    clock,
    // Signatures are checked at the engine's time, as the bundled ingest checks them (the client signs at it).
    signatureClock: clock,
    authorize: iam.authorize,
    logLevel: 'SILENT',
    ...(functions === 'bundles' ? { functions: bundled } : { faults: { dynamo: (call: DynamoCall) => (stepFault(invokingFunction(), call.input) ? 'InternalServerError' : undefined) } }),
    twin: { seed: 5, maxDelayMs: 10_000, duplicateProbability: 0.2 },
  });
  current = { engine, clock };
  return engine;
}

/** Each customer's story, as a sender tells it (events at their times); erasure and SES feedback are scheduled apart. */
function population(): Array<Record<string, unknown>> {
  const at = (ms: number) => new Date(ms).toISOString();
  const events: Array<Record<string, unknown>> = [];
  const identify = (id: string, t: number) => events.push({ type: 'identify', userId: id, messageId: `${id}-id`, timestamp: at(t), traits: { email: `${id}@example.com`, name: id } });
  const track = (id: string, suffix: string, t: number, event: string, properties: Record<string, unknown> = {}) =>
    events.push({ type: 'track', userId: id, messageId: `${id}-${suffix}`, timestamp: at(t), event, properties });
  const signUp = (id: string, t: number) => (identify(id, t), track(id, 'su', t, 'Signed Up', { method: 'email' }));

  signUp('ab-welcome', START + 1 * HOUR);
  signUp('ab-buyer', START + 2 * HOUR);
  track('ab-buyer', 'o', START + DAY + 2 * HOUR, 'Order Completed', { orderId: 'ab-buyer-o', revenue: 20, currency: 'EUR' });
  identify('ab-complaint', START + 3 * HOUR);
  track('ab-complaint', 'cf', START + 4 * HOUR, 'Complaint Filed', { complaintId: 'ab-c', category: 'delivery' });
  track('ab-complaint', 'cr', START + 4 * HOUR + 1000, 'Complaint Resolved', { complaintId: 'ab-c', resolution: 'refund' });
  // Ordered 89 days ago: dormant a day on, when the daily sweep publishes Customer Became Inactive (win-back).
  identify('ab-lapsed', START + 5 * HOUR);
  track('ab-lapsed', 'o', START - 89 * DAY, 'Order Completed', { orderId: 'ab-lapsed-o', revenue: 40, currency: 'EUR' });
  signUp('ab-erased', START + 6 * HOUR);
  signUp('ab-ses', START + 7 * HOUR);
  signUp('ab-bounced', START + 8 * HOUR);
  signUp(RETRIED, START + 9 * HOUR);
  track('ab-bounced', 'mb', START + 9 * HOUR, 'Message Bounced', { channel: 'email', bounceType: 'hard' });
  return events;
}

interface Outcome {
  runs: string[];
  messages: string[];
  emails: string[];
  webhooks: number;
  profile: unknown;
}

/** Replay the population until every journey is done; each customer's outcome. */
async function replay(functions: 'bundles' | 'sources'): Promise<Record<string, Outcome>> {
  const started = Date.now();
  failingAt = undefined;
  const engine = await engineWith(functions);
  const clock = current.clock!;
  const api = client(engine);
  const webhooksBefore = webhooks.length;
  const sent = scheduleEvents(clock, (batch) => api.send(batch, { timestamp: clock.now() }), population());
  // An hour after the sign-up, the welcome email bounces back as a complaint (SES publishes it; the feedback function maps it).
  clock.schedule(START + 8 * HOUR, () => {
    const email = outboxFor(engine, 'ab-ses').find((m) => m.channel === 'email');
    if (!email) throw new Error(`ab-ses got no email to complain about (calls IAM denied: ${[...new Set(endpoint.denied)].join(', ') || 'none'})`);
    engine.feedback(email.outboxId, { type: 'complaint' });
  });
  // Erased two days into the welcome (between its emails): the customer API stops the run, then deletes everything.
  clock.schedule(ERASED_AT, () => void clock.track(api.del('/v1/customers/ab-erased')));
  await clock.run(END);
  sent.check();
  const outcomes: Record<string, Outcome> = {};
  for (const id of CUSTOMERS) {
    // The Retry's backoff has full jitter (drawn by the executor): ab-retried's times differ from one run to the next.
    const timeless = (line: string) => (id === RETRIED ? line.replace(/^\S+ /, '') : line);
    const customer = await api.get(`/v1/customers/${id}`);
    const { traits, consent, suppression, stats, lifecycleStage, tags, firstSeenAt, lastSeenAt } = customer.json as Record<string, unknown>;
    outcomes[id] = {
      runs: (await runsOf(engine, id)).map((r) => `${r.journeyId}:${r.status}`).sort(),
      messages: (await messagesOf(engine, id))
        .map((m) => {
          const record = m as typeof m & { at?: string; complainedAt?: string; bouncedAt?: string };
          return timeless(`${record.at} ${m.journeyId}/${m.stepId}:${m.status}${m.reason ? `:${m.reason}` : ''}${record.complainedAt ? ` complained ${record.complainedAt}` : ''}`);
        })
        .sort(),
      // The engine's outbox forgets an erased customer's emails (its own redaction: SES does not): those after the erasure, then.
      emails: outboxFor(engine, id)
        .filter((m) => m.channel === 'email' && (id !== 'ab-erased' || Date.parse(m.at) > ERASED_AT))
        .map((m) => timeless(`${m.at} ${m.step} to ${(m as { to?: string }).to}`))
        .sort(),
      webhooks: functions === 'bundles' ? webhooks.slice(webhooksBefore).filter((w) => w.body.includes(`"${id}"`)).length : outboxFor(engine, id).filter((m) => m.channel === 'webhook').length,
      profile: customer.status === 200 ? { traits, consent, suppression, stats, lifecycleStage, tags, firstSeenAt, lastSeenAt } : customer.status,
    };
  }
  expect(engine.deadLetters, `${functions}: dead letters`).toEqual([]);
  console.info(`${CUSTOMERS.length} customers over ${(END - START) / DAY} days from the ${functions}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return outcomes;
}

describe('every function from its bundle: the built-in journeys end for every customer as on the sources', () => {
  let sources: Record<string, Outcome>;
  let bundles: Record<string, Outcome>;
  beforeAll(async () => {
    sources = await replay('sources');
    bundles = await replay('bundles');
  }, 180_000);

  it('the sources tell each story', () => {
    expect(sources).toMatchObject({
      'ab-welcome': { runs: ['welcome:completed'] },
      'ab-buyer': { runs: ['welcome:converted'] },
      'ab-complaint': { runs: ['complaint-follow-up:completed'] },
      'ab-lapsed': { runs: ['win-back:completed'] },
      'ab-erased': { runs: [], messages: [], emails: [], profile: 404 },
      'ab-ses': { runs: ['welcome:completed'], messages: expect.arrayContaining([expect.stringMatching(/send-welcome:sent complained /)]) as unknown },
      'ab-bounced': { runs: ['welcome:completed'], messages: expect.arrayContaining([expect.stringMatching(/:skipped:suppressed$/)]) as unknown },
      [RETRIED]: { runs: ['welcome:completed'], messages: expect.arrayContaining(['welcome/send-welcome:sent']) as unknown },
    });
  });

  it('the bundles end every customer as the sources do: runs, message records, emails, webhooks, profile', () => {
    for (const id of CUSTOMERS) expect(bundles[id], id).toEqual(sources[id]);
  });

  it('the bundled step threw TransientStepError under that name, and the state machine retried it', () => {
    // Without esbuild's keepNames the name is minified: no Retry matches, ab-retried's run fails, and the comparison above fails too.
    expect(thrown).toEqual(['TransientStepError']);
  });

  it('every bundled function ran, each call authorised by its own role; nothing the twin cannot serve', () => {
    // Every function's bundle called AWS (the endpoint): none ran from the sources.
    expect([...endpoint.callers.keys()].sort()).toEqual([...ENGINE_FUNCTIONS].sort());
    for (const operation of ['AWSStepFunctions.StartExecution', 'AWSStepFunctions.StopExecution', 'AWSEvents.PutEvents', 'secretsmanager.GetSecretValue']) {
      expect(endpoint.served.get(operation) ?? 0, operation).toBeGreaterThan(0);
    }
    expect(endpoint.denied).toEqual([]);
    expect(endpoint.unexpected).toEqual([]);
  });

  it('SES and Secrets Manager calls are authorised too: on the identity and configuration set, on each secret', () => {
    const allowed = (functionName: string, action: string) => iam.decisions.filter((d) => d.functionName === functionName && d.action === action && d.allowed).map((d) => d.resource.replace(/^arn:aws:[a-z]+:[a-z0-9-]+:\d+:/, ''));
    expect(allowed('rapport-steps', 'ses:SendEmail').sort()).toEqual(['configuration-set/rapport-twin', 'identity/shop.example']);
    expect(allowed('rapport-steps', 'secretsmanager:GetSecretValue').length).toBeGreaterThan(0);
    expect(allowed('rapport-ingest', 'secretsmanager:GetSecretValue').length).toBeGreaterThan(0);
    expect(endpoint.served.get('POST /v2/email/outbound-emails') ?? 0).toBeGreaterThan(0);
  });
});
