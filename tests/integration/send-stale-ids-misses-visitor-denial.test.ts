/**
 * Audit 38, issue 10 "A consent rule that cannot be beaten by timestamps": no marketing send happens after a denial's
 * receipt. The gateway's last word (functions/journeys/gateway.ts: "a denial or suppression ingest answered for …
 * while this send was deciding, rendering and claiming stops it here. Only a send already past this read can still go
 * out") and consent-hold-visitor.test.ts ("stops it also when ingest answered the denial before the consumer had
 * linked the ids") promise that a visitor's `Unsubscribed` answered before the send stops it.
 *
 * How it breaks: the send step reads the profile once, before deciding. A visitor's `Unsubscribed` answered before the
 * consumer linked the visitor is held under `anon:<visitor>` only (ingest's `linkedTo` finds no link yet). If the link
 * is applied after the step read the profile (here: while the send is being claimed), the last word
 * (`stillConsented`) reads the holds of the ids of that stale profile, which does not list the visitor: the hold is
 * never read and the marketing email goes out, although the denial was answered before the send even began and the
 * visitor is linked and listed when the provider is called. Not the documented "already with the provider" window.
 * The same with a denial of another record of the customer (B) and an alias joining B in, applied while the send is
 * claimed (the stale profile has no `mergedIds`). Measured in both: the race as described (the visitor listed / B
 * joined at the claim), send-getting-started sent; the next step (send-first-order-offer) reads the fresh profile and
 * is skipped, which shows the engine itself counts the denial as the customer's.
 * Found by the thirty-eighth hostile audit. Now: the last word (`stillConsented`) reads the customer again (ids linked
 * or joined since, what the consumer applied) and reads the holds of every id of both profiles; either denial stops it.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { dynamoHooks } from '../helpers/dynamo-hooks';
import { lateDeliveries, useTestEngine } from '../helpers/engine';
import { messagesOf, outboxFor, runToEnd } from '../helpers/journeys';

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
const hooks = dynamoHooks(t, 'testStaleSendIds');

describe('a visitor Unsubscribed answered before the send, its link applied while the send is claimed', () => {
  it('stops the marketing email', async () => {
    // Prepare: a customer in the welcome journey (welcome email sent); their identify with the visitor id and the
    // visitor's Unsubscribed are both answered (202), the consumer late with both.
    const id = 'sv-customer';
    const visitor = 'sv-visitor';
    await t.api.send({ type: 'track', userId: id, event: 'Signed Up', properties: {} });
    await t.api.send({ type: 'identify', userId: id, traits: { email: `${id}@example.com` } });
    await clock.idle();
    const late = lateDeliveries(t.engine, ['sv-link', 'sv-deny']);
    await t.api.send({ type: 'identify', userId: id, anonymousId: visitor, traits: {}, messageId: 'sv-link' });
    await t.api.send({ type: 'track', anonymousId: visitor, event: 'Unsubscribed', properties: { channel: 'email' }, messageId: 'sv-deny' });

    // Act: the getting-started email falls due; while its send is claimed (after the step read the profile, before
    // the last word), the consumer applies the link. The denial itself stays late.
    let listedAtClaim: string[] | undefined;
    hooks.set({
      match: (op, input) => op === 'PutItem' && input.includes('"sending"') && input.includes('send-getting-started'),
      before: async () => {
        await late.release('sv-link');
        listedAtClaim = (await t.engine.profiles.get(id))?.profile.anonymousIds;
      },
    });
    await runToEnd(clock, t.engine, id, 'welcome');
    const fired = hooks.fired;
    hooks.clear();
    const sent = outboxFor(t.engine, id).map((m) => m.step);
    const gettingStarted = (await messagesOf(t.engine, id)).find((m) => m.stepId === 'send-getting-started');
    const measured = `hook fired ${fired}; listed at the claim ${JSON.stringify(listedAtClaim)}; sent ${JSON.stringify(sent)}; getting-started ${JSON.stringify(gettingStarted)}`;

    // Assess: the race happened as described (the visitor linked and listed before the last word).
    expect(fired, measured).toBe(1);
    expect(listedAtClaim, measured).toEqual([visitor]);
    // The promise: the denial answered before the send stops it; no marketing email after the welcome.
    expect(sent, measured).toEqual(['send-welcome']);
    expect(gettingStarted, measured).toMatchObject({ status: 'skipped', reason: 'unsubscribed' });
    await late.release();
  }, 120_000);

  it('stops it also when the denial is of a customer record joined in by alias while the send is claimed', async () => {
    // Prepare: customer A in the welcome journey; their other record B unsubscribes, and an alias joining B into A is
    // answered; the consumer is late with both.
    const id = 'sj-customer';
    const other = 'sj-other';
    await t.api.send({ type: 'track', userId: id, event: 'Signed Up', properties: {} });
    await t.api.send({ type: 'identify', userId: id, traits: { email: `${id}@example.com` } });
    await t.api.send({ type: 'identify', userId: other, traits: { email: `${other}@example.com` } });
    await clock.idle();
    const late = lateDeliveries(t.engine, ['sj-deny', 'sj-alias']);
    await t.api.send({ type: 'track', userId: other, event: 'Unsubscribed', properties: { channel: 'email' }, messageId: 'sj-deny' });
    await t.api.send({ type: 'alias', userId: id, previousId: other, messageId: 'sj-alias' });

    // Act: the join is applied while the getting-started send is claimed.
    let joinedAtClaim: string[] | undefined;
    hooks.set({
      match: (op, input) => op === 'PutItem' && input.includes('"sending"') && input.includes('send-getting-started') && input.includes(id),
      before: async () => {
        await late.release('sj-alias');
        joinedAtClaim = (await t.engine.profiles.get(id))?.profile.mergedIds;
      },
    });
    await runToEnd(clock, t.engine, id, 'welcome');
    const fired = hooks.fired;
    hooks.clear();
    const sent = outboxFor(t.engine, id).map((m) => m.step);
    const gettingStarted = (await messagesOf(t.engine, id)).find((m) => m.stepId === 'send-getting-started');
    const measured = `hook fired ${fired}; joined at the claim ${JSON.stringify(joinedAtClaim)}; sent ${JSON.stringify(sent)}; getting-started ${JSON.stringify(gettingStarted)}`;

    expect(fired, measured).toBe(1);
    expect(joinedAtClaim, measured).toEqual([other]);
    // The promise: the denial answered before the send stops it.
    expect(sent, measured).toEqual(['send-welcome']);
    expect(gettingStarted, measured).toMatchObject({ status: 'skipped', reason: 'unsubscribed' });
    await late.release();
  }, 120_000);
});
