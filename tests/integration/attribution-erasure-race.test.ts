/**
 * Audit 5 (issue 10, erasure while events race it: the journey router's attribution write).
 *
 * Promise (README "Privacy: erasure"; issue 10 "Erasure that is complete while events race it"): after DELETE
 * answers, no item names the customer; "every writer (the profile consumer, ingest's holds, journey steps' message
 * records, waits and tag/update writes, the sweep) writes, then reads the tombstone strongly consistently and deletes
 * what it wrote if the customer is erased".
 *
 * How it breaks: one writer is missing from that list. After the profile consumer has applied an `Order Completed`
 * (and done its own write-then-check), the journey router (`afterApply` -> `route` -> `attribute`,
 * functions/journeys/runtime.ts:392 and 445-469; same code in AWS through `awsJourneyConsumerHooks`) credits the
 * conversion to the customer's last message: `JourneyStore.creditConversion` (functions/journeys/store.ts:732-744)
 * puts `C#<id> / AT#<source>#<messageId>` (journey, step, channel, execution, times, order value) with no tombstone
 * check after it. When the eraser's query runs between the router's read of the messages and that put, DELETE
 * answers 200 and the attribution item is written afterwards: it stays in the customer's partition for good (no
 * TTL), naming the erased customer's id (its partition key) and their order.
 *
 * Suggested fix: make the credit a writer like the others: after the put (and after the message's `convertedAt`
 * update), read the customer's tombstone (`undoneIfErased`, as the gateway does) and delete the attribution item
 * when the customer was erased and this is not their new life.
 */
import type { FinalizeRequestMiddleware } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { client } from '../helpers/client';
import { profileItemsNaming, startTestEngine } from '../helpers/engine';

const ID = 'a5-attr-7741';

describe('a conversion credited while the customer is being erased', () => {
  it('leaves no attribution item naming the erased customer', async () => {
    const engine = await startTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: undefined } });
    // Hold the router's attribution put for this customer until DELETE has answered.
    let hold = false;
    let held: () => void = () => {};
    const reached = new Promise<void>((resolve) => (held = resolve));
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const stall: FinalizeRequestMiddleware<object, object> = (next, context) => async (args) => {
      const input = args.input as { Item?: Record<string, { S?: string }> };
      if (hold && context.commandName === 'PutItemCommand' && input.Item?.PK?.S === `C#${ID}` && input.Item.SK?.S?.startsWith('AT#')) {
        hold = false;
        held();
        await released;
      }
      return next(args);
    };
    engine.dynamo.client.middlewareStack.addRelativeTo(stall as never, { name: 'audit5StallAttribution', relation: 'after', toMiddleware: 'retryMiddleware' });
    try {
      const api = client(engine);
      // A welcome email is sent (welcome counts Order Completed as its conversion: the default attribution).
      await api.sendAndSettle([
        { type: 'identify', userId: ID, traits: { email: 'a5.attr.7741@example.org' } },
        { type: 'track', userId: ID, event: 'Signed Up', properties: {} },
      ]);
      for (let i = 0; i < 100 && !engine.outbox.entries.some((m) => m.channel === 'email' && m.to === 'a5.attr.7741@example.org'); i++) {
        await new Promise((r) => setTimeout(r, 50));
        await engine.settle();
      }
      expect(engine.outbox.entries.some((m) => m.channel === 'email' && m.to === 'a5.attr.7741@example.org')).toBe(true);

      // The order: applied to the profile, then credited by the router; DELETE runs between the two.
      hold = true;
      await api.send({ type: 'track', userId: ID, event: 'Order Completed', properties: { orderId: 'o-7741', revenue: 42, currency: 'EUR' } });
      await reached;
      expect((await api.del(`/v1/customers/${ID}`)).status).toBe(200);
      release();
      await engine.settle();
      await engine.journeys.sfn.idle();

      expect(await profileItemsNaming(engine, [ID]), 'items naming the erased customer after DELETE answered and the router finished').toEqual([]);
    } finally {
      release();
      await engine.stop();
    }
  }, 120_000);
});
