import type { Context, EventBridgeEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient, ProfileStore } from '../../functions/profile';
import { JourneyStore } from '../../functions/journeys/store';
import { ACCOUNT, busEvent, REGION, startAwsStandIn, TABLE, type AwsStandIn } from '../helpers/aws';
import { ev } from '../helpers/events';

/**
 * The profile consumer's Lambda entry point as deployed (functions/profile/consumer-handler.ts),
 * with its journey router: the real handler module, configured only through the
 * environment the stack sets, against dynalite. Step Functions and EventBridge
 * cannot run here: a local HTTP server answers for them (AWS_ENDPOINT_URL_SFN,
 * AWS_ENDPOINT_URL_EVENTBRIDGE) and records each request, which the tests assert.
 */

const lambdaContext = { functionName: 'rapport-profile', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

describe('AWS profile consumer: the journey router resumes waits and stops converted runs through the Step Functions API', () => {
  let aws: AwsStandIn;
  let handler: (event: EventBridgeEvent<string, unknown>, context: Context) => Promise<unknown>;
  let store: JourneyStore;
  const sfnCalls = () => aws.sfnCalls();

  beforeAll(async () => {
    aws = await startAwsStandIn();
    store = new JourneyStore(documentClient(aws.dynamo.client), TABLE);
    ({ handler } = (await import('../../functions/profile/consumer-handler')) as unknown as { handler: typeof handler });
  }, 60_000);

  afterAll(() => aws.close());

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
    aws.calls.length = 0;

    await handler(busEvent(ev('Order Completed', '2026-11-21T10:00:00Z', { orderId: 'o-1', total: 20 }, { userId: 'cust-goal' })), lambdaContext);

    expect(sfnCalls()).toEqual([
      {
        target: 'AWSStepFunctions.StopExecution',
        body: { executionArn: `arn:aws:states:${REGION}:${ACCOUNT}:execution:Rapport-test_welcome:welcome-run-1`, cause: expect.stringMatching(/^goal: Order Completed/) },
      },
    ]);
    expect((await store.runs('cust-goal', 'welcome')).map((run) => run.status)).toEqual(['converted']);
  });

  it('resumes a complaint run waiting for Complaint Resolved of the same complaintId with SendTaskSuccess, once', async () => {
    // A wait is its run's: the run is recorded running before its execution starts (the router reads waits only then).
    await store.putRun({
      journeyId: 'complaint-follow-up',
      executionName: 'complaint-run-1',
      customerId: 'cust-wait',
      key: 'C-7',
      status: 'running',
      startedAt: '2026-11-20T10:00:00.000Z',
      triggerMessageId: 'filed-1',
    });
    await store.putWait('cust-wait', {
      event: 'Complaint Resolved',
      executionName: 'complaint-run-1',
      stepId: 'await-resolution',
      journeyId: 'complaint-follow-up',
      taskToken: 'token-abc',
      pattern: { detail: { properties: { complaintId: ['C-7'] } } },
      expiresAt: '2026-12-01T00:00:00.000Z',
    });
    aws.calls.length = 0;

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

    const stored = await new ProfileStore(documentClient(aws.dynamo.client), TABLE).get('cust-keep');
    expect(stored?.profile.stats).toMatchObject({ eventCount: 3, orderCount: 1, complaintCount: 1 });
    // The fixture's tags read no events and the goals name no properties: only the goal event, bare.
    expect(stored?.profile.recentEvents.map((e) => ({ name: e.name, properties: e.properties }))).toEqual([{ name: 'Order Completed', properties: {} }]);
  });
});
