import * as path from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context, EventBridgeEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DERIVED_EVENTS_MAX } from '../../functions/profile/consumer';
import { ENV, SENDER_LIMITS } from '../../shared';
import { busEvent, httpApiEvent, startAwsStandIn, type AwsStandIn } from '../helpers/aws';
import { identify } from '../helpers/events';

/**
 * The ingest and profile consumer Lambda entry points as deployed (functions/ingest/handler.ts,
 * functions/profile/consumer-handler.ts), configured only through the environment the stack sets:
 * tags.yaml read from the config folder (bundled in AWS; the repository's here, which declares
 * crm-gold and beta-tester), sources from Secrets Manager, the bus through PutEvents — both
 * answered by the stand-in, which records every call.
 */
const WRITE_KEY = 'wk_aws_limits_0123';
const SOURCE_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rapport-source-default';
const context = { functionName: 'rapport-ingest', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 29_000 } as unknown as Context;

/** A request as the HTTP API (payload 2.0) hands it to the function. */
const apiRequest = (rawPath: string, body: unknown) =>
  httpApiEvent(rawPath, body, { headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}` } });

describe('AWS ingest: senders set only declared manual tags, within limits', () => {
  let aws: AwsStandIn;
  let ingest: (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
  let consumer: (event: EventBridgeEvent<string, unknown>, context: Context) => Promise<unknown>;
  const putEvents = () => aws.calls.filter((c) => c.target === 'AWSEvents.PutEvents');
  const entries = () => putEvents().flatMap((c) => c.body.Entries as Array<{ DetailType: string; Detail: string }>);

  beforeAll(async () => {
    aws = await startAwsStandIn({
      env: { [ENV.SOURCES]: JSON.stringify([{ id: 'default', secretArn: SOURCE_ARN }]), [ENV.CONFIG_DIR]: path.join(import.meta.dirname, '..', '..', 'workflows') },
      secrets: { [SOURCE_ARN]: JSON.stringify({ writeKeys: [WRITE_KEY] }) },
    });
    ({ handler: ingest } = (await import('../../functions/ingest/handler')) as unknown as { handler: typeof ingest });
    ({ handler: consumer } = (await import('../../functions/profile/consumer-handler')) as unknown as { handler: typeof consumer });
  }, 60_000);
  afterAll(() => aws.close());

  it('answers 400 naming a computed tag, and puts nothing on the bus', async () => {
    aws.calls.length = 0;
    const res = await ingest(apiRequest('/v1/identify', { userId: 'aws-forger', traits: { tags: ['vip'] } }), context);
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body as string).rejected).toEqual([
      { index: 0, problems: [{ path: '$.traits.tags[0]', message: expect.stringMatching(/^"vip" is a computed tag: .*\(beta-tester, crm-gold\)$/) }] },
    ]);
    expect(putEvents()).toEqual([]);
  });

  it('answers 400 to 5,000 tags and to traits over a limit, naming field and limit', async () => {
    aws.calls.length = 0;
    const many = await ingest(apiRequest('/v1/identify', { userId: 'aws-many', traits: { tags: Array.from({ length: 5000 }, () => 'crm-gold') } }), context);
    expect(many.statusCode).toBe(400);
    expect(JSON.parse(many.body as string).rejected[0].problems).toEqual([{ path: '$.traits.tags', message: `holds 5000 tags; the limit is ${SENDER_LIMITS.tagsPerEvent} per event` }]);
    const big = await ingest(apiRequest('/v1/identify', { userId: 'aws-big', traits: { bio: 'x'.repeat(20_000) } }), context);
    expect(big.statusCode).toBe(400);
    expect(JSON.parse(big.body as string).rejected[0].problems).toEqual([{ path: '$.traits.bio', message: 'is 20,002 bytes as JSON; the limit is 16 KB per trait' }]);
    expect(putEvents()).toEqual([]);
  });

  it('takes declared manual tags: one PutEvents entry', async () => {
    aws.calls.length = 0;
    const res = await ingest(apiRequest('/v1/identify', { userId: 'aws-crm', messageId: 'aws-crm-1', traits: { tags: ['crm-gold'] } }), context);
    expect(res.statusCode).toBe(202);
    expect(entries().map((e) => e.DetailType)).toEqual(['Identify']);
  });

  it('the consumer bounds derived events even for an event that never passed this ingest (an old archive replay with 5,000 tags)', async () => {
    aws.calls.length = 0;
    await consumer(busEvent(identify('2026-11-01T00:00:00Z', { tags: Array.from({ length: 5000 }, (_, i) => `crm-${i}`) }, { userId: 'aws-replayed', messageId: 'aws-replayed-1' })), context);
    const tagAdded = entries().filter((e) => e.DetailType === 'Tag Added');
    expect(tagAdded).toHaveLength(SENDER_LIMITS.tagsPerEvent);
    expect(entries().length).toBeLessThanOrEqual(DERIVED_EVENTS_MAX);
  });
});
