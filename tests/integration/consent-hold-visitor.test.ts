/**
 * A denial holds from ingest's answer whichever of the customer's ids it names (ARCHITECTURE decision 8),
 * end to end on the embedded engine on virtual time: an `Unsubscribed` sent only with the visitor id
 * (`anonymousId`) of a customer whose visitor id is linked to their userId stops the journey's next
 * marketing email even while the profile consumer has not applied it — also when ingest answered the
 * denial before the consumer had linked the two ids (EventBridge keeps no order).
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import type { NormalisedEvent } from '../../shared';
import { holdConsumer, useTestEngine } from '../helpers/engine';
import { messagesOf, outboxFor, runToEnd } from '../helpers/journeys';

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });

const identifyBoth = (userId: string, anonymousId: string) => ({ type: 'identify', userId, anonymousId, traits: { email: `${userId}@example.com` } });
const signedUp = (userId: string) => ({ type: 'track', userId, event: 'Signed Up', properties: {} });
const visitorUnsubscribed = (anonymousId: string) => ({ type: 'track', anonymousId, event: 'Unsubscribed', properties: { channel: 'email' } });
const isUnsubscribeOf = (anonymousId: string) => (d: NormalisedEvent) => d.anonymousId === anonymousId && d.event === 'Unsubscribed';

/** The welcome run's emails after the first, and the getting-started step's record. */
async function afterWelcome(id: string) {
  await runToEnd(clock, t.engine, id, 'welcome');
  return {
    sent: outboxFor(t.engine, id).map((m) => m.step),
    gettingStarted: (await messagesOf(t.engine, id)).find((m) => m.stepId === 'send-getting-started'),
  };
}

describe('an Unsubscribed under the visitor id of a linked customer, answered 202', () => {
  it('stops the next marketing email before the profile consumer applied it', async () => {
    // Prepare: the visitor identified (the two ids are linked), signed up and got the welcome email.
    const id = 'vh-linked';
    const visitor = 'vh-visitor-1';
    await t.api.send([identifyBoth(id, visitor), signedUp(id)]);
    await clock.idle();
    expect((await t.api.customer(id)).anonymousIds).toEqual([visitor]);
    expect(outboxFor(t.engine, id).map((m) => m.step)).toEqual(['send-welcome']);

    // Act: the visitor id unsubscribes (the consumer is late); the next email falls due.
    const late = holdConsumer(t.engine, isUnsubscribeOf(visitor));
    await t.api.send(visitorUnsubscribed(visitor));
    const { sent, gettingStarted } = await afterWelcome(id);

    // Assess
    expect(late.held).toHaveLength(1);
    expect((await t.api.customer(id)).consent.email.status).not.toBe('denied');
    expect(sent).toEqual(['send-welcome']);
    expect(gettingStarted).toMatchObject({ status: 'skipped', reason: 'unsubscribed' });
    await late.release();
    expect((await t.api.customer(id)).consent.email.status).toBe('denied');
  });

  it('stops it also when ingest answered the denial before the consumer linked the ids', async () => {
    // Prepare: a customer in the welcome journey; their identify with the visitor id is answered but not applied yet.
    const id = 'vh-unlinked';
    const visitor = 'vh-visitor-2';
    await t.api.send(signedUp(id));
    await t.api.send({ type: 'identify', userId: id, traits: { email: `${id}@example.com` } });
    await clock.idle();
    const lateLink = holdConsumer(t.engine, (d) => d.anonymousId === visitor && d.type === 'identify');
    await t.api.send(identifyBoth(id, visitor));
    const lateDenial = holdConsumer(t.engine, isUnsubscribeOf(visitor));
    await t.api.send(visitorUnsubscribed(visitor));

    // Act: the consumer links the two ids; the denial is still not applied when the next email falls due.
    await lateLink.release();
    expect((await t.api.customer(id)).anonymousIds).toEqual([visitor]);
    const { sent, gettingStarted } = await afterWelcome(id);

    // Assess
    expect(lateDenial.held).toHaveLength(1);
    expect(sent).toEqual(['send-welcome']);
    expect(gettingStarted).toMatchObject({ status: 'skipped', reason: 'unsubscribed' });
    await lateDenial.release();
    expect((await t.api.customer(id)).consent.email.status).toBe('denied');
  });
});
