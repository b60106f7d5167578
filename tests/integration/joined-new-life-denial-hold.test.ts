/**
 * Audit 6 (issue 10, consent holds vs the came-back rule; the fifth audit's `namedTombstone`/`denialsOnly` fixes).
 *
 * Promise (README "Which consent change wins"): ingest records each denial before it answers, "and the send step
 * honours it from then on, even before the profile shows it"; "no marketing send after a denial's receipt". And
 * ("Privacy: erasure") a denial received after the erasure completed applies to the new life whatever its date.
 *
 * How it breaks: customer E is erased. E comes back, and their new life is joined into customer Y by an alias
 * (`{previousId: E, userId: Y}`, dated after the erasure: allowed, `startsNewLife`). E's app then sends a queued
 * `Unsubscribed` under `userId: E`, dated before the erasure. The profile consumer applies it to Y
 * (`namedTombstone` → `denialsOnly`: correct once it runs). But ingest's consent hold under `C#E` is deleted at
 * once by `#undoHoldIfErased`: E has a tombstone and `hasNewLife(E)` is false (E's record is the frozen forwarding
 * record the join created, without `rebornAfter`). So between ingest's 202 and the consumer applying the event,
 * nothing holds: Y's next marketing email (welcome's getting-started) goes out after the denial was answered.
 *
 * Cause: functions/profile/store.ts:398-400 (`#undoHoldIfErased`: keeps a hold received after the erasure only if
 * `hasNewLife(id)`, i.e. the id's own profile has `rebornAfter`; a new life joined into another customer has none).
 *
 * Suggested fix: keep the hold when the denial was received after the erasure completed and the id has any live
 * record begun after it (its forwarding record frozen into a live customer by a join of its new life, or
 * `rebornAfter`); generally, decide the hold by the same rule as the consumer (`newLifeDenial`), from one function.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { holdConsumer, useTestEngine } from '../helpers/engine';
import { messagesOf, outboxFor, runToEnd } from '../helpers/journeys';

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });

describe('a back-dated denial of an erased id whose new life was joined into another customer, answered 202', () => {
  it('stops the next marketing email before the profile consumer applied it', async () => {
    const erased = 'a6-jnl-e';
    const survivor = 'a6-jnl-y';
    await t.api.send({ type: 'identify', userId: erased, traits: { email: 'a6.jnl.e@example.org' } });
    await clock.idle();
    const erasureBegan = clock.now().getTime();
    expect((await t.api.del(`/v1/customers/${erased}`)).status).toBe(200);
    await clock.run(clock.now().getTime() + 1_000);

    // E comes back; their new life is joined into Y, who subscribes and signs up (welcome's first email goes out).
    await t.api.send({ type: 'identify', userId: survivor, traits: { email: 'a6.jnl.y@example.org' } });
    await clock.idle();
    await t.api.send({ type: 'alias', previousId: erased, userId: survivor });
    await clock.idle();
    expect((await t.api.customer(survivor)).mergedIds).toEqual([erased]);
    await t.api.send([
      { type: 'track', userId: survivor, event: 'Subscribed', properties: { channel: 'email' } },
      { type: 'track', userId: survivor, event: 'Signed Up', properties: {} },
    ]);
    await clock.idle();
    expect(outboxFor(t.engine, survivor).map((m) => m.step)).toEqual(['send-welcome']);

    // Act: E's queued Unsubscribed, dated before the erasure, answered 202; the consumer is late with it.
    const late = holdConsumer(t.engine, (d) => d.userId === erased && d.event === 'Unsubscribed');
    await t.api.send({ type: 'track', userId: erased, event: 'Unsubscribed', properties: { channel: 'email' }, timestamp: new Date(erasureBegan - 1_000).toISOString() });
    await runToEnd(clock, t.engine, survivor, 'welcome');

    // Assess: nothing went out after the denial's receipt.
    expect(late.held).toHaveLength(1);
    const gettingStarted = (await messagesOf(t.engine, survivor)).find((m) => m.stepId === 'send-getting-started');
    expect.soft(gettingStarted, 'the marketing email due after the denial was answered').toMatchObject({ status: 'skipped', reason: 'unsubscribed' });
    // The consumer, once it has the denial, applies it to Y: the denial is one the new life must honour.
    await late.release();
    expect((await t.api.customer(survivor)).consent.email.status).toBe('denied');
  });
});
