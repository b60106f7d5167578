/**
 * SES feedback (configuration set -> EventBridge) becomes customer events, end to end on the embedded engine on
 * virtual time: the outbox simulates the SES event AWS publishes, the engine's bus routes it by the topology's
 * rule to the SES feedback function, which suppresses at once (hard bounce, complaint), marks the message record
 * and puts the customer event (`Message Bounced`, ...) on the bus for the profile consumer.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { sesFeedbackEntry } from '../../infra/embedded/outbox';
import type { NormalisedEvent } from '../../shared';
import { holdConsumer, useTestEngine } from '../helpers/engine';
import { messagesOf, outboxFor, runToEnd } from '../helpers/journeys';

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });

const identify = (userId: string) => ({ type: 'identify', userId, traits: { email: `${userId}@example.com` } });
const track = (userId: string, event: string, properties: Record<string, unknown> = {}) => ({ type: 'track', userId, event, properties });
const isFeedback = (id: string, event: string) => (detail: NormalisedEvent) => detail.userId === id && detail.event === event;

/** The customer signs up and gets the welcome email; its outbox id (SES's MessageId in AWS). */
async function welcomed(id: string): Promise<string> {
  await t.api.send([identify(id), track(id, 'Signed Up')]);
  await clock.idle();
  const [welcome] = outboxFor(t.engine, id);
  expect(welcome?.step).toBe('send-welcome');
  return welcome!.outboxId;
}

async function timeline(id: string): Promise<Array<{ event?: string; properties: Record<string, unknown>; sourceId: string; messageId: string }>> {
  const res = await fetch(`${t.engine.url}/v1/customers/${encodeURIComponent(id)}/events`);
  return ((await res.json()) as { events: Array<{ event?: string; properties: Record<string, unknown>; sourceId: string; messageId: string }> }).events;
}

const record = async (id: string, stepId: string) => (await messagesOf(t.engine, id)).find((m) => m.stepId === stepId) as Record<string, unknown> | undefined;

