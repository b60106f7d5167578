import type { APIGatewayProxyEventV2, Context, EventBridgeEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unsubscribeUrl } from '../../functions/journeys/unsubscribe';
import { JourneyStore } from '../../functions/journeys/store';
import { documentClient, ProfileStore } from '../../functions/profile';
import { ENV, INGEST_EVENT_SOURCE, type NormalisedEvent } from '../../shared';
import { JOURNEY_ENV } from '../../shared/config/journey-env';
import { busEvent, httpApiEvent, startAwsStandIn, TABLE, type AwsStandIn } from '../helpers/aws';
import { ev, identify } from '../helpers/events';
import { TEMPLATES_DIR } from './synth';

/**
 * The consent rule at the AWS entry points, called as AWS calls them: the ingest
 * function (HTTP API payload v2), the profile consumer (an EventBridge event) and
 * the step function (a Step Functions Task payload), against dynalite, with
 * Secrets Manager, EventBridge and SES answered by the stand-in. EventBridge here
 * delivers nothing by itself: the window between ingest's answer and the
 * consumer applying the event stays open for as long as the test likes.
 */

const SOURCE_SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rapport-source-default';
const UNSUBSCRIBE_SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rapport-unsubscribe';
const UNSUBSCRIBE_KEY = 'aws-test-unsubscribe-key';
const WRITE_KEY = 'wk_aws_consent';
const PUBLIC_URL = 'https://rapport.example.com';
const HOUR = 3_600_000;

const context = (functionName: string) => ({ functionName, awsRequestId: `req-${functionName}`, getRemainingTimeInMillis: () => 30_000 }) as unknown as Context;
type Handler<E> = (event: E, context: Context) => Promise<unknown>;

