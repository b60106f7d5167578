/**
 * Consent per channel and topic (issue 15): a topic's changes are folded by exactly the rule of a channel's
 * (ARCHITECTURE decision 8: the earlier of event time and receipt, a denial received after a grant wins, ties go
 * to the denial), leave the channel's own consent alone, and decide a marketing send after the channel, with the
 * topic's default per consent mode when the customer chose nothing. Pure.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyEvent, emptyProfile, joinProfiles } from '../../../functions/profile';
import { TOPIC_CONSENT_MAX } from '../../../functions/profile/apply';
import { decideSend, DEFAULT_SEND_POLICY } from '../../../functions/journeys/policy';
import { messageTopic } from '../../../functions/journeys/gateway';
import { CHANNELS, type NormalisedEvent, type Profile } from '../../../shared';
import { ev, identify } from '../../helpers/events';

const HOUR = 3_600_000;
const base = Date.parse('2026-11-20T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const now = new Date(base + 30 * 24 * HOUR);
const start = () => emptyProfile('cust-1', iso(base - 72 * HOUR));
const fold = (events: NormalisedEvent[], from: Profile = start()) => events.reduce((p, e) => applyEvent(p, e, now), from);
const at = (event: NormalisedEvent, timestamp: number, receivedAt: number): NormalisedEvent => ({ ...event, timestamp: iso(timestamp), receivedAt: iso(receivedAt) });

/** One consent change as a sender could send it: grant or denial, its own timestamp (up to 24 h ahead) and its receipt. */
const change = fc.record({ grant: fc.boolean(), eventOffset: fc.integer({ min: -48, max: 24 }), received: fc.integer({ min: 0, max: 48 }) });

describe('topic consent is folded by the channel consent rule', () => {
  it('any set of changes, in any order, leaves the topic exactly where the same changes leave a channel', () => {
    fc.assert(
      fc.property(fc.array(change, { minLength: 1, maxLength: 8 }), fc.nat(), (changes, seed) => {
        const events = (topic: string | undefined) =>
          changes.map((c, i) => {
            const received = base + c.received * HOUR + i; // distinct receipts, as distinct messages have
            const props = { channel: 'email', ...(topic !== undefined && { topic }) };
            return at(ev(c.grant ? 'Subscribed' : 'Unsubscribed', iso(base), props), received + c.eventOffset * HOUR, received);
          });
        const shuffled = <T>(list: T[]) => list.map((item, i) => ({ item, k: (i * 7919 + seed) % 104_729 })).sort((a, b) => a.k - b.k).map((x) => x.item);
        const channel = fold(events(undefined)).consent.email;
        const topics = fold(shuffled(events('offers')));

        expect(topics.topicConsent?.email?.offers).toEqual(channel);
        // The topic's changes are the topic's: the channel's consent never moved.
        expect(topics.consent.email.status).toBe('unknown');
      }),
      { numRuns: 200 },
    );
  });

  it('a re-subscribe dated 23 h ahead loses to a topic unsubscribe received after it; a later real one wins', () => {
    const grantAhead = at(ev('Subscribed', iso(base), { channel: 'email', topic: 'offers' }), base + 23 * HOUR, base);
    const denial = at(ev('Unsubscribed', iso(base), { channel: 'email', topic: 'offers', method: 'preferences' }), base + HOUR, base + HOUR);
    for (const order of [[grantAhead, denial], [denial, grantAhead]]) expect(fold(order).topicConsent?.email?.offers).toMatchObject({ status: 'denied', at: iso(base + HOUR) });
    const later = at(ev('Subscribed', iso(base), { channel: 'email', topic: 'offers' }), base + 2 * HOUR, base + 2 * HOUR);
    expect(fold([denial, grantAhead, later]).topicConsent?.email?.offers).toMatchObject({ status: 'granted', at: iso(base + 2 * HOUR) });
    // A tie (one instant) goes to the denial, as for a channel.
    const tie = at(ev('Subscribed', iso(base), { channel: 'email', topic: 'offers' }), base + HOUR, base + HOUR);
    expect(fold([tie, denial]).topicConsent?.email?.offers?.status).toBe('denied');
    expect(fold([denial, tie]).topicConsent?.email?.offers?.status).toBe('denied');
  });

  it('an Unsubscribed with a topic and no channel (or all) leaves the topic on every channel; a channel event stays the channel\'s', () => {
    const p = fold([ev('Unsubscribed', iso(base), { channel: 'all', topic: 'newsletter' }), ev('Unsubscribed', iso(base + HOUR), { channel: 'sms' })]);
    expect(Object.keys(p.topicConsent ?? {}).sort()).toEqual([...CHANNELS].sort());
    expect(p.topicConsent?.email?.newsletter?.status).toBe('denied');
    expect(p.consent.email.status).toBe('unknown');
    expect(p.consent.sms.status).toBe('denied');
    expect(p.topicConsent?.sms?.offers).toBeUndefined();
  });

  it('keeps at most TOPIC_CONSENT_MAX topics per channel (a sender cannot grow a profile without bound); the known ones still change', () => {
    const many = Array.from({ length: TOPIC_CONSENT_MAX + 5 }, (_, i) => ev('Unsubscribed', iso(base + i * 1000), { channel: 'email', topic: `t-${i}` }));
    const p = fold([...many, ev('Subscribed', iso(base + HOUR), { channel: 'email', topic: 't-0' })]);
    expect(Object.keys(p.topicConsent?.email ?? {})).toHaveLength(TOPIC_CONSENT_MAX);
    expect(p.topicConsent?.email?.['t-0']?.status).toBe('granted');
    expect(p.topicConsent?.email?.[`t-${TOPIC_CONSENT_MAX}`]).toBeUndefined();
  });

  it('a join by alias folds both customers\' topic changes by the same rule', () => {
    const a = fold([identify(iso(base), { email: 'a@example.com' }), at(ev('Unsubscribed', iso(base), { channel: 'email', topic: 'offers' }), base + HOUR, base + HOUR)]);
    const b = fold([at(ev('Subscribed', iso(base), { channel: 'email', topic: 'offers' }), base + 23 * HOUR, base)], emptyProfile('cust-2', iso(base)));
    expect(joinProfiles(b, a, now).topicConsent?.email?.offers?.status).toBe('denied');
    expect(joinProfiles(a, b, now).topicConsent?.email?.offers?.status).toBe('denied');
  });
});

