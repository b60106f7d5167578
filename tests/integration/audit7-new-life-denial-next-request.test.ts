/**
 * Audit 7 (issue 10, consent vs the "came back" rule; the sixth audit's d67b157: a back-dated denial waits
 * NEW_LIFE_WAIT_MS for the new life beside it).
 *
 * Promise (README "Which consent change wins" and "Privacy: erasure"): "a grant beats a denial only if it happened
 * after the denial reached Rapport"; a denial received after the erasure completed "applies to the new life
 * whatever its date"; "the outcome does not depend on the order events are processed in".
 *
 * How it breaks: the customer is erased. Their app then sends two requests back to back, a few milliseconds apart:
 * a queued `Unsubscribed` (dated before the erasure), then the comeback `identify` granting email, dated *before*
 * the first request was sent (taken from the sender's clock when it built them). The grant's key is its event time,
 * which is before the denial's receipt: the denial must win. It ends `granted`.
 *
 * Cause: functions/profile/consumer.ts `applyGroup`/`drain`: the denial's group waits for `store.nextWrite` of the
 * customer, but the comeback has the same routing key, so it queues behind the waiting group in `drain` and cannot
 * be applied until the wait has timed out (1 s): the wait can never see it. The denial is then dropped for good
 * (and ingest's hold undone), and the comeback starts the new life without it. Only events that arrive in the very
 * same consumer group are covered; anything else (a second request, a PutEvents chunk, a redelivery) is not.
 *
 * Suggested fix: do not block the routing key's queue while waiting (re-queue the denial behind what is queued,
 * or fold queued events into the retry), or better, keep a denial received after the erasure completed (keyed by
 * its receipt, in the tombstone's hashed partition, for the tombstone's life) and have the event that starts the
 * new life fold it in.
 */
import { describe, expect, it } from 'vitest';
import { useTestEngine } from '../helpers/engine';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: undefined } });

describe('a back-dated denial of an erased customer, then their comeback in the next request', () => {
  it('unsubscribes the new life: the grant happened before the denial reached Rapport', async () => {
    const id = 'a7-nl-next-request';
    await t.api.sendAndSettle([{ type: 'identify', userId: id, messageId: `${id}-old`, traits: { email: `${id}@example.org` }, timestamp: new Date(Date.now() - 60_000).toISOString() }]);
    const erasureBegan = Date.now();
    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);

    // The sender builds both events now (after the erasure completed), and sends them in two requests.
    const builtAt = new Date().toISOString();
    const denial = { type: 'track', userId: id, messageId: `${id}-unsub`, event: 'Unsubscribed', properties: { channel: 'email' }, timestamp: new Date(erasureBegan - 1_000).toISOString() };
    const comeback = { type: 'identify', userId: id, messageId: `${id}-new`, traits: { email: `${id}@example.org`, consent: { email: true } }, timestamp: builtAt };
    await t.api.send([denial]);
    await t.api.send([comeback]);
    await t.engine.settle();

    const consent = (await t.api.customer(id)).consent.email;
    expect(consent.status, `consent.email (grant dated ${builtAt}, before the denial's receipt)`).toBe('denied');
  }, 30_000);

  it('control: the same two events in one request', async () => {
    const id = 'a7-nl-same-request';
    await t.api.sendAndSettle([{ type: 'identify', userId: id, messageId: `${id}-old`, traits: { email: `${id}@example.org` }, timestamp: new Date(Date.now() - 60_000).toISOString() }]);
    const erasureBegan = Date.now();
    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
    const builtAt = new Date().toISOString();
    await t.api.sendAndSettle([
      { type: 'track', userId: id, messageId: `${id}-unsub`, event: 'Unsubscribed', properties: { channel: 'email' }, timestamp: new Date(erasureBegan - 1_000).toISOString() },
      { type: 'identify', userId: id, messageId: `${id}-new`, traits: { email: `${id}@example.org`, consent: { email: true } }, timestamp: builtAt },
    ]);
    expect((await t.api.customer(id)).consent.email.status).toBe('denied');
  }, 30_000);
});
