import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { compileJourneys, writeJourneysFile } from '../../infra/cdk/journeys';
import { documentClient, ProfileStore } from '../../functions/profile';
import { JourneyStore } from '../../functions/journeys/store';
import { ensureTable, profileTableDefinition, startDynalite, type LocalDynamo } from '../../infra/embedded/dynamo';
import { ENV, INGEST_EVENT_SOURCE, type NormalisedEvent } from '../../shared';
import { JOURNEY_ENV } from '../../shared/config/journey-env';
import { loadJourneysFromDir } from '../../workflows/journeys';
import { ev } from '../helpers/events';
import { JOURNEYS_DIR, TEMPLATES_DIR, TEST_CONFIG_DIR, TEST_DELIVERY } from './synth';

/**
 * The profile consumer's Lambda entry point as deployed (functions/profile/consumer-handler.ts),
 * with its journey router: the real handler module, configured only through the
 * environment the stack sets, against dynalite. Step Functions and EventBridge
 * cannot run here: a local HTTP server answers for them (AWS_ENDPOINT_URL_SFN,
 * AWS_ENDPOINT_URL_EVENTBRIDGE) and records each request, which the tests assert.
 */

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const TABLE = 'rapport-profiles';
const arnOf = (journeyId: string) => `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:Rapport-${journeyId}`;

interface Recorded {
  target: string;
  body: Record<string, unknown>;
}

/** Answers the AWS JSON protocol of Step Functions and EventBridge, recording every call. */
function fakeAws(calls: Recorded[]): Server {
  return createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target']);
      const body = JSON.parse(text || '{}') as Record<string, unknown>;
      calls.push({ target, body });
      const reply =
        target === 'AWSEvents.PutEvents'
          ? { FailedEntryCount: 0, Entries: (body.Entries as unknown[]).map((_, i) => ({ EventId: `e-${i}` })) }
          : target === 'AWSStepFunctions.StopExecution'
            ? { stopDate: Date.now() / 1000 }
            : {};
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify(reply));
    });
  });
}

const busEvent = (detail: NormalisedEvent): EventBridgeEvent<string, unknown> => ({
  version: '0',
  id: `bus-${detail.messageId}`,
  'detail-type': detail.event ?? detail.type,
  source: INGEST_EVENT_SOURCE,
  account: ACCOUNT,
  time: detail.timestamp,
  region: REGION,
  resources: [],
  detail,
});