/** An HTTP API (payload 2.0) request to the ingest function. */
const httpEvent = (method: string, path: string, body?: string, headers: Record<string, string> = {}) => httpApiEvent(path, body, { method, headers: { host: 'rapport.example.com', ...headers } });
const track = (body: Record<string, unknown>) =>
  httpEvent('POST', '/v1/track', JSON.stringify(body), { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}` });

describe('AWS: a denial holds from ingest’s answer, and a future-dated grant does not outlive it', () => {
  let aws: AwsStandIn;
  let ingest: Handler<APIGatewayProxyEventV2>;
  let consume: Handler<EventBridgeEvent<string, unknown>>;
  let step: Handler<unknown>;
  let profiles: ProfileStore;
  let journeys: JourneyStore;

  beforeAll(async () => {
    aws = await startAwsStandIn({
      secrets: { [SOURCE_SECRET]: JSON.stringify({ webhookSecrets: [], writeKeys: [WRITE_KEY] }), [UNSUBSCRIBE_SECRET]: UNSUBSCRIBE_KEY },
      env: {
        [ENV.SOURCES]: JSON.stringify([{ id: 'default', secretArn: SOURCE_SECRET }]),
        [ENV.UNSUBSCRIBE_SECRET]: UNSUBSCRIBE_SECRET,
        [ENV.PUBLIC_URL]: PUBLIC_URL,
        [JOURNEY_ENV.EMAIL_FROM_ADDRESS]: 'hello@example.com',
        [JOURNEY_ENV.TEMPLATES_DIR]: TEMPLATES_DIR,
        [JOURNEY_ENV.SEND_POLICY]: JSON.stringify({ frequencyCap: 10, frequencyWindowDays: 7, quietHours: null, defaultTimeZone: 'UTC' }),
      },
    });
    ({ handler: ingest } = (await import('../../functions/ingest/handler')) as unknown as { handler: typeof ingest });
    ({ handler: consume } = (await import('../../functions/profile/consumer-handler')) as unknown as { handler: typeof consume });
    ({ handler: step } = (await import('../../functions/journeys/step-handler')) as unknown as { handler: typeof step });
    profiles = new ProfileStore(documentClient(aws.dynamo.client), TABLE);
    journeys = new JourneyStore(documentClient(aws.dynamo.client), TABLE);
  }, 60_000);
  afterAll(() => aws.close());

  /** A customer with an email address who subscribed with a timestamp 23 h ahead, applied by the consumer, in a running welcome run. */
  async function subscribedInTheFuture(id: string) {
    const now = Date.now();
    await consume(busEvent(identify(new Date(now - HOUR).toISOString(), { email: `${id}@example.com` }, { userId: id })), context('rapport-profile'));
    await consume(busEvent({ ...ev('Subscribed', new Date(now + 23 * HOUR).toISOString(), { channel: 'email' }, { userId: id }), receivedAt: new Date(now).toISOString() }), context('rapport-profile'));
    expect((await profiles.get(id))?.profile.consent.email.status).toBe('granted');
    await journeys.putRun({ journeyId: 'welcome', executionName: `welcome-${id}`, customerId: id, key: 'welcome', status: 'running', startedAt: new Date(now).toISOString(), triggerMessageId: `signup-${id}` });
  }
  const sendWelcome = (id: string, stepId: string) =>
    step(
      { journeyId: 'welcome', stepId, action: 'send', config: { channel: 'email', template: 'welcome' }, customerId: id, trigger: { messageId: `signup-${id}`, event: 'Signed Up', properties: {} }, execution: `welcome-${id}` },
      context('rapport-steps'),
    );
  const sesCalls = (id: string) => aws.calls.filter((c) => c.target === 'POST /v2/email/outbound-emails' && JSON.stringify(c.body).includes(`${id}@example.com`));
  /** What ingest put on the bus for the customer, delivered to the consumer as EventBridge would (late). */
  async function deliverLate(id: string) {
    const entries = aws.calls
      .filter((c) => c.target === 'AWSEvents.PutEvents')
      .flatMap((c) => c.body.Entries as Array<{ Source: string; Detail: string }>)
      .filter((e) => e.Source === INGEST_EVENT_SOURCE && (JSON.parse(e.Detail) as NormalisedEvent).userId === id);
    expect(entries).toHaveLength(1);
    await consume(busEvent(JSON.parse(entries[0]!.Detail) as NormalisedEvent), context('rapport-profile'));
  }

  it('an Unsubscribed answered 202 stops the next send before the consumer ran, and the consumer then denies', async () => {
    const id = 'aws-unsub';
    await subscribedInTheFuture(id);
    expect(await sendWelcome(id, 'send-welcome')).toEqual({ status: 'sent' });
    expect(sesCalls(id)).toHaveLength(1);

    const res = (await ingest(track({ userId: id, event: 'Unsubscribed', properties: { channel: 'email' } }), context('rapport-ingest'))) as { statusCode: number };
    expect(res.statusCode).toBe(202);
    // The consumer has not seen it (EventBridge is slow today): the profile still says granted, and yet nothing goes out.
    expect((await profiles.get(id))?.profile.consent.email.status).toBe('granted');
    expect(await sendWelcome(id, 'send-getting-started')).toEqual({ status: 'skipped', reason: 'unsubscribed' });
    expect(sesCalls(id)).toHaveLength(1);

    await deliverLate(id);
    expect((await profiles.get(id))?.profile.consent.email).toMatchObject({ status: 'denied', source: 'Unsubscribed' });
  });

  it('a one-click unsubscribe (POST on the link) answered "You are unsubscribed" stops the next send before the consumer ran', async () => {
    const id = 'aws-oneclick';
    await subscribedInTheFuture(id);
    const link = unsubscribeUrl(PUBLIC_URL, UNSUBSCRIBE_KEY, id, 'email');
    const res = (await ingest(httpEvent('POST', link.slice(PUBLIC_URL.length), 'List-Unsubscribe=One-Click', { 'content-type': 'application/x-www-form-urlencoded' }), context('rapport-ingest'))) as { statusCode: number; body: string };
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('You are unsubscribed');

    expect(await sendWelcome(id, 'send-welcome')).toEqual({ status: 'skipped', reason: 'unsubscribed' });
    expect(sesCalls(id)).toHaveLength(0);
    await deliverLate(id);
    expect((await profiles.get(id))?.profile.consent.email.status).toBe('denied');
  });

  it('a hard Message Bounced answered 202 stops the next send, transactional too, before the consumer ran', async () => {
    const id = 'aws-bounce';
    await subscribedInTheFuture(id);
    const res = (await ingest(track({ userId: id, event: 'Message Bounced', properties: { channel: 'email', bounceType: 'hard' } }), context('rapport-ingest'))) as { statusCode: number };
    expect(res.statusCode).toBe(202);
    // The consumer has not seen it: the profile has no suppression, and yet nothing goes out.
    expect((await profiles.get(id))?.profile.suppression).toEqual({});
    expect(await sendWelcome(id, 'send-welcome')).toEqual({ status: 'skipped', reason: 'suppressed' });
    const acknowledge = await step(
      { journeyId: 'welcome', stepId: 'acknowledge', action: 'send', config: { channel: 'email', template: 'complaint-received', kind: 'transactional' }, customerId: id, trigger: { messageId: `signup-${id}`, event: 'Signed Up', properties: {} }, execution: `welcome-${id}` },
      context('rapport-steps'),
    );
    expect(acknowledge).toEqual({ status: 'skipped', reason: 'suppressed' });
    expect(sesCalls(id)).toHaveLength(0);

    await deliverLate(id);
    expect((await profiles.get(id))?.profile.suppression.email).toMatchObject({ reason: 'hard-bounce' });
  });

  it('an Unsubscribed under only the linked visitor id, answered 202, stops the next send before the consumer ran', async () => {
    const id = 'aws-visitor';
    const visitor = 'aws-visitor-anon';
    await subscribedInTheFuture(id);
    await consume(busEvent(identify(new Date(Date.now() - HOUR).toISOString(), {}, { userId: id, anonymousId: visitor })), context('rapport-profile'));
    expect((await profiles.get(id))?.profile.anonymousIds).toEqual([visitor]);

    const res = (await ingest(track({ anonymousId: visitor, event: 'Unsubscribed', properties: { channel: 'email' } }), context('rapport-ingest'))) as { statusCode: number };
    expect(res.statusCode).toBe(202);
    expect((await profiles.get(id))?.profile.consent.email.status).toBe('granted');
    expect(await sendWelcome(id, 'send-welcome')).toEqual({ status: 'skipped', reason: 'unsubscribed' });
    expect(sesCalls(id)).toHaveLength(0);
  });

  it('a denial or a bounce ingest receives while or after the customer is erased leaves no hold behind, unless they came back', async () => {
    const id = 'aws-erased';
    await consume(busEvent(identify(new Date(Date.now() - HOUR).toISOString(), { email: `${id}@example.com` }, { userId: id })), context('rapport-profile'));
    const link = unsubscribeUrl(PUBLIC_URL, UNSUBSCRIBE_KEY, id, 'email');
    const oneClick = () => ingest(httpEvent('POST', link.slice(PUBLIC_URL.length), 'List-Unsubscribe=One-Click', { 'content-type': 'application/x-www-form-urlencoded' }), context('rapport-ingest'));
    const lateUnsubscribe = () => ingest(track({ userId: id, event: 'Unsubscribed', properties: { channel: 'all' }, timestamp: new Date(Date.now() - HOUR).toISOString() }), context('rapport-ingest'));
    const lateBounce = () => ingest(track({ userId: id, event: 'Message Bounced', properties: { channel: 'email', bounceType: 'hard' }, timestamp: new Date(Date.now() - HOUR).toISOString() }), context('rapport-ingest'));

    // While DELETE runs (after its tombstone, before its query), a one-click and an Unsubscribed arrive.
    await profiles.erase(id, { now: () => new Date() }, {
      between: async () => {
        expect(await oneClick()).toMatchObject({ statusCode: 200 });
        expect(await lateUnsubscribe()).toMatchObject({ statusCode: 202 });
        expect(await lateBounce()).toMatchObject({ statusCode: 202 });
      },
    });
    // After it: a late Unsubscribed and a late bounce (dated before the erasure) too.
    expect(await lateUnsubscribe()).toMatchObject({ statusCode: 202 });
    expect(await lateBounce()).toMatchObject({ statusCode: 202 });
    expect(await profiles.allItems(id)).toEqual([]);

    // A one-click now (the link outlives the customer in an inbox): 200, and it re-creates nobody.
    expect(await oneClick()).toMatchObject({ statusCode: 200 });
    expect(await profiles.allItems(id)).toEqual([]);

    // Once they came back (an event dated and received after the erasure starts their new life), a click holds.
    await consume(busEvent(identify(new Date().toISOString(), { name: 'Back' }, { userId: id })), context('rapport-profile'));
    expect(await oneClick()).toMatchObject({ statusCode: 200 });
    expect(await profiles.consentHold(id, 'email', new Date())).toMatchObject({ status: 'denied' });
  });
});
