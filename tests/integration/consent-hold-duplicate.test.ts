/**
 * Found by the audit of issue 10 (the consent rule, and "the final consent equals a small oracle of the rule"). A
 * sender's retry of an `Unsubscribed` it already delivered (same messageId: a Standard Webhooks redelivery
 * after a lost 202, a Segment SDK retry) is answered as a duplicate and changes nothing on the profile, as it
 * should: it is one event, received once. But ingest records the consent hold before it deduplicates
 * (functions/ingest/service.ts: `recordHolds` runs before `dedupe.claim`), with the retry's receipt as its
 * key. So after unsubscribe -> re-subscribe -> a retry of the unsubscribe, the profile (and the API) say
 * `granted` while every marketing send is skipped as `unsubscribed` for the hold's 30 days: the send step
 * and the profile disagree, and the customer's re-subscription is ignored because of a network retry.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import type { DynamoCall } from '../../infra/embedded/faults';
import { TEST_SECRET, useTestEngine } from '../helpers/engine';
import { post, signedRequest } from '../helpers/webhook';
import { messagesOf, outboxFor, runToEnd } from '../helpers/journeys';

const clock = new VirtualClock('2026-03-02T10:00:00Z');
/** Customers whose consent-hold writes fail (past the SDK's retries) while listed. */
const holdsFailFor = new Set<string>();
const failHolds = (call: DynamoCall) => {
  const key = (call.input.Item ?? {}) as Record<string, { S?: string }>;
  const id = key.PK?.S?.slice(2);
  return call.operation === 'PutItem' && key.SK?.S?.startsWith('K#') && id !== undefined && holdsFailFor.has(id) ? { error: 'InternalServerError' as const } : undefined;
};
const t = useTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT', faults: { dynamo: failHolds } });
const later = async (ms: number) => {
  const at = clock.now().getTime() + ms;
  while (clock.advance(at)) await clock.idle();
};

describe('a retried (duplicate) Unsubscribed after a re-subscribe', () => {
  it('changes nothing: the profile and the send step both say granted, and marketing goes on', async () => {
    const id = 'aud-dup-denial';
    await t.api.send([{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Signed Up' }]);
    await clock.idle();
    expect(outboxFor(t.engine, id).map((m) => m.step)).toEqual(['send-welcome']);

    const unsubscribe = { type: 'track', userId: id, event: 'Unsubscribed', messageId: 'aud-dup-u1', properties: { channel: 'email' } };
    expect((await t.api.send(unsubscribe)).accepted).toEqual(['aud-dup-u1']);
    await later(60_000);
    await t.api.send({ type: 'track', userId: id, event: 'Subscribed', messageId: 'aud-dup-s1', properties: { channel: 'email' } });
    await later(60_000);
    // The sender never saw the first 202 and retries: a duplicate, answered as such.
    expect(await t.api.send(unsubscribe)).toMatchObject({ duplicates: ['aud-dup-u1'] });
    await clock.idle();
    expect((await t.api.customer(id)).consent.email.status).toBe('granted');

    await runToEnd(clock, t.engine, id, 'welcome');
    expect((await messagesOf(t.engine, id)).find((m) => m.stepId === 'send-getting-started')).toMatchObject({ status: 'sent' });
  });
});

describe('a consent hold that cannot be written', () => {
  it('fails the request (5xx) without claiming its events: the retry records the hold and publishes', async () => {
    const id = 'hold-fails';
    await t.api.send({ type: 'identify', userId: id, traits: { email: `${id}@example.com` } });
    await clock.idle();
    const unsubscribe = { type: 'track', userId: id, event: 'Unsubscribed', messageId: 'hold-fails-u1', properties: { channel: 'email' } };

    holdsFailFor.add(id);
    const first = await post(`${t.engine.url}/v1/events`, signedRequest(TEST_SECRET, unsubscribe));
    expect(first.status).toBeGreaterThanOrEqual(500);
    await clock.idle();
    expect((await t.api.customer(id)).consent.email.status).not.toBe('denied');
    expect(await t.engine.profiles.consentHold(id, 'email', clock.now())).toBeUndefined();

    holdsFailFor.delete(id);
    expect(await t.api.send(unsubscribe)).toEqual({ accepted: ['hold-fails-u1'] });
    expect(await t.engine.profiles.consentHold(id, 'email', clock.now())).toMatchObject({ status: 'denied' });
    await clock.idle();
    expect((await t.api.customer(id)).consent.email.status).toBe('denied');
  });
});