const lambdaContext = { functionName: 'rapport-profile', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

describe('AWS profile consumer: the journey router resumes waits and stops converted runs through the Step Functions API', () => {
  let dynamo: LocalDynamo;
  let server: Server;
  let scratch: string;
  let handler: (event: EventBridgeEvent<string, unknown>, context: Context) => Promise<unknown>;
  let store: JourneyStore;
  const calls: Recorded[] = [];
  const sfnCalls = () => calls.filter((call) => call.target.startsWith('AWSStepFunctions.'));

  beforeAll(async () => {
    dynamo = await startDynalite();
    await ensureTable(dynamo.client, profileTableDefinition(TABLE));
    store = new JourneyStore(documentClient(dynamo.client), TABLE);
    server = fakeAws(calls);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const fake = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    // journeys.json as synth writes it, from the repository's journeys.
    scratch = mkdtempSync(path.join(tmpdir(), 'rapport-router-'));
    const webhookTargets = Object.keys(TEST_DELIVERY.outboundWebhooks);
    const loaded = loadJourneysFromDir(JOURNEYS_DIR, TEMPLATES_DIR, { webhookTargets });
    const compiled = compileJourneys(loaded, `arn:aws:lambda:${REGION}:${ACCOUNT}:function:step`, webhookTargets);
    const journeysFile = writeJourneysFile(scratch, compiled);

    for (const [name, value] of Object.entries({
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SFN: fake,
      AWS_ENDPOINT_URL_EVENTBRIDGE: fake,
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      [ENV.PROFILE_TABLE_NAME]: TABLE,
      [ENV.EVENT_BUS_NAME]: 'rapport-bus',
      [ENV.CONFIG_DIR]: TEST_CONFIG_DIR,
      [ENV.CONSENT_MODE]: 'opt-out',
      [JOURNEY_ENV.JOURNEYS_FILE]: journeysFile,
      [JOURNEY_ENV.STATE_MACHINE_ARNS]: JSON.stringify(Object.fromEntries(compiled.map((journey) => [journey.id, arnOf(journey.id)]))),
    })) {
      vi.stubEnv(name, value);
    }
    vi.resetModules();
    ({ handler } = (await import('../../functions/profile/consumer-handler')) as unknown as { handler: typeof handler });
  }, 60_000);

  afterAll(async () => {
    vi.unstubAllEnvs();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await dynamo.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("stops a running welcome run on the customer's Order Completed (its goal), by execution ARN, and records the conversion", async () => {
    await store.putRun({
      journeyId: 'welcome',
      executionName: 'welcome-run-1',
      customerId: 'cust-goal',
      key: 'welcome',
      status: 'running',
      startedAt: '2026-11-20T10:00:00.000Z',
      triggerMessageId: 'signup-1',
    });
    calls.length = 0;

    await handler(busEvent(ev('Order Completed', '2026-11-21T10:00:00Z', { orderId: 'o-1', total: 20 }, { userId: 'cust-goal' })), lambdaContext);

    expect(sfnCalls()).toEqual([
      {
        target: 'AWSStepFunctions.StopExecution',
        body: { executionArn: `arn:aws:states:${REGION}:${ACCOUNT}:execution:Rapport-welcome:welcome-run-1`, cause: expect.stringMatching(/^goal: Order Completed/) },
      },
    ]);
    expect((await store.runs('cust-goal', 'welcome')).map((run) => run.status)).toEqual(['converted']);
  });

  it('resumes a complaint run waiting for Complaint Resolved of the same complaintId with SendTaskSuccess, once', async () => {
    await store.putWait('cust-wait', {
      event: 'Complaint Resolved',
      executionName: 'complaint-run-1',
      stepId: 'await-resolution',
      journeyId: 'complaint-follow-up',
      taskToken: 'token-abc',
      pattern: { detail: { properties: { complaintId: ['C-7'] } } },
      expiresAt: '2026-12-01T00:00:00.000Z',
    });
    calls.length = 0;

    // Another complaint of the same customer does not resume it.
    await handler(busEvent(ev('Complaint Resolved', '2026-11-21T11:00:00Z', { complaintId: 'C-8' }, { userId: 'cust-wait' })), lambdaContext);
    expect(sfnCalls()).toEqual([]);

    const resolved = ev('Complaint Resolved', '2026-11-21T12:00:00Z', { complaintId: 'C-7' }, { userId: 'cust-wait' });
    await handler(busEvent(resolved), lambdaContext);
    expect(sfnCalls()).toEqual([
      { target: 'AWSStepFunctions.SendTaskSuccess', body: { taskToken: 'token-abc', output: JSON.stringify({ event: 'Complaint Resolved', messageId: resolved.messageId }) } },
    ]);

    // A redelivery of the same event finds the wait taken: no second SendTaskSuccess.
    await handler(busEvent(resolved), lambdaContext);
    expect(sfnCalls()).toHaveLength(1);
  });

  it('keeps on the profile only the recent events its bundled tag rules and journeys read (here: the Order Completed goal)', async () => {
    const recently = (hours: number) => new Date(Date.now() - hours * 3_600_000).toISOString();
    await handler(busEvent(ev('Product Viewed', recently(3), { productId: 'p-1', category: 'baby' }, { userId: 'cust-keep' })), lambdaContext);
    await handler(busEvent(ev('Order Completed', recently(2), { orderId: 'o-1', revenue: 20, currency: 'EUR' }, { userId: 'cust-keep' })), lambdaContext);
    await handler(busEvent(ev('Complaint Filed', recently(1), { complaintId: 'C-1' }, { userId: 'cust-keep' })), lambdaContext);

    const stored = await new ProfileStore(documentClient(dynamo.client), TABLE).get('cust-keep');
    expect(stored?.profile.stats).toMatchObject({ eventCount: 3, orderCount: 1, complaintCount: 1 });
    // The fixture's tags read no events and the goals name no properties: only the goal event, bare.
    expect(stored?.profile.recentEvents.map((e) => ({ name: e.name, properties: e.properties }))).toEqual([{ name: 'Order Completed', properties: {} }]);
  });
});
