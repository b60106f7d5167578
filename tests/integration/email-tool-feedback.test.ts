/**
 * Consent and suppression from email tools other than SES (issue 10: "spam complaints outside SES"),
 * end to end on the embedded engine on virtual time. Segment's email-events spec names a spam complaint
 * `Email Marked as Spam` and an unsubscribe `Unsubscribed` with no channel; tools that follow it (and
 * Segment's SDK relaying them) send exactly that. Before this, the complaint was stored as a plain event
 * (marketing went on to an address that reported spam) and the unsubscribe got a 400 that the SDK does
 * not retry (the customer's wish was lost). Both now hold from ingest's 202, before the profile consumer
 * has applied them, like Rapport's own `Message Complained` and one-click link.
 */
import { Analytics } from '@segment/analytics-node';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import type { NormalisedEvent } from '../../shared';
import { holdConsumer, TEST_SECRET, TEST_WRITE_KEY, useTestEngine } from '../helpers/engine';
import { messagesOf, outboxFor, runToEnd } from '../helpers/journeys';
import { post, signedRequest } from '../helpers/webhook';

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });

const identify = (userId: string) => ({ type: 'identify', userId, traits: { email: `${userId}@example.com`, phone: '+33612345678' } });
const track = (userId: string, event: string, properties: Record<string, unknown> = {}) => ({ type: 'track', userId, event, properties });
/** Segment's email-events properties, as an email tool sends them: no `channel`. */
const emailToolProps = { email_id: 'em-18vzF7', email_subject: '20% off', campaign_id: 'spring' };
const isEventOf = (id: string, name: string) => (d: NormalisedEvent) => d.userId === id && d.event === name;

/** A customer in the welcome journey who got its first email. */
async function welcomed(id: string) {
  await t.api.send([identify(id), track(id, 'Signed Up')]);
  await clock.idle();
  expect(outboxFor(t.engine, id).map((m) => m.step)).toEqual(['send-welcome']);
}

describe('Email Marked as Spam, from any email tool', () => {
  it('suppresses email from the 202: the journey sends nothing more, even before the consumer applied it', async () => {
    const id = 'etf-spam';
    await welcomed(id);

    const late = holdConsumer(t.engine, isEventOf(id, 'Email Marked as Spam'));
    expect((await t.api.send(track(id, 'Email Marked as Spam', emailToolProps))).accepted).toHaveLength(1);
    await runToEnd(clock, t.engine, id, 'welcome');

    expect(late.held).toHaveLength(1);
    expect((await t.api.customer(id)).suppression).toEqual({});
    expect(outboxFor(t.engine, id).map((m) => m.step)).toEqual(['send-welcome']);
    expect((await messagesOf(t.engine, id)).find((m) => m.stepId === 'send-getting-started')).toMatchObject({ status: 'skipped', reason: 'suppressed' });

    await late.release();
    const customer = await t.api.customer(id);
    expect(customer.suppression).toEqual({ email: { reason: 'complaint', at: expect.any(String) } });
    // Email only: the complaint says nothing of the customer's SMS.
    expect(customer.suppression).not.toHaveProperty('sms');
  });

  it('holds transactional email too (a suppression is not consent: nothing lifts it)', async () => {
    const id = 'etf-spam-tx';
    await t.api.send(identify(id));
    await clock.idle();
    await t.api.send(track(id, 'Email Marked as Spam', emailToolProps));
    await t.api.send(track(id, 'Complaint Filed', { complaintId: 'C-etf-1' }));
    await clock.idle();
    expect((await messagesOf(t.engine, id)).find((m) => m.stepId === 'acknowledge')).toMatchObject({ status: 'skipped', reason: 'suppressed' });
    expect(outboxFor(t.engine, id).filter((m) => m.channel === 'email')).toEqual([]);
  });
});

describe('Unsubscribed with no channel (Segment email-events spec)', () => {
  it('is accepted, written on the bus as channel all, and denies every channel from the 202', async () => {
    const id = 'etf-unsub';
    await welcomed(id);

    const late = holdConsumer(t.engine, isEventOf(id, 'Unsubscribed'));
    expect((await t.api.send(track(id, 'Unsubscribed', emailToolProps))).accepted).toHaveLength(1);
    await runToEnd(clock, t.engine, id, 'welcome');

    expect(late.held).toHaveLength(1);
    expect(outboxFor(t.engine, id).map((m) => m.step)).toEqual(['send-welcome']);
    expect((await messagesOf(t.engine, id)).find((m) => m.stepId === 'send-getting-started')).toMatchObject({ status: 'skipped', reason: 'unsubscribed' });

    await late.release();
    const onBus = t.engine.bus.log.find((e) => e['detail-type'] === 'Unsubscribed' && (e.detail as NormalisedEvent).userId === id);
    expect((onBus?.detail as NormalisedEvent).properties).toEqual({ ...emailToolProps, channel: 'all' });
    const consent = (await t.api.customer(id)).consent as Record<string, { status: string; source: string }>;
    expect(Object.fromEntries(Object.entries(consent).map(([c, r]) => [c, `${r.status}:${r.source}`]))).toEqual({ email: 'denied:Unsubscribed', sms: 'denied:Unsubscribed', whatsapp: 'denied:Unsubscribed', push: 'denied:Unsubscribed' });
  });

  it("reaches the profile through Segment's own SDK without a delivery failure", async () => {
    const analytics = new Analytics({ writeKey: TEST_WRITE_KEY, host: t.engine.url, flushAt: 10, maxRetries: 0 });
    const failures: unknown[] = [];
    analytics.on('error', (e) => failures.push(e));
    // The SDK stamps events with the machine's clock; the engine's is virtual.
    const timestamp = clock.now();
    analytics.identify({ userId: 'etf-sdk', traits: { email: 'etf-sdk@example.com' }, timestamp });
    analytics.track({ userId: 'etf-sdk', event: 'Unsubscribed', properties: emailToolProps, timestamp });
    analytics.track({ userId: 'etf-sdk', event: 'Email Marked as Spam', properties: emailToolProps, timestamp });
    await analytics.closeAndFlush({ timeout: 10_000 });
    await clock.idle();

    expect(failures).toEqual([]);
    const customer = await t.api.customer('etf-sdk');
    expect((customer.consent as Record<string, { status: string }>).email?.status).toBe('denied');
    expect(customer.suppression).toMatchObject({ email: { reason: 'complaint' } });
  });

  it('a channel that is not one still gets a 400 naming the field', async () => {
    const answer = await post(`${t.engine.url}/v1/events`, signedRequest(TEST_SECRET, track('etf-bad', 'Unsubscribed', { channel: 'fax' })));
    expect(answer.status).toBe(400);
    expect((answer.json as { rejected: unknown }).rejected).toEqual([{ index: 0, problems: [{ path: '$.properties.channel', message: 'Unsubscribed: expected one of "email", "sms", "whatsapp", "push", "all", received "fax"' }] }]);
  });
});
