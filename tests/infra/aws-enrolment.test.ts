import type { Context, EventBridgeEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/profile';
import { JourneyStore } from '../../functions/journeys/store';
import { PROFILE_EVENT_SOURCE } from '../../shared';
import { busEvent, aliasArn, startAwsStandIn, TABLE, type AwsStandIn } from '../helpers/aws';
import { ev } from '../helpers/events';

/**
 * Enrolment against AWS's delivery semantics, through the deployed entry points (the profile
 * consumer's and the starter's handler modules, configured by the environment the stack sets,
 * dynalite behind them, a stand-in recording the Step Functions calls). In AWS the consumer and
 * the starter are independent asynchronous invocations: EventBridge delivers to each in no order,
 * after its own delay (a cold start, a throttle, a retry minutes later). A trigger must never lose
 * its customer to that order, and a trigger that starts nothing is counted with its reason.
 */

type Handler = (event: EventBridgeEvent<string, unknown>, context: Context) => Promise<unknown>;
const lambdaContext = { functionName: 'rapport', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

describe('AWS: a trigger is never lost to arrival order', () => {
  let aws: AwsStandIn;
  let consumer: Handler;
  let starter: Handler;
  let store: JourneyStore;
  const startsOf = (journeyId: string) => aws.sfnCalls().filter((c) => c.target === 'AWSStepFunctions.StartExecution' && c.body.stateMachineArn === aliasArn(journeyId));

  beforeAll(async () => {
    aws = await startAwsStandIn();
    store = new JourneyStore(documentClient(aws.dynamo.client), TABLE);
    ({ handler: consumer } = (await import('../../functions/profile/consumer-handler')) as unknown as { handler: Handler });
    ({ handler: starter } = (await import('../../functions/journeys/starter-handler')) as unknown as { handler: Handler });
  }, 60_000);
  afterAll(() => aws.close());

  it("a new customer's Signed Up reaching the starter before the profile consumer, which runs later than any fixed wait, is enrolled exactly once", async () => {
    // Prepare: a sign-up of a customer Rapport has never seen.
    const signedUp = busEvent(ev('Signed Up', '2026-11-20T10:00:00Z', { plan: 'free' }, { userId: 'cust-late', traits: { email: 'late@shop.example' } }));
    const entered = (await store.stats('welcome')).entered ?? 0;
    aws.calls.length = 0;

    // Act: the rule's delivery to the starter comes first (no profile yet); the consumer's, however late, after it.
    const atStarter = await starter(signedUp, lambdaContext);
    await consumer(signedUp, lambdaContext);

    // Assess: enrolled once, by the invocation that applied the event; the starter leaves customer events to it.
    expect((await store.runs('cust-late', 'welcome')).map((r) => r.status)).toEqual(['running']);
    expect(startsOf('welcome')).toHaveLength(1);
    expect((await store.stats('welcome')).entered).toBe(entered + 1);
    expect(atStarter).toEqual([]);

    // Redeliveries of the trigger to both (at least once) enrol no one twice.
    await consumer(signedUp, lambdaContext);
    await starter(signedUp, lambdaContext);
    const starts = startsOf('welcome');
    expect(new Set(starts.map((c) => c.body.name)).size).toBe(1);
    expect((await store.runs('cust-late', 'welcome')).map((r) => r.status)).toEqual(['running']);
    expect((await store.stats('welcome')).entered).toBe(entered + 1);
  });

  it('a derived trigger for a customer without a profile (erased meanwhile) starts nothing and is counted as skipped.no-profile', async () => {
    // A Customer Became Inactive published by the sweep just before the customer was erased.
    const inactive = { ...busEvent(ev('Customer Became Inactive', '2026-11-20T10:00:00Z', { inactiveDays: 60 }, { userId: 'cust-gone' })), source: PROFILE_EVENT_SOURCE };
    const skipped = (await store.stats('win-back'))['skipped.no-profile'] ?? 0;
    aws.calls.length = 0;

    const outcomes = await starter(inactive, lambdaContext);

    expect(outcomes).toEqual([{ journeyId: 'win-back', status: 'skipped', reason: 'no-profile' }]);
    expect(startsOf('win-back')).toEqual([]);
    expect((await store.stats('win-back'))['skipped.no-profile']).toBe(skipped + 1);
  });
});
