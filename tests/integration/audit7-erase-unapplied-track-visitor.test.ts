/**
 * Audit 7 (issue 10, erasure of an id whose events are not applied yet; the sixth audit's 3af0261).
 *
 * Promise (README "Privacy: erasure"; issue 10): after DELETE answers no item names the customer's id, email or
 * traits, "including events that arrive during or after the erasure"; erasure reaches "their visitor ids". The
 * sixth audit's fix: when the consumer drops an erased-life event that links a visitor nobody else owns, that
 * visitor is erased too.
 *
 * How it breaks: the fix looks only at `identify`. Every event with a userId and an anonymousId links the visitor
 * (consumer `linkOf`; the eraser's `#visitorsOnTimeline` reads any such event too), and analytics.js sends the
 * anonymousId on every call: the first call naming the account is as often a `track` ("Signed Up") as an
 * identify. Visitor V leaves their email (newsletter form); `track {userId: X, anonymousId: V, event: "Signed Up"}`
 * is accepted and not applied yet; DELETE X; the track is dropped, and V keeps the email for good.
 *
 * Cause: functions/profile/consumer.ts (drop path of `applyGroup`): `event.type === 'identify'` in the condition
 * that calls `erasesVisitor`.
 *
 * Suggested fix: drop the `identify` condition: any dropped event of the erased life with a link (`linkOf`) to an
 * unowned visitor erases that visitor (as `#visitorsOnTimeline` already treats any event with both ids).
 */
import { describe, expect, it } from 'vitest';
import { holdConsumer, profileItemsNaming, useTestEngine } from '../helpers/engine';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT' });

describe('DELETE of a new customer whose first call (a track linking their visitor) is not applied yet', () => {
  it('leaves no item naming their email', async () => {
    const id = 'a7-unapplied-track-1';
    const visitor = 'a7-unapplied-track-device-1';
    const email = 'a7.unapplied.track@example.org';

    await t.api.sendAndSettle([
      { type: 'page', anonymousId: visitor, messageId: 'a7-ut-page-1', name: 'Pricing', properties: {} },
      { type: 'identify', anonymousId: visitor, messageId: 'a7-ut-newsletter-1', traits: { email } },
    ]);
    expect((await profileItemsNaming(t.engine, [email])).length, 'the visitor holds the email').toBeGreaterThan(0);

    const late = holdConsumer(t.engine, (d) => d.userId === id);
    await t.api.send({ type: 'track', userId: id, anonymousId: visitor, messageId: 'a7-ut-signed-up-1', event: 'Signed Up', properties: {} });
    expect(late.held).toHaveLength(1);

    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
    await late.release();
    await t.engine.settle();

    expect(await profileItemsNaming(t.engine, [email, id]), 'items naming the erased customer').toEqual([]);
  });

  it('control: the same track applied before the DELETE, and nothing is left', async () => {
    const id = 'a7-unapplied-track-2';
    const visitor = 'a7-unapplied-track-device-2';
    const email = 'a7.unapplied.track.2@example.org';
    await t.api.sendAndSettle([
      { type: 'page', anonymousId: visitor, messageId: 'a7-ut-page-2', name: 'Pricing', properties: {} },
      { type: 'identify', anonymousId: visitor, messageId: 'a7-ut-newsletter-2', traits: { email } },
    ]);
    await t.api.sendAndSettle({ type: 'track', userId: id, anonymousId: visitor, messageId: 'a7-ut-signed-up-2', event: 'Signed Up', properties: {} });
    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
    expect(await profileItemsNaming(t.engine, [email, id])).toEqual([]);
  });
});
