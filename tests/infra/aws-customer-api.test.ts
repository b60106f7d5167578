import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context, EventBridgeEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ingestClaimKey, powertoolsDeduplicator } from '../../functions/ingest/dedupe';
import { documentClient, ProfileStore } from '../../functions/profile';
import { JourneyStore, type MessageRecord } from '../../functions/journeys/store';
import { ENV } from '../../shared';
import { ACCOUNT, aliasArn, busEvent, IDEMPOTENCY_TABLE, REGION, httpApiEvent, startAwsStandIn, TABLE, type AwsCall, type AwsStandIn } from '../helpers/aws';
import { ev, identify } from '../helpers/events';

/**
 * The customer admin API's Lambda entry point as deployed (functions/profile/api-handler.ts),
 * configured only through the environment the stack gives it, against dynalite.
 * Customers are made, and enrolled in the journeys their events trigger, by the deployed
 * profile consumer (its entry point too). Step Functions and EventBridge cannot run here:
 * a local HTTP server answers for them (AWS_ENDPOINT_URL_SFN, AWS_ENDPOINT_URL_EVENTBRIDGE)
 * and records each request, with the customer's items in the table at that moment.
 */

interface Recorded extends AwsCall {
  /** Sort keys of the customer's items (partition `C#<customer>`) when a StopExecution arrived. */
  itemsAtStop?: string[];
}

type Handler<E, R> = (event: E, context: Context) => Promise<R>;
const lambdaContext = { functionName: 'rapport-customers', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 29_000 } as unknown as Context;

/** A request as the HTTP API (payload 2.0) hands it to the function. */
const apiRequest = (method: string, rawPath: string) => httpApiEvent(rawPath, undefined, { method });