describe('SES feedback on the embedded engine', () => {
  it('a hard bounce suppresses email at once: later marketing and transactional emails are skipped', async () => {
    // Prepare: a customer who got the welcome email.
    const id = 'sf-hard';
    const outboxId = await welcomed(id);

    // Act: SES reports a permanent bounce; the profile consumer has not applied it when the next emails are due.
    const late = holdConsumer(t.engine, isFeedback(id, 'Message Bounced'));
    t.engine.feedback(outboxId, { type: 'bounce', bounceType: 'Permanent' });
    await clock.idle();
    await t.api.send(track(id, 'Complaint Filed', { complaintId: 'C-sf-1' }));
    await runToEnd(clock, t.engine, id, 'welcome');

    // Assess: nothing more went out, each skip recorded with its reason, before the profile knew.
    expect(late.held).toHaveLength(1);
    expect((await t.api.customer(id)).suppression).toEqual({});
    expect(outboxFor(t.engine, id).filter((m) => m.channel === 'email').map((m) => m.step)).toEqual(['send-welcome']);
    expect(await record(id, 'send-getting-started')).toMatchObject({ status: 'skipped', reason: 'suppressed' });
    expect(await record(id, 'acknowledge')).toMatchObject({ status: 'skipped', reason: 'suppressed', kind: 'transactional' });
    expect(await record(id, 'send-welcome')).toMatchObject({ status: 'sent', bouncedAt: expect.any(String) });

    // The consumer applies the event: the profile agrees, and its timeline holds it, from SES.
    await late.release();
    expect((await t.api.customer(id)).suppression).toMatchObject({ email: { reason: 'hard-bounce' } });
    expect((await timeline(id)).find((e) => e.event === 'Message Bounced')).toMatchObject({
      sourceId: 'rapport.ses',
      properties: { channel: 'email', bounceType: 'hard', journeyId: 'welcome', stepId: 'send-welcome' },
    });
  });

  it('a soft (transient) bounce is recorded and suppresses nothing', async () => {
    const id = 'sf-soft';
    const outboxId = await welcomed(id);

    t.engine.feedback(outboxId, { type: 'bounce', bounceType: 'Transient' });
    await runToEnd(clock, t.engine, id, 'welcome');

    expect((await t.api.customer(id)).suppression).toEqual({});
    expect(outboxFor(t.engine, id).map((m) => m.step)).toContain('send-getting-started');
    expect((await timeline(id)).find((e) => e.event === 'Message Bounced')?.properties).toMatchObject({ bounceType: 'soft' });
    expect(await record(id, 'send-welcome')).toHaveProperty('bouncedAt');
  });

  it('a complaint suppresses email with reason complaint, at once', async () => {
    const id = 'sf-complaint';
    const outboxId = await welcomed(id);

    const late = holdConsumer(t.engine, isFeedback(id, 'Message Complained'));
    t.engine.feedback(outboxId, { type: 'complaint' });
    await runToEnd(clock, t.engine, id, 'welcome');

    expect(await record(id, 'send-getting-started')).toMatchObject({ status: 'skipped', reason: 'suppressed' });
    expect(await record(id, 'send-welcome')).toHaveProperty('complainedAt');
    await late.release();
    expect((await t.api.customer(id)).suppression).toMatchObject({ email: { reason: 'complaint' } });
  });

  it('the same SES event delivered twice changes nothing the second time', async () => {
    const id = 'sf-twice';
    const outboxId = await welcomed(id);
    const { eventId } = t.engine.feedback(outboxId, { type: 'open' });
    await clock.idle();
    const before = { timeline: await timeline(id), record: await record(id, 'send-welcome'), customer: await t.api.customer(id) };

    // EventBridge delivers the SES event again (at least once): the same entry, a second time.
    const logged = t.engine.bus.log.find((e) => e.id === eventId)!;
    t.engine.bus.putEvents([{ Source: logged.source, DetailType: logged['detail-type'], Detail: JSON.stringify(logged.detail), Time: new Date(logged.time), Resources: logged.resources }]);
    await clock.idle();

    // Two customer events were published, with one messageId; the profile applied one.
    const published = t.engine.bus.log.filter((e) => e.source === 'rapport.ingest' && (e.detail as NormalisedEvent).userId === id && (e.detail as NormalisedEvent).event === 'Message Opened');
    expect(published).toHaveLength(2);
    expect(new Set(published.map((e) => (e.detail as NormalisedEvent).messageId)).size).toBe(1);
    expect((await timeline(id)).filter((e) => e.event === 'Message Opened')).toHaveLength(1);
    expect(await timeline(id)).toEqual(before.timeline);
    expect(await record(id, 'send-welcome')).toEqual(before.record);
    expect(await t.api.customer(id)).toEqual(before.customer);
  });

  it('delivery, opens and clicks mark the message record with the first time of each', async () => {
    const id = 'sf-engaged';
    const outboxId = await welcomed(id);
    const at = (minutes: number) => new Date(t0 + minutes * 60_000).toISOString();
    const t0 = clock.now().getTime();

    t.engine.feedback(outboxId, { type: 'delivery' });
    await clock.idle();
    await clock.run(clock.now().getTime() + 60_000);
    t.engine.feedback(outboxId, { type: 'open' });
    await clock.idle();
    await clock.run(clock.now().getTime() + 60_000);
    t.engine.feedback(outboxId, { type: 'click', link: 'https://shop.example/start' });
    await clock.idle();
    await clock.run(clock.now().getTime() + 60_000);
    t.engine.feedback(outboxId, { type: 'open' }); // a second open, later: the first time stays
    await clock.idle();

    expect(await record(id, 'send-welcome')).toMatchObject({
      status: 'sent',
      deliveredAt: at(0),
      openedAt: at(1),
      clickedAt: at(2),
    });
    const events = await timeline(id);
    expect(events.filter((e) => e.event === 'Message Opened')).toHaveLength(2);
    expect(events.find((e) => e.event === 'Message Clicked')?.properties).toEqual({ channel: 'email', journeyId: 'welcome', stepId: 'send-welcome', url: 'https://shop.example/start' });
    expect(events.find((e) => e.event === 'Message Delivered')).toBeDefined();
  });

  it('feedback for an unknown customer is dropped; an erased one\'s bounce is kept for a new life, re-creating nobody', async () => {
    // Prepare: an erased customer's welcome email (saved before the erasure removes it from the outbox).
    const id = 'sf-erased';
    const outboxId = await welcomed(id);
    const email = t.engine.outbox.entries.find((e) => e.outboxId === outboxId);
    if (email?.channel !== 'email') throw new Error('no welcome email');
    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
    await clock.idle();
    const stranger = { ...email, outboxId: 'outbox-stranger', tags: { ...email.tags, customer: 'sf-never-seen' } };
    const deadLetters = t.engine.deadLetters.length;
    const published = t.engine.bus.log.filter((e) => e.source === 'rapport.ingest').length;

    // Act: SES reports a hard bounce and a click on each.
    for (const mail of [email, stranger]) {
      t.engine.bus.putEvents([sesFeedbackEntry(mail, { type: 'bounce' }, clock.now()), sesFeedbackEntry(mail, { type: 'click' }, clock.now())]);
    }
    await clock.idle();

    // Assess: nobody was (re)created and nothing failed. The stranger's feedback is dropped whole. The erased customer's
    // hard bounce, received after the erasure completed, is their next life's (README, "Privacy: erasure"): kept as a
    // hold under a hash of the id (no address) and published as `Message Bounced` (no address) for the consumer to park.
    for (const who of [id, 'sf-never-seen']) expect((await t.api.get(`/v1/customers/${who}`)).status).toBe(404);
    expect(await t.engine.profiles.holdsOf(['sf-never-seen'], 'email', clock.now())).toEqual({ consent: [] });
    expect((await t.engine.profiles.holdsOf([id], 'email', clock.now())).suppression).toMatchObject({ reason: 'hard-bounce' });
    // The `Message Bounced` it became names the erased id: the engine's bus log keeps it no more than the SES event.
    expect(t.engine.bus.log.filter((e) => e.source === 'rapport.ingest')).toHaveLength(published);
    expect(t.engine.deadLetters).toHaveLength(deadLetters);
    // The engine's bus log keeps no SES event of theirs: it held the erased customer's address.
    expect(JSON.stringify(t.engine.bus.log)).not.toContain(email.to);
  });

  it('POST /v1/outbox/{id}/feedback simulates it over HTTP, and refuses what SES would never send', async () => {
    const id = 'sf-http';
    const outboxId = await welcomed(id);
    const post = (path: string, body: unknown) => fetch(`${t.engine.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

    const accepted = await post(`/v1/outbox/${outboxId}/feedback`, { type: 'click', link: 'https://shop.example/x' });
    expect(accepted.status).toBe(202);
    expect(await accepted.json()).toMatchObject({ detailType: 'Email Clicked' });
    await clock.idle();
    expect(await record(id, 'send-welcome')).toHaveProperty('clickedAt');

    expect((await post(`/v1/outbox/${outboxId}/feedback`, { type: 'spam' })).status).toBe(400);
    expect((await post(`/v1/outbox/${outboxId}/feedback`, { type: 'bounce', bounceType: 'Hard' })).status).toBe(400);
    expect((await post('/v1/outbox/outbox-none/feedback', { type: 'open' })).status).toBe(404);
  });
});
