/**
 * Audit 38, issue 10 "A consent rule that cannot be beaten by timestamps": a denial received after a grant always
 * wins, and no marketing send happens after a denial's receipt (a denial holds from ingest's answer whichever of the
 * customer's ids it names: ARCHITECTURE decision 8, tests/integration/consent-hold-visitor.test.ts).
 *
 * How it breaks: a visitor's `Unsubscribed` (anonymousId only) answered before the consumer linked the visitor is held
 * only under `anon:<visitor>` (ingest's `linkedTo` finds no link yet). The send gateway reads the holds of the visitor
 * ids the profile lists (`idsOfProfile`, gateway.ts `withHolds` and the last word `stillConsented`), which keeps the
 * newest PROFILE_LIMITS.anonymousIds (100). Once 100 later visitor ids are linked, the denying visitor is evicted from
 * the list (`markEvicted`: "still linked, its events land on the customer") and its hold is no longer read: while the
 * consumer is late with the denial, the journey's next marketing email goes out, after the denial's receipt.
 * The same with an alias join evicting it (the united list keeps 100, the first listed leave). Measured: the visitor
 * not listed (100 listed), the denial held, and send-getting-started and send-first-order-offer sent after it.
 * The same run with the visitor still listed (the second test of consent-hold-visitor.test.ts) skips it.
 * Found by the thirty-eighth hostile audit. Now: a visitor evicted from the list (by links or a join) has its holds
 * carried to the customer first (`ProfileStore.carryHolds`, from the consumer's `markEvicted`), read as the customer's own.
 */
import { describe, expect, it } from 'vitest';
import { PROFILE_LIMITS } from '../../functions/profile/limits';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import type { NormalisedEvent } from '../../shared';
import { holdConsumer, useTestEngine } from '../helpers/engine';
import { messagesOf, outboxFor, runToEnd } from '../helpers/journeys';

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });

const identifyBoth = (userId: string, anonymousId: string) => ({ type: 'identify', userId, anonymousId, traits: { email: `${userId}@example.com` } });
const isUnsubscribeOf = (anonymousId: string) => (d: NormalisedEvent) => d.anonymousId === anonymousId && d.event === 'Unsubscribed';

describe('an Unsubscribed of a visitor answered before its link, the visitor then evicted from the list', () => {
  it('still stops the next marketing email before the profile consumer applied it', async () => {
    // Prepare: a customer in the welcome journey; their identify with the visitor id is answered but not applied yet.
    const id = 'ev-unlinked';
    const visitor = 'ev-visitor-0';
    await t.api.send({ type: 'track', userId: id, event: 'Signed Up', properties: {} });
    await t.api.send({ type: 'identify', userId: id, traits: { email: `${id}@example.com` } });
    await clock.idle();
    const lateLink = holdConsumer(t.engine, (d) => d.anonymousId === visitor && d.type === 'identify');
    await t.api.send(identifyBoth(id, visitor));
    // The visitor unsubscribes: ingest answers (202), the consumer is late with it.
    const lateDenial = holdConsumer(t.engine, isUnsubscribeOf(visitor));
    const answer = await t.api.send({ type: 'track', anonymousId: visitor, event: 'Unsubscribed', properties: { channel: 'email' } });

    // Act: the link is applied, then the customer links PROFILE_LIMITS.anonymousIds more visitor ids (each valid):
    // the denying visitor leaves the list. The next email falls due with the denial still not applied.
    await lateLink.release();
    expect((await t.api.customer(id)).anonymousIds).toEqual([visitor]);
    const more = Array.from({ length: PROFILE_LIMITS.anonymousIds }, (_, k) => identifyBoth(id, `ev-more-${k}`));
    for (let k = 0; k < more.length; k += 25) await t.api.sendAndSettle(more.slice(k, k + 25));
    const listed = (await t.api.customer(id)).anonymousIds as string[];
    await runToEnd(clock, t.engine, id, 'welcome');
    const sent = outboxFor(t.engine, id).map((m) => m.step);
    const gettingStarted = (await messagesOf(t.engine, id)).find((m) => m.stepId === 'send-getting-started');
    const measured = `answer ${JSON.stringify(answer)}; visitor listed: ${listed.includes(visitor)} (${listed.length} listed); held denials ${lateDenial.held.length}; sent ${JSON.stringify(sent)}; getting-started ${JSON.stringify(gettingStarted)}`;

    // Assess: the denial was received (and is still held from the consumer) before the email fell due.
    expect(lateDenial.held, measured).toHaveLength(1);
    // The promise: no marketing send after the denial's receipt: the getting-started email is skipped, not sent.
    expect(sent, measured).toEqual(['send-welcome']);
    expect(gettingStarted, measured).toMatchObject({ status: 'skipped', reason: 'unsubscribed' });
  }, 120_000);

  it('still stops it when an alias join evicts the visitor from the united list', async () => {
    // Prepare: as above, the visitor's link answered but not applied when it unsubscribes.
    const id = 'ej-unlinked';
    const visitor = 'ej-visitor-0';
    const other = 'ej-other';
    await t.api.send({ type: 'track', userId: id, event: 'Signed Up', properties: {} });
    await t.api.send({ type: 'identify', userId: id, traits: { email: `${id}@example.com` } });
    await clock.idle();
    const lateLink = holdConsumer(t.engine, (d) => d.anonymousId === visitor && d.type === 'identify');
    await t.api.send(identifyBoth(id, visitor));
    const lateDenial = holdConsumer(t.engine, isUnsubscribeOf(visitor));
    await t.api.send({ type: 'track', anonymousId: visitor, event: 'Unsubscribed', properties: { channel: 'email' } });

    // Act: the link is applied; another customer record of theirs with PROFILE_LIMITS.anonymousIds visitor ids is
    // joined in by alias: the united list keeps 100 and the first listed (the denying visitor) leaves it.
    await lateLink.release();
    const more = Array.from({ length: PROFILE_LIMITS.anonymousIds }, (_, k) => ({ type: 'identify', userId: other, anonymousId: `ej-more-${k}`, traits: {} }));
    for (let k = 0; k < more.length; k += 25) await t.api.sendAndSettle(more.slice(k, k + 25));
    await t.api.sendAndSettle({ type: 'alias', userId: id, previousId: other });
    const view = await t.api.customer(id);
    await runToEnd(clock, t.engine, id, 'welcome');
    const sent = outboxFor(t.engine, id).map((m) => m.step);
    const gettingStarted = (await messagesOf(t.engine, id)).find((m) => m.stepId === 'send-getting-started');
    const measured = `joined ${JSON.stringify(view.mergedIds)}; visitor listed: ${view.anonymousIds.includes(visitor)} (${view.anonymousIds.length} listed); held denials ${lateDenial.held.length}; sent ${JSON.stringify(sent)}; getting-started ${JSON.stringify(gettingStarted)}`;

    // Assess: the denial was received (and is still held from the consumer) before the email fell due.
    expect(lateDenial.held, measured).toHaveLength(1);
    // The promise: no marketing send after the denial's receipt.
    expect(sent, measured).toEqual(['send-welcome']);
    expect(gettingStarted, measured).toMatchObject({ status: 'skipped', reason: 'unsubscribed' });
  }, 120_000);
});
