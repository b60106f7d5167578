/**
 * Found by the third audit of issue 10: the consumer's segment changes are guarded by its write-then-check (the tombstone
 * read after its writes, `undoneIfErased`) only when the derived events that follow them are published. When
 * PutEvents fails (a throttle past the retries) the consumer throws straight after the member writes, with no
 * erasure check: a member write that landed after the eraser's `deleteMembers` re-creates the member item (it names
 * the customer, GSI `SEG#<segment>` / `<customerId>`) and counts them in. The redelivery finds the customer erased and
 * drops the event, so nobody takes them out: after DELETE answered 200 the segment lists and counts the erased
 * customer for good. (The same unchecked member writes: the republish of a duplicate's outbox, `written.length === 0`,
 * and the sweep's republish, both followed by `leaveIfJoined` alone.)
 */
import type { FinalizeRequestMiddleware } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import type { PutEventsCall } from '../../infra/embedded/faults';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { profileItemsNaming, startTestEngine } from '../helpers/engine';

const ID = 'aud3-seg-7951';

describe('a segment member write of a consumer whose derived events fail to publish, racing an erasure', () => {
  it('leaves no member item and no count of the erased customer', async () => {
    let failPublish = false;
    // Virtual time: the consumer's failed attempt ends without time moving; its retry is a timer on the clock.
    const clock = new VirtualClock('2026-03-02T10:00:00Z');
    const engine = await startTestEngine({
      clock,
      sweepEveryMs: 0,
      logLevel: 'SILENT',
      faults: {
        putEvents: (call: PutEventsCall) => (failPublish && call.entries.some((e) => e.Source === 'rapport.profile') ? 'InternalException' : undefined),
      },
    });
    // Hold the consumer's member write that puts the customer into a segment until the erasure has answered.
    let hold = false;
    let held: () => void = () => {};
    const reached = new Promise<void>((resolve) => (held = resolve));
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const stall: FinalizeRequestMiddleware<object, object> = (next, context) => async (args) => {
      const input = args.input as { Key?: Record<string, { S?: string }>; ExpressionAttributeValues?: Record<string, { BOOL?: boolean }> };
      if (hold && context.commandName === 'UpdateItemCommand' && input.Key?.PK?.S === `C#${ID}` && input.Key.SK?.S?.startsWith('G#') && input.ExpressionAttributeValues?.[':in']?.BOOL === true) {
        hold = false;
        held();
        await released;
      }
      return next(args);
    };
    engine.dynamo.client.middlewareStack.addRelativeTo(stall as never, { name: 'auditStallMemberWrite', relation: 'after', toMiddleware: 'retryMiddleware' });
    try {
      const api = client(engine);
      await api.sendAndSettle({ type: 'identify', userId: ID, traits: { email: 'aud3.seg.7951@example.org' } });
      const before = (await api.get('/v1/segments')).json as unknown as { segments: Array<{ id: string; count: number }> };

      hold = true;
      failPublish = true;
      await api.send({ type: 'track', userId: ID, event: 'Order Completed', properties: { orderId: 'o-1', total: 30, currency: 'EUR' } });
      await reached;
      expect((await api.del(`/v1/customers/${ID}`)).status).toBe(200);
      release();
      // The attempt whose member write was held publishes, fails past the publisher's retries and throws.
      await clock.idle();
      failPublish = false;
      // Its retry (a minute of the clock is plenty).
      await clock.run(clock.now().getTime() + 60_000);
      await engine.settle();

      const after = (await api.get('/v1/segments')).json as unknown as { segments: Array<{ id: string; count: number }> };
      const grew = after.segments.filter((s) => s.count > (before.segments.find((b) => b.id === s.id)?.count ?? 0)).map((s) => `${s.id}=${s.count}`);
      expect({ items: await profileItemsNaming(engine, [ID]), grew }).toEqual({ items: [], grew: [] });
    } finally {
      release();
      await engine.stop();
    }
  }, 120_000);
});