describe('a send decides the channel first, then its topic, then the topic default of the consent mode', () => {
  const noon = new Date('2026-11-20T12:00:00Z');
  const none = { sentInWindow: [] };
  const optIn = { ...DEFAULT_SEND_POLICY, consentMode: 'opt-in' as const };
  const customer = (events: NormalisedEvent[]) => fold([identify(iso(base), { email: 'a@example.com' }), ...events]);
  const offers = (subscribedByDefault: boolean) => ({ id: 'offers', subscribedByDefault });

  it('opt-out: an untouched topic goes if subscribed by default, else it is skipped as topic-no-consent', () => {
    const p = customer([]);
    expect(decideSend(p, 'email', 'marketing', none, noon, DEFAULT_SEND_POLICY, offers(true))).toMatchObject({ action: 'send' });
    expect(decideSend(p, 'email', 'marketing', none, noon, DEFAULT_SEND_POLICY, offers(false))).toEqual({ action: 'skip', reason: 'topic-no-consent' });
  });

  it('opt-in: the channel needs consent first; then the topic default decides, and a topic grant opens one that is off', () => {
    expect(decideSend(customer([]), 'email', 'marketing', none, noon, optIn, offers(true))).toEqual({ action: 'skip', reason: 'no-consent' });
    const subscribed = customer([ev('Subscribed', iso(base + HOUR), { channel: 'email' })]);
    expect(decideSend(subscribed, 'email', 'marketing', none, noon, optIn, offers(true))).toMatchObject({ action: 'send' });
    expect(decideSend(subscribed, 'email', 'marketing', none, noon, optIn, offers(false))).toEqual({ action: 'skip', reason: 'topic-no-consent' });
    const joined = customer([ev('Subscribed', iso(base + HOUR), { channel: 'email' }), ev('Subscribed', iso(base + 2 * HOUR), { channel: 'email', topic: 'offers' })]);
    expect(decideSend(joined, 'email', 'marketing', none, noon, optIn, offers(false))).toMatchObject({ action: 'send' });
  });

  it('a topic left is skipped as topic-unsubscribed whatever its default; a channel left wins over a topic granted', () => {
    const left = customer([ev('Unsubscribed', iso(base + HOUR), { channel: 'email', topic: 'offers' })]);
    expect(decideSend(left, 'email', 'marketing', none, noon, DEFAULT_SEND_POLICY, offers(true))).toEqual({ action: 'skip', reason: 'topic-unsubscribed' });
    // Another topic, and the same topic on another channel, are untouched.
    expect(decideSend(left, 'email', 'marketing', none, noon, DEFAULT_SEND_POLICY, { id: 'newsletter', subscribedByDefault: true })).toMatchObject({ action: 'send' });
    const channelLeft = customer([ev('Subscribed', iso(base + HOUR), { channel: 'email', topic: 'offers' }), ev('Unsubscribed', iso(base + 2 * HOUR), { channel: 'email' })]);
    expect(decideSend(channelLeft, 'email', 'marketing', none, noon, DEFAULT_SEND_POLICY, offers(true))).toEqual({ action: 'skip', reason: 'unsubscribed' });
  });

  it('transactional messages ignore topics; a topic without a known default is subscribed by default', () => {
    expect(messageTopic({ kind: 'transactional', topic: 'offers', topicDefault: { 'opt-out': 'unsubscribed', 'opt-in': 'unsubscribed' } }, 'opt-out')).toBeUndefined();
    expect(messageTopic({ kind: 'marketing', topic: 'offers', topicDefault: { 'opt-out': 'subscribed', 'opt-in': 'unsubscribed' } }, 'opt-in')).toEqual(offers(false));
    expect(messageTopic({ kind: 'marketing', topic: 'offers', topicDefault: { 'opt-out': 'subscribed', 'opt-in': 'unsubscribed' } }, 'opt-out')).toEqual(offers(true));
    expect(messageTopic({ kind: 'marketing', topic: 'legacy' }, 'opt-in')).toEqual({ id: 'legacy', subscribedByDefault: true });
    expect(messageTopic({ kind: 'marketing' }, 'opt-out')).toBeUndefined();
  });
});
