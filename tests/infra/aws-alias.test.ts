import * as path from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context, EventBridgeEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient, ProfileStore } from '../../functions/profile';
import { JourneyStore } from '../../functions/journeys/store';
import { ENV } from '../../shared';
import { ACCOUNT, busEvent, REGION, httpApiEvent, startAwsStandIn, TABLE, type AwsStandIn } from '../helpers/aws';
import { ev } from '../helpers/events';

/**
 * `alias` joining two known customers through the AWS entry points as deployed: the ingest
 * (functions/ingest/handler.ts) refuses an alias that would close a cycle, reading the profile
 * table as its role allows; the profile consumer (functions/profile/consumer-handler.ts) joins the
 * profiles, and its journey router stops the newer of two runs of one journey through the Step
 * Functions API (answered and recorded by the stand-in).
 */
const WRITE_KEY = 'wk_aws_alias_0123';
const SOURCE_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rapport-source-default';
const lambdaContext = { functionName: 'rapport', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 29_000 } as unknown as Context;

const apiRequest = (rawPath: string, body: unknown) =>
  httpApiEvent(rawPath, body, { headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}` } });

const alias = (previousId: string, userId: string, at: string) => ev('', at, {}, { type: 'alias', previousId, userId, messageId: `alias-${previousId}-${userId}` });
const order = (userId: string, orderId: string, revenue: number, at: string) => ev('Order Completed', at, { orderId, revenue, currency: 'EUR' }, { userId, messageId: `${userId}-${orderId}` });


/** A lock's times: taken now, expiring in a day. */
const aDay = () => ({ now: new Date(), expiresAt: new Date(Date.now() + 86_400_000) });
describe('AWS: alias joins two known customers', () => {
  let aws: AwsStandIn;
  let ingest: (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
  let consumer: (event: EventBridgeEvent<string, unknown>, context: Context) => Promise<unknown>;
  let profiles: ProfileStore;
  let journeys: JourneyStore;

  beforeAll(async () => {
    aws = await startAwsStandIn({
      env: { [ENV.SOURCES]: JSON.stringify([{ id: 'default', secretArn: SOURCE_ARN }]), [ENV.CONFIG_DIR]: path.join(import.meta.dirname, '..', '..', 'workflows') },
      secrets: { [SOURCE_ARN]: JSON.stringify({ writeKeys: [WRITE_KEY] }) },
    });
    profiles = new ProfileStore(documentClient(aws.dynamo.client), TABLE);
    journeys = new JourneyStore(documentClient(aws.dynamo.client), TABLE);
    ({ handler: ingest } = (await import('../../functions/ingest/handler')) as unknown as { handler: typeof ingest });
    ({ handler: consumer } = (await import('../../functions/profile/consumer-handler')) as unknown as { handler: typeof consumer });
  }, 60_000);
  afterAll(() => aws.close());

  it('joins the profiles, and of two welcome runs the older goes on while the newer is stopped by StopExecution', async () => {
    // Prepare: two customers with an order each and a running welcome run each (the older is the old id's).
    await consumer(busEvent(order('aws-old', 'o-1', 10, '2026-11-20T10:00:00Z')), lambdaContext);
    await consumer(busEvent(order('aws-new', 'o-2', 20, '2026-11-20T11:00:00Z')), lambdaContext);
    for (const [customerId, executionName, startedAt] of [
      ['aws-old', 'welcome-old', '2026-11-20T10:00:00.000Z'],
      ['aws-new', 'welcome-new', '2026-11-21T10:00:00.000Z'],
    ] as const) {
      expect(await journeys.lock(customerId, 'welcome', '*', executionName, aDay())).toBe(true);
      await journeys.putRun({ journeyId: 'welcome', executionName, customerId, key: '*', status: 'running', startedAt, triggerMessageId: `signup-${customerId}` });
    }
    aws.calls.length = 0;

    // Act
    await consumer(busEvent(alias('aws-old', 'aws-new', '2026-11-22T10:00:00Z')), lambdaContext);

    // Assess: one profile, the old id a forwarding record, the newer run stopped and its lock freed.
    const joined = await profiles.get('aws-new');
    expect(joined?.profile).toMatchObject({ mergedIds: ['aws-old'], stats: { orderCount: 2, totalRevenue: 30 } });
    expect((await profiles.get('aws-old'))?.mergedInto).toBe('aws-new');
    expect(aws.sfnCalls()).toEqual([
      {
        target: 'AWSStepFunctions.StopExecution',
        body: { executionArn: `arn:aws:states:${REGION}:${ACCOUNT}:execution:Rapport-test_welcome:welcome-new`, cause: expect.stringMatching(/joined by alias/) },
      },
    ]);
    expect((await journeys.runs('aws-new', 'welcome')).map((r) => r.status)).toEqual(['stopped']);
    expect((await journeys.runs('aws-old', 'welcome')).map((r) => r.status)).toEqual(['running']);
    expect(await journeys.lock('aws-new', 'welcome', '*', 'another-run', aDay())).toBe(true);

    // A later event under the old id lands on the joined profile.
    await consumer(busEvent(order('aws-old', 'o-3', 5, '2026-11-23T10:00:00Z')), lambdaContext);
    expect((await profiles.get('aws-new'))?.profile.stats.orderCount).toBe(3);
  });

  it('the ingest refuses an alias that would close a cycle, naming previousId, and publishes nothing', async () => {
    aws.calls.length = 0;
    const res = await ingest(apiRequest('/v1/alias', { previousId: 'aws-new', userId: 'aws-old' }), lambdaContext);
    expect(res.statusCode, res.body as string).toBe(400);
    expect(JSON.parse(res.body as string).rejected).toEqual([{ index: 0, problems: [{ path: '$.previousId', message: expect.stringMatching(/^alias cycle: "aws-old" was already joined into "aws-new"/) }] }]);
    expect(aws.calls.filter((c) => c.target === 'AWSEvents.PutEvents')).toEqual([]);
    // The same alias again (a repeat) is no cycle.
    const repeat = await ingest(apiRequest('/v1/alias', { previousId: 'aws-old', userId: 'aws-new' }), lambdaContext);
    expect(repeat.statusCode, repeat.body as string).toBe(202);
  });
});
