import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyEvent, emptyProfile, joinProfiles, mergeProfiles, PROFILE_LIMITS } from '../../../functions/profile';
import type { Profile } from '../../../shared';
import { ev, identify } from '../../helpers/events';

const now = new Date('2026-11-23T12:00:00Z');
const fold = (events: Parameters<typeof applyEvent>[1][], start: Profile = emptyProfile('cust-1', events[0]!.timestamp)) =>
  events.reduce((p, e) => applyEvent(p, e, now), start);

const history = [
  identify('2026-11-01T09:00:00Z', { email: 'ada@example.com', name: 'Ada', timezone: 'Europe/Paris' }),
  ev('Product Viewed', '2026-11-02T10:00:00Z', { productId: 'p-1', category: 'baby' }),
  ev('Order Completed', '2026-11-03T10:00:00Z', { orderId: 'o-1', revenue: 40.1, currency: 'EUR' }),
  ev('Order Completed', '2026-11-10T10:00:00Z', { orderId: 'o-2', revenue: 19.95, currency: 'EUR' }),
  ev('Complaint Filed', '2026-11-11T10:00:00Z', { complaintId: 'c-1' }),
  ev('Complaint Filed', '2026-11-12T10:00:00Z', { complaintId: 'c-2' }),
  ev('Complaint Resolved', '2026-11-13T10:00:00Z', { complaintId: 'c-1' }),
  ev('Survey Responded', '2026-11-14T10:00:00Z', { surveyType: 'nps', score: 9 }),
  ev('Unsubscribed', '2026-11-15T10:00:00Z', { channel: 'sms' }),
];

describe('applyEvent', () => {
  it('keeps the behaviour stats a journey needs', () => {
    const p = fold(history);
    expect(p.stats).toMatchObject({
      eventCount: 9,
      orderCount: 2,
      totalRevenue: 60.05,
      averageOrderValue: 30.03,
      firstOrderAt: '2026-11-03T10:00:00.000Z',
      lastOrderAt: '2026-11-10T10:00:00.000Z',
      complaintCount: 2,
      openComplaints: ['c-2'],
      lastComplaintAt: '2026-11-12T10:00:00.000Z',
      lastResolutionAt: '2026-11-13T10:00:00.000Z',
      lastSurvey: { type: 'nps', score: 9, at: '2026-11-14T10:00:00.000Z' },
      productsViewed: [{ productId: 'p-1', category: 'baby', at: '2026-11-02T10:00:00.000Z' }],
    });
    expect(p.traits).toEqual({ email: 'ada@example.com', name: 'Ada', timezone: 'Europe/Paris' });
    expect(p.consent.sms).toEqual({ status: 'denied', source: 'Unsubscribed', at: '2026-11-15T10:00:00.000Z', key: '2026-11-15T10:00:00.000Z' });
    expect(p.consent.email.status).toBe('unknown');
    expect(p.firstSeenAt).toBe('2026-11-01T09:00:00.000Z');
    expect(p.lastSeenAt).toBe('2026-11-15T10:00:00.000Z');
    expect(p.recentEvents.map((e) => e.name)).toEqual(['Unsubscribed', 'Survey Responded', 'Complaint Resolved', 'Complaint Filed', 'Complaint Filed', 'Order Completed', 'Order Completed', 'Product Viewed', 'Identify']);
  });

  it('gives the same profile whatever order the events arrive in', () => {
    const expected = fold(history);
    const reversed = [...history].reverse();
    for (const order of [reversed, [history[4]!, history[6]!, ...history.slice(0, 4), history[5]!, ...history.slice(7)]]) {
      const p = fold(order, emptyProfile('cust-1', order[0]!.timestamp));
      expect(p).toEqual(expected);
    }
  });

  it('never lets an older identify or consent change overwrite a newer one', () => {
    const p = fold([
      identify('2026-11-10T00:00:00Z', { plan: 'pro' }),
      identify('2026-11-01T00:00:00Z', { plan: 'free', city: 'Lyon' }),
      ev('Subscribed', '2026-11-12T00:00:00Z', { channel: 'email' }),
      ev('Unsubscribed', '2026-11-11T00:00:00Z', { channel: 'all' }),
    ]);
    expect(p.traits).toEqual({ plan: 'pro', city: 'Lyon' });
    expect(p.consent.email.status).toBe('granted');
    expect(p.consent.sms.status).toBe('denied');
  });

  it('keeps manual tags from identify traits apart from computed ones, and consent traits as consent', () => {
    const p = fold([identify('2026-11-01T00:00:00Z', { tags: ['crm-vip', 'crm-vip', 'b2b'], consent: { email: true, sms: false } })]);
    expect(p.manualTags).toEqual(['b2b', 'crm-vip']);
    expect(p.traits).toEqual({});
    expect(p.consent.email).toMatchObject({ status: 'granted', source: 'identify' });
    expect(p.consent.sms.status).toBe('denied');
  });

  it('closes a complaint whose resolution arrived first, and suppresses a hard bounce', () => {
    const p = fold([
      ev('Complaint Resolved', '2026-11-13T10:00:00Z', { complaintId: 'c-9' }),
      ev('Complaint Filed', '2026-11-12T10:00:00Z', { complaintId: 'c-9' }),
      ev('Message Bounced', '2026-11-14T10:00:00Z', { channel: 'email', bounceType: 'hard' }),
      ev('Message Bounced', '2026-11-14T11:00:00Z', { channel: 'sms', bounceType: 'soft' }),
    ]);
    expect(p.stats.openComplaints).toEqual([]);
    expect(p.suppression).toEqual({ email: { reason: 'hard-bounce', at: '2026-11-14T10:00:00.000Z' } });
  });

  it('drops recent events older than 90 days from the profile item', () => {
    const p = fold([ev('Product Viewed', '2026-07-01T00:00:00Z', { productId: 'old' }), ev('Product Viewed', '2026-11-01T00:00:00Z', { productId: 'new' })]);
    expect(p.recentEvents.map((e) => e.properties.productId)).toEqual(['new']);
  });
});

