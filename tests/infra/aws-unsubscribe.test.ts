import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { unsubscribeUrl, verifyUnsubscribe } from '../../functions/journeys/unsubscribe';
import { ENV } from '../../shared';
import { JOURNEY_ENV } from '../../shared/config/journey-env';
import { httpApiEvent, startAwsStandIn, type AwsStandIn } from '../helpers/aws';

/**
 * One-click unsubscribe keys rotate like webhook secrets, at the AWS entry points: the
 * secret holds a JSON list, newest first; the step function signs with the first, the
 * ingest function accepts any, and both re-read it within minutes (no cold start
 * needed). A plain-string secret (what the stack generates) is one key.
 */
const UNSUB_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rapport/unsubscribe-AbCdEf';
const SOURCE_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rapport/source-default-AbCdEf';
const PUBLIC_URL = 'https://rapport.example';
const lambdaContext = { functionName: 'rapport-ingest', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 29_000 } as unknown as Context;

/** A click on a link, as the HTTP API hands it to the ingest function (payload 2.0). */
const click = (link: string, method = 'POST') =>
  httpApiEvent(link, 'List-Unsubscribe=One-Click', { method, headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://mail.example' } });

describe('AWS: unsubscribe key rotation', () => {
  let aws: AwsStandIn;
  const secrets: Record<string, string> = {
    [UNSUB_ARN]: 'k-original',
    [SOURCE_ARN]: JSON.stringify({ webhookSecrets: [], writeKeys: ['wk_source_0123'] }),
  };
  let ingest: (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
  const unsubscribed = () => aws.calls.filter((c) => c.target === 'AWSEvents.PutEvents').flatMap((c) => (c.body.Entries as Array<{ DetailType: string; Detail: string }>).filter((e) => e.DetailType === 'Unsubscribed'));

  beforeAll(async () => {
    aws = await startAwsStandIn({
      secrets,
      env: { [ENV.UNSUBSCRIBE_SECRET]: UNSUB_ARN, [ENV.PUBLIC_URL]: PUBLIC_URL, [JOURNEY_ENV.EMAIL_FROM_ADDRESS]: 'shop@example.com', [JOURNEY_ENV.TEMPLATES_DIR]: 'workflows/templates', [ENV.SOURCES]: JSON.stringify([{ id: 'default', secretArn: SOURCE_ARN }]) },
    });
    ingest = (await import('../../functions/ingest/handler')).handler as never;
  });
  afterEach(() => vi.useRealTimers());
  afterAll(() => aws.close());

  it('after rotation (a JSON list, new key first), a link signed with the old key still unsubscribes, one with an unknown key does not', async () => {
    const before = await ingest(click(unsubscribeUrl(PUBLIC_URL, 'k-original', 'cust-old', 'email')), lambdaContext);
    expect(before.statusCode).toBe(200);

    secrets[UNSUB_ARN] = JSON.stringify(['k-rotated', 'k-original']);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 301_000 }); // past the 5-minute cache: no cold start needed
    const old = await ingest(click(unsubscribeUrl(PUBLIC_URL, 'k-original', 'cust-old-2', 'email')), lambdaContext);
    expect(old.statusCode).toBe(200);
    const rotated = await ingest(click(unsubscribeUrl(PUBLIC_URL, 'k-rotated', 'cust-new', 'sms')), lambdaContext);
    expect(rotated.statusCode).toBe(200);
    const unknown = await ingest(click(unsubscribeUrl(PUBLIC_URL, 'k-never-configured', 'cust-forged', 'email')), lambdaContext);
    expect(unknown.statusCode).toBe(400);
    // And a key dropped from the list stops working.
    secrets[UNSUB_ARN] = JSON.stringify(['k-rotated']);
    vi.setSystemTime(Date.now() + 301_000);
    expect((await ingest(click(unsubscribeUrl(PUBLIC_URL, 'k-original', 'cust-old-3', 'email')), lambdaContext)).statusCode).toBe(400);

    expect(unsubscribed().map((e) => (JSON.parse(e.Detail) as { userId: string }).userId)).toEqual(['cust-old', 'cust-old-2', 'cust-new']);
  });

  it('the step function signs new links with the first key of the list, and picks up a rotation without a cold start', async () => {
    secrets[UNSUB_ARN] = 'k-original';
    const { awsStepDeps } = await import('../../functions/journeys/aws');
    const deps = await awsStepDeps();
    const link = async () => new URL(unsubscribeUrl(deps.unsubscribe.baseUrl, await deps.unsubscribe.keys.load(), 'cust-1', 'email')).searchParams;
    expect(verifyUnsubscribe('k-original', await link())).toEqual({ customerId: 'cust-1', channel: 'email' });

    secrets[UNSUB_ARN] = JSON.stringify(['k-rotated', 'k-original']);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 301_000 });
    expect(verifyUnsubscribe('k-rotated', await link())).toEqual({ customerId: 'cust-1', channel: 'email' });
    expect(verifyUnsubscribe('k-original', await link())).toBeUndefined();
  });

  it('a malformed secret fails naming the secret and the expected shape', async () => {
    secrets[UNSUB_ARN] = '["k-rotated",';
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 10 * 301_000 });
    const { awsStepDeps } = await import('../../functions/journeys/aws');
    const deps = await awsStepDeps();
    await expect(deps.unsubscribe.keys.load()).rejects.toThrow(/unsubscribe secret arn:aws:secretsmanager:.*is not JSON.*\["<new key>", "<old key>"/);
  });

  it('every click is its own denial: two clicks in one minute publish two Unsubscribed events with their own messageIds', async () => {
    secrets[UNSUB_ARN] = 'k-original';
    vi.useFakeTimers({ toFake: ['Date'], now: Math.floor((Date.now() + 20 * 301_000) / 60_000) * 60_000 + 5_000 }); // past the key cache, 5 s into a minute
    const link = unsubscribeUrl(PUBLIC_URL, 'k-original', 'cust-twice', 'email');
    expect((await ingest(click(link), lambdaContext)).statusCode).toBe(200);
    vi.setSystemTime(Date.now() + 20_000); // same minute (a re-subscribe could come between)
    expect((await ingest(click(link), lambdaContext)).statusCode).toBe(200);
    const ids = unsubscribed()
      .map((e) => JSON.parse(e.Detail) as { userId: string; messageId: string })
      .filter((d) => d.userId === 'cust-twice')
      .map((d) => d.messageId);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
  });
});
