/**
 * Audit 6 (issue 10, erasure of an id whose events are not applied yet; the fifth audit's 641ea35). Fixed: the
 * consumer erases the unowned visitor a dropped erased-life identify links (`erasesVisitor`).
 *
 * Promise (README "Privacy: erasure"; issue 10): after DELETE answers no DynamoDB item names the customer's id,
 * email, phone or traits, "including events that arrive during or after the erasure"; erasure reaches "their
 * visitor ids"; DELETE of an id with no profile erases all the same, "since its events may be accepted and not
 * applied yet". ProfileStore's own rule (`#ownVisitors`): "A visitor nobody owns ... is this customer's by the
 * identify that named it".
 *
 * How it breaks: a visitor V signs up for the newsletter before creating an account (`identify` with only the
 * anonymousId and `traits.email`: analytics.js's usual call); V is a visitor profile `anon:V` with the email and
 * its timeline. The account is created: `identify {userId: X, anonymousId: V, traits: {email}}` — accepted (202),
 * not applied yet. The customer asks to be erased: DELETE X answers 200 (no profile yet: the 5th audit's fix).
 * The identify then arrives and is dropped (X is erased) — and with it the only record that V is X: V's profile
 * and timeline keep the customer's email for good, reachable by nobody's erasure of X. Applied one second
 * earlier, the same identify would have merged V into X and DELETE X would have erased both.
 *
 * Cause: functions/profile/consumer.ts:258-262 — dropping an event of the erased life undoes a link an earlier
 * attempt may have written (`undoLink`), but never erases the visitor the event links to the erased customer;
 * functions/profile/store.ts `erase` reaches visitors only through the profile and the timeline, neither of which
 * an unapplied identify is on.
 *
 * Suggested fix: when the consumer drops an erased-life event that links a visitor (`linkOf`) nobody else owns
 * (no alias, or an alias naming the erased id), erase that visitor too (tombstone `anon:<V>` with the same
 * `erasedAt`, delete its partition and alias, redact), as `#ownVisitors` treats an unclaimed visitor named by the
 * customer's identify.
 */
import { describe, expect, it } from 'vitest';
import { holdConsumer, profileItemsNaming, useTestEngine } from '../helpers/engine';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT' });

describe('DELETE of a new customer whose first identify (linking their visitor) is not applied yet', () => {
  it('leaves no item naming their email', async () => {
    const id = 'a6-unapplied-1';
    const visitor = 'a6-unapplied-device-1';
    const email = 'a6.unapplied@example.org';

    // The newsletter form: the visitor leaves their email before having an account.
    await t.api.sendAndSettle([
      { type: 'page', anonymousId: visitor, messageId: 'a6-unapplied-page-1', name: 'Pricing', properties: {} },
      { type: 'identify', anonymousId: visitor, messageId: 'a6-unapplied-newsletter', traits: { email } },
    ]);
    expect((await profileItemsNaming(t.engine, [email])).length, 'the visitor holds the email').toBeGreaterThan(0);

    // The account: the identify naming both ids is accepted; the profile consumer has not applied it yet.
    const late = holdConsumer(t.engine, (d) => d.userId === id);
    await t.api.send({ type: 'identify', userId: id, anonymousId: visitor, messageId: 'a6-unapplied-account', traits: { email } });
    expect(late.held).toHaveLength(1);

    // Act: the customer asks to be erased; then the identify arrives.
    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
    await late.release();
    await t.engine.settle();

    // Assess
    expect(await profileItemsNaming(t.engine, [email, id]), 'items naming the erased customer').toEqual([]);
  });

  it('control: the same identify applied before the DELETE, and nothing is left', async () => {
    const id = 'a6-unapplied-2';
    const visitor = 'a6-unapplied-device-2';
    const email = 'a6.unapplied.2@example.org';
    await t.api.sendAndSettle([
      { type: 'page', anonymousId: visitor, messageId: 'a6-unapplied-page-2', name: 'Pricing', properties: {} },
      { type: 'identify', anonymousId: visitor, messageId: 'a6-unapplied-newsletter-2', traits: { email } },
    ]);
    await t.api.sendAndSettle({ type: 'identify', userId: id, anonymousId: visitor, messageId: 'a6-unapplied-account-2', traits: { email } });
    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
    expect(await profileItemsNaming(t.engine, [email, id])).toEqual([]);
  });
});
