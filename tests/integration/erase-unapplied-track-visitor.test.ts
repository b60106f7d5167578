/**
 * Issue 10 (erasure of an id whose events are not applied yet; found by the seventh audit). A customer's first call
 * naming the account is often a `track` (analytics.js sends the anonymousId on every call): visitor V leaves their
 * email, `track {userId: X, anonymousId: V, event: "Signed Up"}` is accepted and not applied yet, DELETE X answers,
 * and the track is then dropped as the erased life's. Proves that the consumer erases the unowned visitor any
 * dropped erased-life event links (`linkOf`: track, page and screen as well as identify), so no item names the
 * email; the control applies the same track before the DELETE.
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
