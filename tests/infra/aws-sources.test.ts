import * as path from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ENV } from '../../shared';
import { httpApiEvent, startAwsStandIn, type AwsStandIn } from '../helpers/aws';
import { OTHER_SECRET } from '../helpers/engine';
import { signedRequest } from '../helpers/webhook';

/**
 * The ingest Lambda entry point as deployed (functions/ingest/handler.ts), with sources read
 * from Secrets Manager through the environment the stack sets: one source's bad secret (malformed,
 * or missing) disables that source alone, logged and counted as SourceMisconfigured by source.
 */
const arn = (id: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:rapport-source-${id}`;
const WEB_KEY = 'wk_aws_sources_web_01';
const CRM_KEY = 'wk_aws_sources_crm_01';
const context = { functionName: 'rapport-ingest', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 29_000 } as unknown as Context;

const apiRequest = (rawPath: string, body: string, headers: Record<string, string>) => httpApiEvent(rawPath, body, { headers: { 'content-type': 'application/json', ...headers } });
const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` });
const viewed = (messageId: string) => ({ type: 'track', event: 'Product Viewed', userId: 'aws-src-1', messageId, properties: { productId: 'p-1' } });

describe('AWS ingest: a source with a bad secret is disabled alone', () => {
  let aws: AwsStandIn;
  let ingest: (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
  const published = () => aws.calls.filter((c) => c.target === 'AWSEvents.PutEvents').flatMap((c) => (c.body.Entries as Array<{ Detail: string }>).map((e) => (JSON.parse(e.Detail) as { sourceId: string; messageId: string })));

  beforeAll(async () => {
    aws = await startAwsStandIn({
      env: {
        // The web SDK may send product views only, and set no trait: what the stack puts in the variable.
        [ENV.SOURCES]: JSON.stringify(['shop', 'crm', 'web', 'gone'].map((id) => ({ id, secretArn: arn(id), ...(id === 'web' && { events: ['Product Viewed'], traits: [] }) }))),
        [ENV.CONFIG_DIR]: path.join(import.meta.dirname, '..', '..', 'workflows'),
        // What an operator reads: error lines and the metrics' EMF output.
        POWERTOOLS_LOG_LEVEL: 'ERROR',
        POWERTOOLS_METRICS_DISABLED: 'false',
        POWERTOOLS_METRICS_NAMESPACE: 'Rapport',
      },
      secrets: {
        [arn('shop')]: JSON.stringify({ webhookSecrets: [OTHER_SECRET] }),
        // A rotation gone wrong: a new secret pasted without its base64 body.
        [arn('crm')]: JSON.stringify({ webhookSecrets: ['whsec_paste here'], writeKeys: [CRM_KEY] }),
        [arn('web')]: JSON.stringify({ writeKeys: [WEB_KEY] }),
        // arn('gone'): deleted, Secrets Manager answers ResourceNotFoundException.
      },
    });
    ({ handler: ingest } = (await import('../../functions/ingest/handler')) as unknown as { handler: typeof ingest });
  }, 60_000);
  afterAll(() => aws.close());

  it('publishes the healthy sources\' events, refuses the broken ones\' with a retryable 503, and counts only their requests', async () => {
    // Prepare
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const signed = signedRequest(OTHER_SECRET, viewed('aws-src-shop'));
    const logged = () => [...out.mock.calls, ...err.mock.calls].map((c) => String(c[0]));
    const counted = (lines: string[], source: string) => lines.filter((l) => l.includes('"SourceMisconfigured"') && l.includes(`"source":"${source}"`)).length;

    // Act: healthy sources first (twice each), then the CRM (malformed secret) and the deleted source's SDK (its key is in the secret no one can read).
    const healthy = [];
    for (let i = 0; i < 2; i++) {
      healthy.push(await ingest(apiRequest('/v1/events', signedRequest(OTHER_SECRET, viewed(`aws-src-shop-${i}`)).body as string, signedRequest(OTHER_SECRET, viewed(`aws-src-shop-${i}`)).headers), context));
      healthy.push(await ingest(apiRequest('/v1/track', JSON.stringify(viewed(`aws-src-web-${i}`)), basic(WEB_KEY)), context));
    }
    const afterHealthy = logged();
    const shop = await ingest(apiRequest('/v1/events', signed.body as string, signed.headers), context);
    const crm = await ingest(apiRequest('/v1/track', JSON.stringify(viewed('aws-src-crm')), basic(CRM_KEY)), context);
    const gone = await ingest(apiRequest('/v1/batch', JSON.stringify({ batch: [viewed('aws-src-gone')] }), basic('wk_aws_sources_gone_01')), context);
    const lines = logged();
    out.mockRestore();
    err.mockRestore();

    // Assess: the healthy sources' requests count nothing; each refused request counts its source once.
    expect(healthy.map((r) => r.statusCode)).toEqual([202, 202, 202, 202]);
    expect([shop.statusCode, crm.statusCode, gone.statusCode]).toEqual([202, 503, 503]);
    expect(JSON.parse(crm.body as string)).toMatchObject({ error: 'source_misconfigured' });
    // The SDK retries a 5xx and drops the batch on a 401: the deleted secret is Rapport's fault, not the sender's.
    expect(gone.headers).toMatchObject({ 'retry-after': '60' });
    expect(JSON.parse(gone.body as string)).toMatchObject({ error: 'source_misconfigured', message: expect.stringContaining('1 source(s) could not be read') });
    expect(published().map((e) => `${e.sourceId}/${e.messageId}`)).toEqual(['shop/aws-src-shop-0', 'web/aws-src-web-0', 'shop/aws-src-shop-1', 'web/aws-src-web-1', 'shop/aws-src-shop']);
    expect([counted(afterHealthy, 'crm'), counted(afterHealthy, 'gone')]).toEqual([0, 0]);
    expect([counted(lines, 'crm'), counted(lines, 'gone'), counted(lines, 'shop'), counted(lines, 'web')]).toEqual([1, 1, 0, 0]);
    // The broken sources are named in the log once (the sources are loaded once while their secrets do not change), with why.
    const errors = lines.filter((l) => l.includes('source disabled by its configuration'));
    expect(errors.filter((l) => l.includes('"sourceId":"crm"') && l.includes('webhookSecrets[0]'))).toHaveLength(1);
    expect(errors.filter((l) => l.includes('"sourceId":"gone"') && l.includes(arn('gone')))).toHaveLength(1);
  });

  it('refuses an event or trait the source may not send with a 400 naming source, event and field', async () => {
    // Prepare
    aws.calls.length = 0;

    // Act
    const res = await ingest(
      apiRequest('/v1/batch', JSON.stringify({ batch: [viewed('aws-perm-1'), { type: 'identify', userId: 'aws-src-1', messageId: 'aws-perm-2', traits: { consent: { email: false } } }] }), basic(WEB_KEY)),
      context,
    );

    // Assess
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body as string)).toMatchObject({
      accepted: ['aws-perm-1'],
      rejected: [{ index: 1, problems: [{ path: '$.type', message: 'source "web" may not send "Identify" events (it may send: Product Viewed)' }] }],
    });
    expect(published().map((e) => `${e.sourceId}/${e.messageId}`)).toEqual(['web/aws-perm-1']);
  });
});
