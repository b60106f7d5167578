/**
 * WhatsApp and push at the AWS step function (issue 15), called as Step Functions calls it, against dynalite, with
 * End User Messaging Social, SNS, SES and Secrets Manager answered by the stand-in, through the SDK clients the
 * bundle carries: a WhatsApp message is the exact SendWhatsAppMessage from the deployment's phone number; a
 * customer's push endpoint of the deployment's platform application is published to (the exact SNS Publish); a
 * `pushToken` that is an endpoint of another application, or no endpoint ARN at all, is no address on push: the
 * send is skipped `invalid-address` before anything reaches SNS, and its `fallback: email` sends the email.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JourneyStore } from '../../functions/journeys/store';
import { documentClient } from '../../functions/profile';
import { ENV } from '../../shared';
import { JOURNEY_ENV } from '../../shared/config/journey-env';
import { busEvent, startAwsStandIn, TABLE, type AwsStandIn } from '../helpers/aws';
import { identify } from '../helpers/events';
import { TEMPLATES_DIR } from './synth';

const APP = 'arn:aws:sns:eu-west-1:123456789012:app/GCM/shop-app';
const ENDPOINT = 'arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/shop-app/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
/** A well-formed endpoint of another application (the shop's old app): no address for this deployment. */
const OTHER_APP_ENDPOINT = 'arn:aws:sns:eu-west-1:123456789012:endpoint/APNS/old-app/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const UNSUBSCRIBE_SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rapport-unsubscribe';

const context = (functionName: string) => ({ functionName, awsRequestId: `req-${functionName}`, getRemainingTimeInMillis: () => 30_000 }) as unknown as Context;
type Handler<E> = (event: E, context: Context) => Promise<unknown>;

const templatesDir = mkdtempSync(path.join(tmpdir(), 'rapport-aws-push-'));
for (const name of readdirSync(TEMPLATES_DIR)) copyFileSync(path.join(TEMPLATES_DIR, name), path.join(templatesDir, name));
writeFileSync(path.join(templatesDir, 'order-shipped.push.liquid'), 'Title: Order {{ trigger.orderId }} has shipped\n\nIt is on its way.\n');
writeFileSync(path.join(templatesDir, 'order-shipped.whatsapp.liquid'), 'Template: order_shipped\nLanguage: en_US\n\n{{ trigger.orderId }}\n');
writeFileSync(path.join(templatesDir, 'order-shipped.email.liquid'), 'Subject: Order {{ trigger.orderId }} has shipped\n\nIt is on its way.\n');

