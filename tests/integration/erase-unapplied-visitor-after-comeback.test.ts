/**
 * Issue 10 (erasure of an id whose events are not applied yet, after the customer came back; found by the seventh
 * audit). Visitor V leaves an email; `identify {userId: X, anonymousId: V}` is accepted, not applied; DELETE X; X
 * comes back (a new life, a new address) before the late identify arrives. Proves that dropping that identify as the
 * erased life's erases the unowned visitor it links whether or not the customer has a new life, so no item names the
 * erased life's email (the new life keeps its own, and a link the new life made itself is left alone).
 */
import { describe, expect, it } from 'vitest';
import { holdConsumer, profileItemsNaming, useTestEngine } from '../helpers/engine';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT' });

describe('a late identify of the erased life linking a visitor, after the customer came back', () => {
  it('leaves no item naming the erased life\'s email', async () => {
    const id = 'a7-unapplied-comeback-1';
    const visitor = 'a7-unapplied-comeback-device-1';
    const oldEmail = 'a7.unapplied.comeback.old@example.org';

    await t.api.sendAndSettle([
      { type: 'page', anonymousId: visitor, messageId: 'a7-uc-page-1', name: 'Pricing', properties: {} },
      { type: 'identify', anonymousId: visitor, messageId: 'a7-uc-newsletter-1', traits: { email: oldEmail } },
    ]);

    const late = holdConsumer(t.engine, (d) => d.messageId === 'a7-uc-account-1');
    await t.api.send({ type: 'identify', userId: id, anonymousId: visitor, messageId: 'a7-uc-account-1', traits: { email: oldEmail } });
    expect(late.held).toHaveLength(1);
    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);

    // The customer comes back (a new life, a new address) before the late identify arrives.
    await t.api.sendAndSettle({ type: 'identify', userId: id, messageId: 'a7-uc-comeback-1', traits: { email: 'a7.unapplied.comeback.new@example.org' } });
    expect((await t.api.customer(id)).traits.email).toBe('a7.unapplied.comeback.new@example.org');

    await late.release();
    await t.engine.settle();

    expect(await profileItemsNaming(t.engine, [oldEmail]), 'items naming the erased life\'s email').toEqual([]);
  });
});