describe('AWS customer API: erasure stops running journeys first; messages and journeys of a customer', () => {
  let aws: AwsStandIn<Recorded>;
  let profiles: ProfileStore;
  let journeyStore: JourneyStore;
  let api: Handler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;
  let consumer: Handler<EventBridgeEvent<string, unknown>, unknown>;
  /** The consumer's afterApply (router, then enrolment), as the deployed consumer runs it after applying an event. */
  let router: (event: EventBridgeEvent<string, unknown>, customerId: string) => Promise<unknown>;
  /** Execution names whose StopExecution the stand-in refuses (a Step Functions outage). */
  const refuseStop = new Set<string>();
  /** Execution names Step Functions does not know (their StartExecution never went through): StopExecution answers ExecutionDoesNotExist. */
  const missing = new Set<string>();
  const sfnCalls = () => aws.sfnCalls();
  const sortKeysOf = async (customerId: string) => (await profiles.allItems(customerId)).map((item) => String(item.SK)).sort();

  /** On StopExecution, the stand-in snapshots the customer's items, and refuses the runs in `refuseStop`. */
  async function onStopExecution(call: Recorded): Promise<'stop' | 'refuse' | 'missing'> {
    const executionArn = String(call.body.executionArn);
    if (missing.has(executionArn.slice(executionArn.lastIndexOf(':') + 1))) return 'missing';
    // executionArn = arn:aws:states:<region>:<account>:execution:<machine>:<name>; the customer is in the recorded run.
    const run = (await journeyStore.runs(String(currentCustomer))).find((r) => executionArn.endsWith(`:${r.executionName}`));
    call.itemsAtStop = await sortKeysOf(String(currentCustomer));
    return run && refuseStop.has(run.executionName) ? 'refuse' : 'stop';
  }
  /** The customer the current test erases (the stand-in snapshots their items on StopExecution). */
  let currentCustomer: string | undefined;

  beforeAll(async () => {
    // The stack also sets the stage on the customer API (and on the consumer and starter, which share its environment).
    aws = await startAwsStandIn<Recorded>({ onStopExecution, env: { [ENV.STAGE]: 'dev' } });
    const doc = documentClient(aws.dynamo.client);
    profiles = new ProfileStore(doc, TABLE);
    journeyStore = new JourneyStore(doc, TABLE);
    ({ handler: api } = (await import('../../functions/profile/api-handler')) as unknown as { handler: typeof api });
    ({ handler: consumer } = (await import('../../functions/profile/consumer-handler')) as unknown as { handler: typeof consumer });
    router = (await import('../../functions/journeys/aws')).awsJourneyRouter();
  }, 60_000);

  afterAll(() => aws.close());

  beforeEach(() => {
    aws.calls.length = 0;
    refuseStop.clear();
    missing.clear();
  });

  /** A customer signs up: the consumer makes the profile and enrols them in welcome; the execution's ARN. */
  async function signUp(customerId: string): Promise<string> {
    const signedUp = busEvent(ev('Signed Up', '2026-11-20T10:00:00Z', { plan: 'free' }, { userId: customerId, traits: { email: `${customerId}@shop.example` } }));
    await consumer(signedUp, lambdaContext);
    const starts = sfnCalls().filter((call) => call.target === 'AWSStepFunctions.StartExecution' && call.body.stateMachineArn === aliasArn('welcome'));
    expect(starts).toHaveLength(1);
    aws.calls.length = 0;
    return `arn:aws:states:${REGION}:${ACCOUNT}:execution:Rapport-test_welcome:${String(starts[0]?.body.name)}`;
  }

  /** What the step function records when it sends the welcome email (it cannot run here). */
  async function welcomeSent(customerId: string, executionArn: string): Promise<MessageRecord> {
    const record: MessageRecord = {
      journeyId: 'welcome',
      stepId: 'send-welcome',
      executionName: executionArn.slice(executionArn.lastIndexOf(':') + 1),
      channel: 'email',
      template: 'welcome',
      kind: 'marketing',
      status: 'sent',
      providerId: 'ses-1',
      at: '2026-11-20T10:00:05.000Z',
    };
    await journeyStore.recordMessage(customerId, record);
    return record;
  }

  const call = async (method: string, rawPath: string) => {
    const response = await api(apiRequest(method, rawPath), lambdaContext);
    return { status: response.statusCode, body: JSON.parse(String(response.body)) as Record<string, unknown> };
  };

  it("GET .../messages and .../journeys return the customer's message records and runs", async () => {
    const executionArn = await signUp('cust-read');
    const sent = await welcomeSent('cust-read', executionArn);

    const messages = await call('GET', '/v1/customers/cust-read/messages');
    const journeys = await call('GET', '/v1/customers/cust-read/journeys');

    expect(messages).toEqual({ status: 200, body: { customerId: 'cust-read', messages: [expect.objectContaining(sent)] } });
    expect(journeys).toEqual({
      status: 200,
      body: {
        customerId: 'cust-read',
        runs: [expect.objectContaining({ journeyId: 'welcome', customerId: 'cust-read', status: 'running', executionName: sent.executionName, key: '*' })],
        skipped: [],
      },
    });
    // Records as the API shows them, not as the table keys them.
    for (const body of [messages.body, journeys.body]) expect(JSON.stringify(body)).not.toMatch(/"(PK|SK|itemType|ttl)"/);
    expect(await call('GET', '/v1/customers/nobody/journeys')).toMatchObject({ status: 404, body: { error: 'customer_not_found' } });
    expect(sfnCalls()).toEqual([]); // reading stops nothing
  });

  it("DELETE stops the customer's running journey by its exact execution ARN before deleting anything, then nothing of the customer is left", async () => {
    const executionArn = await signUp('cust-erase');
    await welcomeSent('cust-erase', executionArn);
    // An event received just now, and its idempotency record as the ingest function leaves it (Powertools, COMPLETED).
    const now = new Date().toISOString();
    await consumer(busEvent(ev('Product Viewed', now, { productId: 'p-1' }, { userId: 'cust-erase', messageId: 'cust-erase-view', receivedAt: now })), lambdaContext);
    const viewed = (await profiles.listEvents(['cust-erase'], new Date())).find((e) => e.messageId === 'cust-erase-view')!;
    const dedupe = powertoolsDeduplicator(new DynamoDBPersistenceLayer({ tableName: IDEMPOTENCY_TABLE, awsSdkV3Client: aws.dynamo.client }));
    expect(await dedupe.claim(ingestClaimKey(viewed), 30_000)).toBe('new');
    await dedupe.complete(ingestClaimKey(viewed));
    const idempotencyRecords = async () => (await aws.dynamo.client.send(new ScanCommand({ TableName: IDEMPOTENCY_TABLE }))).Items?.length;
    expect(await idempotencyRecords()).toBe(1);
    const before = await sortKeysOf('cust-erase');
    currentCustomer = 'cust-erase';

    const erased = await call('DELETE', '/v1/customers/cust-erase');

    // Everything but the run's lock, which stopping the run freed.
    expect(before.filter((sk) => sk.startsWith('L#'))).toHaveLength(1);
    expect(erased).toEqual({ status: 200, body: { erased: 'cust-erase', itemsDeleted: before.length - 1 } });
    expect(sfnCalls()).toEqual([
      { target: 'AWSStepFunctions.StopExecution', body: { executionArn, cause: 'customer erased' }, itemsAtStop: expect.any(Array) as unknown },
    ]);
    // At the stop, the profile, the run, its lock and the message were all still there: the run is
    // marked stopped only once Step Functions has stopped it, so a failed stop leaves it to a retry.
    const atStop = sfnCalls()[0]?.itemsAtStop ?? [];
    expect(atStop).toEqual(expect.arrayContaining(['P', `R#welcome#${executionArn.slice(executionArn.lastIndexOf(':') + 1)}`, expect.stringMatching(/^M#/)]));
    expect(atStop.some((sk) => sk.startsWith('L#'))).toBe(true);
    expect(await sortKeysOf('cust-erase')).toEqual([]);
    // The idempotency record stays (a hash, no customer data): a sender's retry is a duplicate at the door.
    expect(await idempotencyRecords()).toBe(1);
    expect(await journeyStore.runs('cust-erase')).toEqual([]);
    expect(await call('GET', '/v1/customers/cust-erase')).toMatchObject({ status: 404 });
  });

  it('after DELETE, a late or replayed old event is dropped at the consumer Lambda; one dated and received after the erasure starts a clean profile', async () => {
    await signUp('cust-back');
    expect((await call('DELETE', '/v1/customers/cust-back')).status).toBe(200);
    const erasedAt = Date.now();
    // Late (dated before the erasure, received after it) and replayed (received before it) events: dropped.
    const past = new Date(erasedAt - 60_000).toISOString();
    const future = new Date(erasedAt + 60_000).toISOString();
    const late = ev('Product Viewed', past, { productId: 'p-1' }, { userId: 'cust-back', messageId: 'cust-back-late', receivedAt: future, traits: { email: 'old@shop.example' } });
    const replayed = ev('Product Viewed', future, { productId: 'p-2' }, { userId: 'cust-back', messageId: 'cust-back-replay', receivedAt: past });
    expect(await consumer(busEvent(late), lambdaContext)).toMatchObject({ status: 'dropped', reason: 'erased' });
    expect(await consumer(busEvent(replayed), lambdaContext)).toMatchObject({ status: 'dropped', reason: 'erased' });
    expect(await sortKeysOf('cust-back')).toEqual([]);

    // A customer who really comes back: a new, clean profile, and old events still do not reach it.
    const back = ev('Signed Up', future, { plan: 'pro' }, { userId: 'cust-back', messageId: 'cust-back-new', receivedAt: future, traits: { name: 'Back' } });
    expect(await consumer(busEvent(back), lambdaContext)).toMatchObject({ status: 'applied' });
    expect(await consumer(busEvent({ ...late, messageId: 'cust-back-late-2' }), lambdaContext)).toMatchObject({ status: 'dropped', reason: 'erased' });
    const profile = await call('GET', '/v1/customers/cust-back');
    expect(profile).toMatchObject({ status: 200, body: { id: 'cust-back', stats: { eventCount: 1 } } });
    expect(JSON.stringify(profile.body)).not.toContain('@shop.example');
  });

  it('a consumer write racing the eraser (after its tombstone, before its query saw it) is undone by the writer', async () => {
    await signUp('cust-race');
    // The eraser writes its tombstone, then (between) an event is applied, then it queries and deletes:
    // simulated by applying the event after DELETE's tombstone and reading what is left.
    const { ProfileStore: Store } = await import('../../functions/profile');
    const raced = new Store(documentClient(aws.dynamo.client), TABLE);
    const lateEvent = ev('Product Viewed', new Date(Date.now() - 60_000).toISOString(), { productId: 'p-9' }, { userId: 'cust-race', messageId: 'cust-race-late', traits: { email: 'race@shop.example' } });
    let between: unknown;
    await raced.erase('cust-race', { now: () => new Date() }, { between: async () => { between = await consumer(busEvent(lateEvent), lambdaContext); } });
    expect(between).toMatchObject({ status: 'dropped', reason: 'erased' });
    expect(await sortKeysOf('cust-race')).toEqual([]);
  });

  it('a journey start racing the eraser (after its tombstone and its stop of the runs) starts nothing and leaves nothing', async () => {
    // The profile consumer has applied the sign-up (it found no tombstone) and is about to enrol the customer.
    await consumer(busEvent(identify('2026-11-20T10:59:00Z', { email: 'start-race@shop.example' }, { userId: 'cust-start-race' })), lambdaContext);
    const signedUp = busEvent(ev('Signed Up', '2026-11-20T11:00:00Z', { plan: 'pro' }, { userId: 'cust-start-race', traits: { email: 'start-race@shop.example' } }));
    // The eraser has written its tombstone and stopped the runs it found (none yet); the consumer enrols now:
    // it sees the tombstone before starting (a trigger of the erased life), so no execution ever runs.
    // (A tombstone written after that check, before the start, is the write-then-check's: it stops and undoes.)
    let outcome: unknown;
    await profiles.erase('cust-start-race', { now: () => new Date() }, { between: async () => void (outcome = await router(signedUp, 'cust-start-race')) });
    expect(JSON.stringify(outcome)).toContain('erased');
    expect(sfnCalls().filter((c) => c.target === 'AWSStepFunctions.StartExecution')).toEqual([]);
    expect(await sortKeysOf('cust-start-race')).toEqual([]);
  });

  it('DELETE of a customer whose runs have all ended calls Step Functions not at all', async () => {
    const executionArn = await signUp('cust-done');
    await journeyStore.endRun('cust-done', 'welcome', executionArn.slice(executionArn.lastIndexOf(':') + 1), 'completed', '2026-11-23T10:00:00.000Z');

    expect(await call('DELETE', '/v1/customers/cust-done')).toMatchObject({ status: 200, body: { erased: 'cust-done' } });
    expect(sfnCalls()).toEqual([]);
    expect(await sortKeysOf('cust-done')).toEqual([]);
  });

  it('DELETE of a customer whose recorded run has no execution (its start never went through) erases them', async () => {
    const executionArn = await signUp('cust-no-exec');
    missing.add(executionArn.slice(executionArn.lastIndexOf(':') + 1));
    currentCustomer = 'cust-no-exec';

    expect(await call('DELETE', '/v1/customers/cust-no-exec')).toMatchObject({ status: 200, body: { erased: 'cust-no-exec' } });
    expect(sfnCalls().map((c) => c.target)).toEqual(['AWSStepFunctions.StopExecution']);
    expect(await sortKeysOf('cust-no-exec')).toEqual([]);
  });

  it('a goal event for a run whose execution does not exist ends the run without failing the consumer', async () => {
    const executionArn = await signUp('cust-no-exec-goal');
    const name = executionArn.slice(executionArn.lastIndexOf(':') + 1);
    missing.add(name);
    const order = ev('Order Completed', '2026-11-20T12:00:00Z', { orderId: 'o-1', revenue: 10, currency: 'EUR' }, { userId: 'cust-no-exec-goal', messageId: 'cust-no-exec-goal-order' });

    await consumer(busEvent(order), lambdaContext);
    expect(sfnCalls().map((c) => c.target)).toEqual(['AWSStepFunctions.StopExecution']);
    expect((await journeyStore.runs('cust-no-exec-goal')).map((r) => [r.executionName, r.status])).toEqual([[name, 'converted']]);
    // The goal redelivered stops it again, and tolerates the same answer.
    await consumer(busEvent(order), lambdaContext);
    expect(sfnCalls().map((c) => c.target)).toEqual(['AWSStepFunctions.StopExecution', 'AWSStepFunctions.StopExecution']);
  });

  it('DELETE answers 503 and deletes nothing when Step Functions refuses the stop', async () => {
    const executionArn = await signUp('cust-outage');
    refuseStop.add(executionArn.slice(executionArn.lastIndexOf(':') + 1));
    currentCustomer = 'cust-outage';
    const before = await sortKeysOf('cust-outage');

    expect(await call('DELETE', '/v1/customers/cust-outage')).toMatchObject({ status: 503, body: { error: 'unavailable' } });
    expect(sfnCalls().map((c) => c.target)).toContain('AWSStepFunctions.StopExecution');
    expect(await sortKeysOf('cust-outage')).toContain('P');
    // Nothing changed, the lock included: the run still reads running.
    expect(await sortKeysOf('cust-outage')).toEqual(before);
    expect((await journeyStore.runs('cust-outage')).map((r) => r.status)).toEqual(['running']);

    // When Step Functions is back, the operator's retry stops the execution and erases everything.
    refuseStop.clear();
    const stopsBefore = sfnCalls().filter((c) => c.target === 'AWSStepFunctions.StopExecution').length;
    expect(await call('DELETE', '/v1/customers/cust-outage')).toMatchObject({ status: 200 });
    expect(sfnCalls().filter((c) => c.target === 'AWSStepFunctions.StopExecution')).toHaveLength(stopsBefore + 1);
    expect(sfnCalls().at(-1)?.body).toEqual({ executionArn, cause: 'customer erased' });
    expect(await sortKeysOf('cust-outage')).toEqual([]);
  });
});