describe('mergeProfiles', () => {
  it("adds a visitor's history to the known customer", () => {
    const visitor = fold([ev('Product Viewed', '2026-11-01T00:00:00Z', { productId: 'p-1' }, { userId: undefined, anonymousId: 'anon-1' }), ev('Order Completed', '2026-11-02T00:00:00Z', { orderId: 'o', revenue: 10, currency: 'EUR' })], emptyProfile('anon:anon-1', '2026-11-01T00:00:00Z'));
    const known = fold([identify('2026-11-03T00:00:00Z', { email: 'a@example.com' }), ev('Order Completed', '2026-11-04T00:00:00Z', { orderId: 'o2', revenue: 30, currency: 'EUR' })]);
    const merged = mergeProfiles(known, visitor, 'anon-1', now);
    expect(merged.id).toBe('cust-1');
    expect(merged.anonymousIds).toEqual(['anon-1']);
    expect(merged.stats).toMatchObject({ orderCount: 2, totalRevenue: 40, averageOrderValue: 20, firstOrderAt: '2026-11-02T00:00:00.000Z', lastOrderAt: '2026-11-04T00:00:00.000Z', eventCount: 4 });
    expect(merged.firstSeenAt).toBe('2026-11-01T00:00:00.000Z');
    expect(merged.recentEvents).toHaveLength(4);
  });
});

describe('the recent events a profile keeps', () => {
  it('stay within PROFILE_LIMITS.recentEventBytes (96 KB) as JSON, the newest kept and the oldest gone first, in any arrival order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 10, max: 60 }), fc.integer({ min: 500, max: 6_000 }), fc.integer(), (count, padding, seed) => {
        // `count` events of ~`padding` bytes each, on distinct minutes, arriving shuffled.
        const events = Array.from({ length: count }, (_, n) =>
          ev('Page Scrolled', new Date(Date.parse('2026-11-20T00:00:00Z') + n * 60_000).toISOString(), { depth: n, pad: 'x'.repeat(padding) }, { messageId: `m-${n}` }),
        );
        const shuffled = [...events].sort((a, b) => ((a.messageId.length * 7919 + seed) ^ Number(a.messageId.slice(2))) - ((b.messageId.length * 7919 + seed) ^ Number(b.messageId.slice(2))));
        const kept = fold(shuffled).recentEvents;
        expect(Buffer.byteLength(JSON.stringify(kept))).toBeLessThanOrEqual(PROFILE_LIMITS.recentEventBytes);
        // Newest first, and exactly the newest ones: none kept is older than one dropped.
        const depths = kept.map((e) => e.properties.depth as number);
        expect(depths).toEqual(Array.from({ length: kept.length }, (_, i) => count - 1 - i));
        // And as many as fit: one more would not.
        if (kept.length < count) expect(Buffer.byteLength(JSON.stringify([...kept, kept.at(-1)]))).toBeGreaterThan(PROFILE_LIMITS.recentEventBytes);
      }),
      { numRuns: 40 },
    );
  });
});

