/**
 * Audit 6 (issue 10; fixed: within a group denials are applied last, and a back-dated denial that finds no new life yet is parked beside the tombstone for the new life to fold in), consent vs the "came back" rule; the fifth audit's `denialsOnly` fix).
 *
 * Promise (README "Which consent change wins" and "Privacy: erasure"): a denial received after the erasure
 * completed "applies to the new life whatever its date, as a denial received after a grant always wins";
 * "the greatest key wins (a denial wins a tie), so the outcome does not depend on the order events are
 * processed in".
 *
 * How it breaks: the customer is erased. Later ONE request carries their comeback: an `identify` of the new
 * life granting email (`consent: {email: true}`, dated now) and an `Unsubscribed` dated (by the sender's
 * clock) before the erasure. Both are received at the same instant, after the erasure completed: by the rule
 * the denial wins (its key is its receipt; the grant's is min(event time, receipt), no greater). When the
 * batch lists the identify first the profile ends `denied`; listed the other way round it ends `granted`
 * and marketing is allowed: the outcome depends on the processing order.
 *
 * Cause: functions/profile/consumer.ts:236-240 — `newLifeDenial` only turns a back-dated denial into
 * `denialsOnly` when the profile it meets already has `rebornAfter` (`profile?.rebornAfter === undefined`
 * returns undefined). Processed before the event that starts the new life, the denial meets no profile,
 * `ofErasedLife` (no profile, `!startsNewLife`) is true, and it is dropped for good; the identify that
 * follows then starts the new life without it. Ingest's hold is undone too
 * (functions/profile/store.ts `#undoHoldIfErased`: `hasNewLife` is false while the identify is not applied).
 *
 * Suggested fix: a denial received after the erasure completed must not be dropped merely because the new
 * life is not written yet: keep its hold (keyed by its receipt) while the tombstone lives, and let the
 * event that starts the new life read the holds (or the consumer park the denial-only part, e.g. a
 * `denials` record in the tombstone's partition, hashed id) and fold them in; or, within one group, apply
 * `denialsOnly` events after the event that starts the new life.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';

describe('a back-dated denial received with the comeback, listed before it', () => {
  let engine: Engine | undefined;
  afterAll(() => engine?.stop());

  it('unsubscribes the new life whichever order the batch lists them in', async () => {
    engine = await startTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: undefined } });
    const api = client(engine);
    const ids = { identifyFirst: 'a6-nl-order-1', denialFirst: 'a6-nl-order-2' };

    for (const id of Object.values(ids)) {
      await api.sendAndSettle([{ type: 'identify', userId: id, messageId: `${id}-old`, traits: { email: `${id}@example.org` }, timestamp: new Date(Date.now() - 60_000).toISOString() }]);
    }
    const erasureBegan = Date.now();
    for (const id of Object.values(ids)) expect((await api.del(`/v1/customers/${id}`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 20));

    const comeback = (id: string) => ({ type: 'identify', userId: id, messageId: `${id}-new`, traits: { email: `${id}@example.org`, consent: { email: true } } });
    const denial = (id: string) => ({ type: 'track', userId: id, messageId: `${id}-unsub`, event: 'Unsubscribed', properties: { channel: 'email' }, timestamp: new Date(erasureBegan - 1_000).toISOString() });

    // The same two events, received together after the erasure completed; only the order in the batch differs.
    await api.sendAndSettle([comeback(ids.identifyFirst), denial(ids.identifyFirst)]);
    await api.sendAndSettle([denial(ids.denialFirst), comeback(ids.denialFirst)]);

    // Control: listed after the comeback, the denial unsubscribes the new life.
    expect((await api.customer(ids.identifyFirst)).consent.email.status).toBe('denied');
    // The break: listed before it, the denial is dropped and the grant stands.
    expect((await api.customer(ids.denialFirst)).consent.email.status, 'consent.email when the denial is processed before the comeback').toBe('denied');
  }, 60_000);
});
