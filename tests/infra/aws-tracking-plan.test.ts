import * as path from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { violationMessageHash } from '../../functions/ingest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ENV } from '../../shared';
import { httpApiEvent, startAwsStandIn, type AwsStandIn } from '../helpers/aws';

/**
 * The ingest and customer API Lambda entry points as deployed (functions/ingest/handler.ts,
 * functions/profile/api-handler.ts), configured only through the environment the stack sets:
 * tracking-plan.yaml from the config folder (bundled in AWS), the violation log in the profile
 * table (dynalite), sources from Secrets Manager, the bus through PutEvents.
 */
const WRITE_KEY = 'wk_aws_plan_012345';
const SOURCE_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rapport-source-default';
const context = { functionName: 'rapport-ingest', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 29_000 } as unknown as Context;

const apiRequest = (method: string, rawPath: string, body?: unknown) =>
  httpApiEvent(rawPath, body, { method, headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}` } });

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

describe('AWS: a flag source breaking the tracking plan', () => {
  let aws: AwsStandIn;
  let ingest: Handler;
  let customers: Handler;

  beforeAll(async () => {
    aws = await startAwsStandIn({
      env: { [ENV.SOURCES]: JSON.stringify([{ id: 'default', secretArn: SOURCE_ARN }]), [ENV.CONFIG_DIR]: path.join(import.meta.dirname, '..', '..', 'workflows') },
      secrets: { [SOURCE_ARN]: JSON.stringify({ writeKeys: [WRITE_KEY] }) },
    });
    // The metrics the function publishes (EMF on stdout) are the assertion here: on for these handlers only.
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    ({ handler: ingest } = (await import('../../functions/ingest/handler')) as unknown as { handler: Handler });
    ({ handler: customers } = (await import('../../functions/profile/api-handler')) as unknown as { handler: Handler });
  }, 60_000);
  afterAll(async () => {
    await aws.close();
    vi.unstubAllEnvs();
  });

  it('is accepted, counted in the TrackingPlanViolations metric and listed by the customer API', async () => {
    // Prepare
    const out: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });

    // Act
    let res: APIGatewayProxyStructuredResultV2;
    try {
      res = await ingest(apiRequest('POST', '/v1/track', { userId: 'aws-plan-1', messageId: 'aws-plan-m1', event: 'Order Completed', properties: { order_id: 7, total: 'ten', currency: 'EUR' } }), context);
    } finally {
      write.mockRestore();
    }

    // Assess
    expect(res.statusCode).toBe(202);
    const emf = out.flatMap((line) => line.split('\n')).filter((line) => line.includes('"TrackingPlanViolations"'));
    expect(emf.map((line) => (JSON.parse(line) as { TrackingPlanViolations: number }).TrackingPlanViolations)).toEqual([1]);
    const listed = await customers(apiRequest('GET', '/v1/tracking-plan/violations'), { ...context, functionName: 'rapport-customers' } as Context);
    expect(listed.statusCode).toBe(200);
    expect(JSON.parse(listed.body as string)).toMatchObject({
      count: 1,
      violations: [{ sourceId: 'default', messageIdHash: violationMessageHash('default', 'aws-plan-m1'), event: 'Order Completed', violations: [{ path: '$.properties.total', message: 'Order Completed: expected an amount (a number >= 0)' }] }],
    });
  });
});
