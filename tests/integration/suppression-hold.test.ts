/**
 * Suppression is law from ingest's answer (ARCHITECTURE decision 8), end to end on the embedded
 * engine on virtual time: once ingest has answered 202 for a hard `Message Bounced`, no email goes
 * out to that customer — marketing or transactional — even while the profile consumer has not
 * applied the bounce yet (EventBridge is late: the consumer's deliveries of the bounce are held).
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import type { NormalisedEvent } from '../../shared';
import { holdConsumer, useTestEngine } from '../helpers/engine';
import { messagesOf, outboxFor, runToEnd } from '../helpers/journeys';

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });

const identify = (userId: string) => ({ type: 'identify', userId, traits: { email: `${userId}@example.com` } });
const track = (userId: string, event: string, properties: Record<string, unknown> = {}) => ({ type: 'track', userId, event, properties });
const hardBounce = (userId: string) => track(userId, 'Message Bounced', { channel: 'email', bounceType: 'hard' });
const isBounceOf = (id: string) => (detail: NormalisedEvent) => detail.userId === id && detail.event === 'Message Bounced';

describe('a hard bounce answered 202 suppresses before the profile consumer applied it', () => {
  it('the next marketing email of a running journey is skipped as suppressed', async () => {
    // Prepare: a customer in the welcome journey, who got its first email.
    const id = 'sh-marketing';
    await t.api.send([identify(id), track(id, 'Signed Up')]);
    await clock.idle();
    expect(outboxFor(t.engine, id).map((m) => m.step)).toEqual(['send-welcome']);

    // Act: the provider reports a hard bounce; the consumer has not seen it when the next email is due.
    const late = holdConsumer(t.engine, isBounceOf(id));
    await t.api.send(hardBounce(id));
    await runToEnd(clock, t.engine, id, 'welcome');

    // Assess: the profile still shows no suppression, and yet nothing more went out.
    expect(late.held).toHaveLength(1);
    expect((await t.api.customer(id)).suppression).toEqual({});
    expect(outboxFor(t.engine, id).map((m) => m.step)).toEqual(['send-welcome']);
    expect((await messagesOf(t.engine, id)).find((m) => m.stepId === 'send-getting-started')).toMatchObject({ status: 'skipped', reason: 'suppressed' });

    // The consumer applies it late: the profile agrees.
    await late.release();
    expect((await t.api.customer(id)).suppression).toMatchObject({ email: { reason: 'hard-bounce' } });
  });

  it('a transactional email (the complaint acknowledgement) is skipped as suppressed too', async () => {
    const id = 'sh-transactional';
    await t.api.send(identify(id));
    await clock.idle();

    const late = holdConsumer(t.engine, isBounceOf(id));
    await t.api.send(hardBounce(id));
    await t.api.send(track(id, 'Complaint Filed', { complaintId: 'C-sh-1' }));
    await clock.idle();

    expect(late.held).toHaveLength(1);
    expect((await t.api.customer(id)).suppression).toEqual({});
    expect((await messagesOf(t.engine, id)).find((m) => m.stepId === 'acknowledge')).toMatchObject({ status: 'skipped', reason: 'suppressed' });
    expect(outboxFor(t.engine, id).filter((m) => m.channel === 'email')).toEqual([]);
    await late.release();
  });
});