describe('joinProfiles', () => {
  const older = (userId: string, events: Parameters<typeof applyEvent>[1][]) =>
    events.reduce((p, e) => applyEvent(p, { ...e, userId }, now), emptyProfile(userId, events[0]!.timestamp));

  it('joins a known customer: stats summed, the newest value of each trait, consent by consent order, tags and ids united', () => {
    const joined = {
      ...older('k-old', [
        identify('2026-11-01T00:00:00Z', { email: 'old@example.com', city: 'Bonn' }),
        identify('2026-11-07T00:00:00Z', { city: 'Berlin' }),
        ev('Order Completed', '2026-11-02T00:00:00Z', { orderId: 'o-1', revenue: 10, currency: 'EUR' }),
        // Received at 12:00, dated earlier: its key is its receipt.
        ev('Unsubscribed', '2026-11-03T00:00:00Z', { channel: 'email' }, { receivedAt: '2026-11-20T12:00:00.000Z' }),
      ]),
      manualTags: ['crm-gold'],
      mergedIds: ['k-older'],
    };
    const survivor = {
      ...older('k-new', [
        identify('2026-11-05T00:00:00Z', { email: 'new@example.com', city: 'Köln' }),
        ev('Order Completed', '2026-11-06T00:00:00Z', { orderId: 'o-2', revenue: 20, currency: 'EUR' }),
        // A grant dated after the denial's event time, but before its receipt: the denial wins.
        ev('Subscribed', '2026-11-08T00:00:00Z', { channel: 'email' }),
      ]),
      manualTags: ['beta-tester'],
    };
    const p = joinProfiles(survivor, joined, now);
    expect(p.id).toBe('k-new');
    expect(p.mergedIds).toEqual(['k-old', 'k-older']);
    expect(p.stats).toMatchObject({ orderCount: 2, totalRevenue: 30, averageOrderValue: 15, firstOrderAt: '2026-11-02T00:00:00.000Z', lastOrderAt: '2026-11-06T00:00:00.000Z' });
    expect(p.traits).toMatchObject({ email: 'new@example.com', city: 'Berlin' });
    expect(p.consent.email).toMatchObject({ status: 'denied', source: 'Unsubscribed' });
    expect(p.manualTags).toEqual(['beta-tester', 'crm-gold']);
    expect(p.firstSeenAt).toBe('2026-11-01T00:00:00.000Z');
    // The same join the other way round keeps the same history (only the surviving id differs).
    const reverse = joinProfiles(joined, survivor, now);
    expect({ ...reverse, id: 'x', mergedIds: [] }).toEqual({ ...p, id: 'x', mergedIds: [] });
  });
});

describe('bounded lists when profiles meet', () => {
  const now = new Date('2026-12-01T00:00:00Z');
  it(`a visitor's journey tags merge within PROFILE_LIMITS.journeyTags (${PROFILE_LIMITS.journeyTags}), the same whichever side holds which`, () => {
    const tags = (from: number, n: number) => Array.from({ length: n }, (_, i) => `journey-tag-${String(from + i).padStart(3, '0')}`);
    const known: Profile = { ...emptyProfile('c-1', now.toISOString()), journeyTags: tags(0, 80) };
    const visitor: Profile = { ...emptyProfile('anon:v-1', now.toISOString()), journeyTags: tags(60, 80) };
    const merged = mergeProfiles(known, visitor, 'v-1', now);
    expect(merged.journeyTags).toEqual(tags(0, PROFILE_LIMITS.journeyTags));
    const swapped = mergeProfiles({ ...known, journeyTags: visitor.journeyTags! }, { ...visitor, journeyTags: known.journeyTags! }, 'v-1', now);
    expect(swapped.journeyTags).toEqual(merged.journeyTags);
  });

  it(`an identify links at most PROFILE_LIMITS.anonymousIds (${PROFILE_LIMITS.anonymousIds}) visitor ids`, () => {
    let p = emptyProfile('c-2', now.toISOString());
    for (let i = 0; i < PROFILE_LIMITS.anonymousIds + 3; i++) p = applyEvent(p, { ...identify(now.toISOString(), { plan: 'pro' }), userId: 'c-2', anonymousId: `v-${i}`, messageId: `m-${i}` }, now);
    expect(p.anonymousIds).toHaveLength(PROFILE_LIMITS.anonymousIds);
    expect(p.anonymousIds.at(-1)).toBe(`v-${PROFILE_LIMITS.anonymousIds - 1}`);
  });
});