describe('AWS: WhatsApp, and push to the deployment’s platform application only', () => {
  let aws: AwsStandIn;
  let consume: Handler<unknown>;
  let step: Handler<unknown>;
  let journeys: JourneyStore;

  beforeAll(async () => {
    aws = await startAwsStandIn({
      secrets: { [UNSUBSCRIBE_SECRET]: 'aws-test-unsubscribe-key' },
      env: {
        [ENV.UNSUBSCRIBE_SECRET]: UNSUBSCRIBE_SECRET,
        [ENV.PUBLIC_URL]: 'https://rapport.example.com',
        [JOURNEY_ENV.EMAIL_FROM_ADDRESS]: 'hello@example.com',
        [JOURNEY_ENV.TEMPLATES_DIR]: templatesDir,
        [JOURNEY_ENV.PUSH_PLATFORM_APPLICATION_ARN]: APP,
        [JOURNEY_ENV.WHATSAPP_PHONE_NUMBER_ID]: 'phone-number-id-0123456789abcdef0123456789abcdef',
        [JOURNEY_ENV.SEND_POLICY]: JSON.stringify({ frequencyCap: 10, frequencyWindowDays: 7, quietHours: null, defaultTimeZone: 'UTC' }),
      },
    });
    ({ handler: consume } = (await import('../../functions/profile/consumer-handler')) as unknown as { handler: typeof consume });
    ({ handler: step } = (await import('../../functions/journeys/step-handler')) as unknown as { handler: typeof step });
    journeys = new JourneyStore(documentClient(aws.dynamo.client), TABLE);
  }, 60_000);
  afterAll(async () => {
    await aws.close();
    rmSync(templatesDir, { recursive: true, force: true });
  });

  /** A customer with these traits in a running welcome run, and its push step (falling back to email) sent. */
  async function notify(id: string, traits: Record<string, unknown>, channel: 'push' | 'whatsapp' = 'push') {
    const now = Date.now();
    await consume(busEvent(identify(new Date(now - 60_000).toISOString(), { email: `${id}@example.com`, ...traits }, { userId: id })), context('rapport-profile'));
    await journeys.putRun({ journeyId: 'welcome', executionName: `welcome-${id}`, customerId: id, key: 'welcome', status: 'running', startedAt: new Date(now).toISOString(), triggerMessageId: `signup-${id}` });
    const result = await step(
      {
        journeyId: 'welcome',
        stepId: 'notify',
        action: 'send',
        config: { channel, template: 'order-shipped', kind: 'transactional', fallback: 'email' },
        customerId: id,
        trigger: { messageId: `signup-${id}`, event: 'Order Shipped', properties: { orderId: `o-${id}` } },
        execution: `welcome-${id}`,
      },
      context('rapport-steps'),
    );
    const records = (await journeys.messages(id)).map((m) => `${m.stepId} ${m.channel} ${m.status}${m.reason ? ` ${m.reason}` : ''}`).sort();
    const publishes = aws.calls.filter((c) => c.target === 'sns.Publish' && JSON.stringify(c.body).includes(id));
    const emails = aws.calls.filter((c) => c.target === 'POST /v2/email/outbound-emails' && JSON.stringify(c.body).includes(`${id}@example.com`));
    return { result, records, publishes, emails };
  }

  it('sends WhatsApp from the deployment\'s phone number: the exact SendWhatsAppMessage, the Meta message as bytes', async () => {
    const before = aws.calls.length;
    const { result, records } = await notify('aws-wa-ok', { phone: '+447700900123' }, 'whatsapp');
    expect(result).toEqual({ status: 'sent' });
    expect(records).toEqual(['notify whatsapp sent']);
    const sends = aws.calls.slice(before).filter((c) => c.target === 'POST /v1/whatsapp/send');
    expect(sends.map((c) => ({ ...c.body, message: JSON.parse(Buffer.from(String(c.body.message), 'base64').toString('utf8')) as unknown }))).toEqual([
      {
        originationPhoneNumberId: 'phone-number-id-0123456789abcdef0123456789abcdef',
        metaApiVersion: 'v20.0',
        message: { messaging_product: 'whatsapp', recipient_type: 'individual', to: '+447700900123', type: 'template', template: { name: 'order_shipped', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'o-aws-wa-ok' }] }] } },
      },
    ]);
  });

  it("publishes to the customer's endpoint of the application: the exact SNS Publish", async () => {
    const before = aws.calls.length;
    const { result, records, emails } = await notify('aws-push-ok', { pushToken: ENDPOINT });
    expect(result).toEqual({ status: 'sent' });
    expect(records).toEqual(['notify push sent']);
    expect(emails).toEqual([]);
    const publishes = aws.calls.slice(before).filter((c) => c.target === 'sns.Publish');
    expect(publishes.map((c) => ({ ...c.body, Message: JSON.parse(String(c.body.Message)) as unknown }))).toEqual([
      {
        Action: 'Publish',
        Version: '2010-03-31',
        TargetArn: ENDPOINT,
        MessageStructure: 'json',
        Message: {
          default: 'It is on its way.',
          GCM: JSON.stringify({ notification: { title: 'Order o-aws-push-ok has shipped', body: 'It is on its way.' } }),
          APNS: JSON.stringify({ aps: { alert: { title: 'Order o-aws-push-ok has shipped', body: 'It is on its way.' } } }),
          APNS_SANDBOX: JSON.stringify({ aps: { alert: { title: 'Order o-aws-push-ok has shipped', body: 'It is on its way.' } } }),
        },
      },
    ]);
  });

  it('skips an endpoint of another platform application (invalid-address), publishing nothing, and falls back to email', async () => {
    const { result, records, publishes, emails } = await notify('aws-push-other-app', { pushToken: OTHER_APP_ENDPOINT });
    expect(result).toEqual({ status: 'sent' });
    expect(records).toEqual(['notify push skipped invalid-address', 'notify.fallback email sent']);
    expect(publishes).toEqual([]);
    expect(emails).toHaveLength(1);
  });

  it('skips a pushToken that is no endpoint ARN at all (a raw device token), and falls back to email', async () => {
    const before = aws.calls.length;
    const { result, records, emails } = await notify('aws-push-raw', { pushToken: 'fcm:dGhpcyBpcyBhIGRldmljZSB0b2tlbg' });
    expect(result).toEqual({ status: 'sent' });
    expect(records).toEqual(['notify push skipped invalid-address', 'notify.fallback email sent']);
    expect(aws.calls.slice(before).filter((c) => c.target === 'sns.Publish')).toEqual([]);
    expect(emails).toHaveLength(1);
  });
});
