/**
 * Audit 7 (issue 10, erasure of an id whose events are not applied yet; the sixth audit's 3af0261, for a customer
 * who came back).
 *
 * Promise (README "Privacy: erasure"; issue 10): after DELETE no item names the erased customer's email or traits,
 * "including events that arrive during or after the erasure"; erasure reaches "their visitor ids". The sixth
 * audit's fix: when the consumer drops an erased-life identify linking a visitor nobody else owns, that visitor
 * (the customer's device, named to them only by that identify) is erased too.
 *
 * How it breaks: the fix runs only while the erased customer has no live profile (`current === undefined`). Visitor
 * V leaves their email (newsletter form); the account's identify `{userId: X, anonymousId: V}` is accepted, not
 * applied yet; DELETE X answers 200. Before the late identify arrives, X comes back (a new identify, new email,
 * new life). The late identify is then dropped as the erased life's, and V is not erased: its profile keeps the
 * erased life's email for good, out of reach of any later erasure of X.
 *
 * Cause: functions/profile/consumer.ts, drop path of `applyGroup`: `current === undefined` in the condition that
 * calls `erasesVisitor`; with a new life, `current` is that life's profile.
 *
 * Suggested fix: erase the unowned visitor whenever an erased-life event linking it is dropped, whether or not the
 * customer has a new life (the visitor is not linked to the new life: the new life's own identify would own it).
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
