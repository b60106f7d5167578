/**
 * Audit 5 (issue 10, consent vs the "came back" rule).
 *
 * Promise (ARCHITECTURE decision 8; README "Which consent change wins"): a denial received after a grant
 * always wins, "whatever timestamps the sender chose"; no marketing send happens after a denial's receipt.
 * README "Privacy: erasure" says of a one-click link clicked once the customer came back: "the click is the
 * person's will now, and honouring an unsubscribe too widely harms nobody".
 *
 * How it breaks: a customer is erased and comes back (a new life). Their `Unsubscribed` then arrives, received
 * after the new life began, but dated a second before the erasure (a sender's clock, an offline mobile queue's
 * `originalTimestamp`, a late retry). Ingest answers 202 and records the consent hold, then
 * `ProfileStore.#undoHoldIfErased` (functions/profile/store.ts:385-387) deletes it because the event is not
 * `belongsAfter` the tombstone (dated before the erasure); the profile consumer drops the event for the same
 * reason (functions/profile/consumer.ts:224-225: `event.timestamp <= profile.rebornAfter`). The denial is
 * lost entirely: `consent.email` stays as it was (granted here, by a `Subscribed` of the new life received
 * before the denial) and the welcome email asked for afterwards goes out. A timestamp the sender chose beat a
 * denial received after the grant.
 *
 * Suggested fix: the came-back rule should drop an old event's data, not a denial. A consent denial (and a
 * suppression) of a customer who has a new life applies to the new life whatever its date, as the one-click
 * link does: keep the hold when the customer has a new life (`hasNewLife`) and the denial was received after
 * it began, and let the consumer apply the consent change alone (keyed by its receipt, as every denial is)
 * from an event it otherwise drops as dated before the erasure.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';

describe('a denial of a customer who came back, dated before their erasure', () => {
  let engine: Engine | undefined;
  afterAll(() => engine?.stop());

  it('still unsubscribes the new life (a denial received after a grant wins)', async () => {
    engine = await startTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: undefined } });
    const api = client(engine);
    const id = 'a5-back-unsub-4411';
    const email = 'a5.back.unsub.4411@example.org';

    // The old life, erased.
    await api.sendAndSettle([{ type: 'identify', userId: id, messageId: `${id}-old`, traits: { email }, timestamp: new Date(Date.now() - 60_000).toISOString() }]);
    const erasureBegan = Date.now();
    expect((await api.del(`/v1/customers/${id}`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 20));

    // The new life: they come back and subscribe again.
    await api.sendAndSettle([
      { type: 'identify', userId: id, messageId: `${id}-new`, traits: { email } },
      { type: 'track', userId: id, messageId: `${id}-sub`, event: 'Subscribed', properties: { channel: 'email' } },
    ]);
    expect((await api.customer(id)).consent.email.status).toBe('granted');
    await new Promise((r) => setTimeout(r, 20));

    // Then they unsubscribe; the sender's clock dates the event a second before the erasure began.
    const res = await api.sendAndSettle([
      { type: 'track', userId: id, messageId: `${id}-unsub`, event: 'Unsubscribed', properties: { channel: 'email' }, timestamp: new Date(erasureBegan - 1_000).toISOString() },
    ]);
    expect(res.accepted).toEqual([`${id}-unsub`]);

    // The denial was received after the grant: it wins, and no marketing goes out after its receipt.
    expect.soft((await api.customer(id)).consent.email.status, 'consent.email after an Unsubscribed received after the grant').toBe('denied');
    // A marketing email asked for after the denial's receipt (welcome's first step, on a sign-up of the new life).
    await api.sendAndSettle([{ type: 'track', userId: id, messageId: `${id}-signup`, event: 'Signed Up', properties: { method: 'email' } }]);
    type Messages = { messages: Array<{ journeyId: string; stepId: string; status: string; reason?: string }> };
    let messages: Messages = { messages: [] };
    for (let i = 0; i < 100 && !messages.messages.some((m) => m.stepId === 'send-welcome' && m.status !== 'sending'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      await engine.settle();
      messages = (await api.get(`/v1/customers/${id}/messages`)).json as unknown as Messages;
    }
    expect(messages.messages.find((m) => m.stepId === 'send-welcome'), 'the welcome email, asked for after the Unsubscribed was answered 202').toMatchObject({ status: 'skipped', reason: 'unsubscribed' });
    expect(engine.outbox.entries.filter((e) => e.channel === 'email' && e.to === email), 'emails that went out to them').toEqual([]);
  }, 60_000);
});
