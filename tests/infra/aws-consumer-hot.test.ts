import type { Context, EventBridgeEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { documentClient, ProfileStore } from '../../functions/profile';
import { busEvent, startAwsStandIn, TABLE, type AwsStandIn } from '../helpers/aws';
import { ev } from '../helpers/events';

/**
 * The profile consumer's Lambda entry point as deployed (functions/profile/consumer-handler.ts)
 * against dynalite, fed a hot customer as AWS delivers it: at least once, in no order, many
 * invocations at once. One module instance taking many invocations at once (Lambda's
 * multi-concurrency runtime, and the embedded engine) and several instances, each one
 * invocation at a time (one Lambda instance per async invocation), racing one profile item.
 */

type Handler = (event: EventBridgeEvent<string, unknown>, context: Context) => Promise<unknown>;
const lambdaContext = { functionName: 'rapport-profile', awsRequestId: 'req-hot', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;
const T0 = Date.UTC(2026, 10, 3, 8);
const order = (userId: string, n: number, at = new Date(T0 + n * 1000).toISOString()) =>
  ev('Order Completed', at, { orderId: `${userId}-o${n}`, revenue: 1, currency: 'EUR' }, { userId, messageId: `${userId}-m${n}` });

/** A fresh import of the handler module: what a new Lambda instance (a cold start) runs. */
async function instance(): Promise<Handler> {
  vi.resetModules();
  return ((await import('../../functions/profile/consumer-handler')) as unknown as { handler: Handler }).handler;
}

describe('AWS profile consumer: a hot customer', () => {
  let aws: AwsStandIn;
  let profiles: ProfileStore;

  beforeAll(async () => {
    aws = await startAwsStandIn();
    profiles = new ProfileStore(documentClient(aws.dynamo.client), TABLE);
  }, 60_000);
  afterAll(() => aws.close());

  it('300 invocations at once on one instance, for one customer: all applied, none fails', async () => {
    const handler = await instance();
    const events = Array.from({ length: 300 }, (_, n) => order('aws-hot-1', n));

    const results = await Promise.allSettled(events.map((e) => handler(busEvent(e), lambdaContext)));

    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const stored = await profiles.get('aws-hot-1');
    expect(stored?.profile.stats.orderCount).toBe(300);
    expect(stored?.profile.stats.eventCount).toBe(300);
  }, 120_000);

  it('6 instances racing one profile, with duplicates, shuffled, at one timestamp: each event applied once', async () => {
    const handlers = await Promise.all(Array.from({ length: 6 }, () => instance()));
    const at = new Date(T0).toISOString();
    const events = Array.from({ length: 240 }, (_, n) => order('aws-hot-2', n, at));
    // At least once, in no order: every event once, a third of them again, shuffled (seeded).
    let seed = 7;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const deliveries = [...events, ...events.filter((_, n) => n % 3 === 0)].sort(() => random() - 0.5);

    let next = 0;
    const failed: unknown[] = [];
    await Promise.all(
      handlers.map(async (handler) => {
        while (next < deliveries.length) {
          const event = deliveries[next++]!;
          await handler(busEvent(event), lambdaContext).catch((error: unknown) => failed.push(error));
        }
      }),
    );
    // Then a redelivery of some of the first, after more than APPLIED_MAX later events.
    for (const n of [0, 1, 2]) await handlers[0]!(busEvent(events[n]!), lambdaContext);

    expect(failed).toEqual([]);
    const stored = await profiles.get('aws-hot-2');
    expect(stored?.profile.stats.orderCount).toBe(240);
    expect(stored?.profile.stats.eventCount).toBe(240);
  }, 120_000);
});
