/**
 * The AWS broadcast API (issue 15), called as the HTTP API calls it, against dynalite, with Step Functions answered
 * by the stand-in: a broadcast on a channel whose deployment setting was not given (RAPPORT_UNDEPLOYED_CHANNELS, as
 * the stack sets it) is refused at once with a 400 naming `$.send.channel` and the setting, instead of being
 * accepted and failing every recipient at the page function; one on a deployed channel starts.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROADCAST_ENV } from '../../shared/config/broadcast-env';
import { JOURNEY_ENV } from '../../shared/config/journey-env';
import { httpApiEvent, startAwsStandIn, type AwsStandIn } from '../helpers/aws';
import { TEMPLATES_DIR } from './synth';

const context = { functionName: 'rapport-broadcasts', awsRequestId: 'req-broadcasts', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;
const templatesDir = mkdtempSync(path.join(tmpdir(), 'rapport-aws-broadcast-channels-'));
for (const name of readdirSync(TEMPLATES_DIR)) copyFileSync(path.join(TEMPLATES_DIR, name), path.join(templatesDir, name));
writeFileSync(path.join(templatesDir, 'spring-sale.whatsapp.liquid'), 'Template: spring_sale\nLanguage: en_US\n\n{{ profile.traits.firstName }}\n');
writeFileSync(path.join(templatesDir, 'spring-sale.push.liquid'), 'Title: Spring sale\n\n20% off this week.\n');

describe('AWS: a broadcast on a channel the deployment does not send', () => {
  let aws: AwsStandIn;
  let api: (event: APIGatewayProxyEventV2, context: Context) => Promise<{ statusCode: number; body: string }>;

  beforeAll(async () => {
    aws = await startAwsStandIn({
      env: {
        [JOURNEY_ENV.TEMPLATES_DIR]: templatesDir,
        [BROADCAST_ENV.STATE_MACHINE_ARN]: 'arn:aws:states:eu-west-1:123456789012:stateMachine:Rapport-test-broadcasts',
        [BROADCAST_ENV.CONVERSION_EVENTS]: JSON.stringify(['Order Completed']),
        // The stack's: push's platform application given, WhatsApp's phone number not.
        [BROADCAST_ENV.UNDEPLOYED_CHANNELS]: JSON.stringify(['whatsapp']),
      },
    });
    ({ handler: api } = (await import('../../functions/broadcasts/api-handler')) as unknown as { handler: typeof api });
  }, 60_000);
  afterAll(async () => {
    await aws.close();
    rmSync(templatesDir, { recursive: true, force: true });
  });

  const post = async (body: unknown) => {
    const res = await api(httpApiEvent('/v1/broadcasts', body, { headers: { 'content-type': 'application/json' } }), context);
    return { status: res.statusCode, json: JSON.parse(res.body) as Record<string, unknown> };
  };

  it('refuses WhatsApp without its phone number, naming send.channel and the setting, and starts nothing', async () => {
    const refused = await post({ id: 'spring-wa', segment: 'tag:beta-tester', send: { channel: 'whatsapp', template: 'spring-sale' } });
    expect(refused.status).toBe(400);
    expect(refused.json.problems).toEqual([
      {
        path: '$.send.channel',
        message:
          'this deployment sends no WhatsApp: it needs the whatsappPhoneNumberId setting: npx cdk deploy -c whatsappPhoneNumberId=phone-number-id-<32 hex digits> (or "whatsappPhoneNumberId" under context in cdk.json, or the whatsapp prop of the Rapport construct)',
      },
    ]);
    expect(aws.sfnCalls()).toEqual([]);
  });

  it('starts a push broadcast, whose setting is given', async () => {
    const started = await post({ id: 'spring-push', segment: 'tag:beta-tester', send: { channel: 'push', template: 'spring-sale' } });
    expect(started.status, JSON.stringify(started.json)).toBe(201);
    expect(aws.sfnCalls().map((c) => c.target)).toEqual(['AWSStepFunctions.StartExecution']);
  });
});
