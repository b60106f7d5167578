/**
 * The consent rule (ARCHITECTURE decision 8): a change takes effect at the earlier
 * of its event time and its receipt; a denial received after a grant happened
 * always wins; no timestamp a sender chooses (up to 24 h ahead is accepted) can
 * put a grant after a denial Rapport already had. Pure: applyEvent, mergeProfiles
 * and the send-time fold (profile record + the hold ingest records), checked
 * against a small oracle of the rule over random sets of changes in random order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyEvent, emptyProfile, mergeProfiles } from '../../../functions/profile';
import { CHANNELS, consentDenials, consentRecord, foldConsent, reachability, type Channel, type NormalisedEvent, type Profile } from '../../../shared';
import { ev, identify } from '../../helpers/events';

const HOUR = 3_600_000;
const base = Date.parse('2026-11-20T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const now = new Date(base + 30 * 24 * HOUR);
const fold = (events: NormalisedEvent[], start: Profile = emptyProfile('cust-1', iso(base - 72 * HOUR))) => events.reduce((p, e) => applyEvent(p, e, now), start);
/** An event as ingest stamps it: the sender's timestamp, Rapport's receipt. */
const at = (event: NormalisedEvent, timestamp: number, receivedAt: number): NormalisedEvent => ({ ...event, timestamp: iso(timestamp), receivedAt: iso(receivedAt) });

describe('consent order: denials received after a grant win, whatever the timestamps', () => {
  it('a one-click unsubscribe received after a Subscribed dated 23 h ahead denies (it used to stay granted)', () => {
    const subscribed = at(ev('Subscribed', iso(base), { channel: 'email' }), base + 23 * HOUR, base);
    const oneClick = at(ev('Unsubscribed', iso(base), { channel: 'email', method: 'one-click' }, { sourceId: 'unsubscribe' }), base + HOUR, base + HOUR);
    for (const order of [[subscribed, oneClick], [oneClick, subscribed]]) {
      const p = fold(order);
      expect(p.consent.email).toEqual({ status: 'denied', source: 'Unsubscribed', at: iso(base + HOUR), key: iso(base + HOUR) });
    }
  });

  it('an Unsubscribed received after a future-dated Subscribed denies, even when its own timestamp is older', () => {
    const subscribed = at(ev('Subscribed', iso(base), { channel: 'sms' }), base + 20 * HOUR, base);
    const unsubscribed = at(ev('Unsubscribed', iso(base), { channel: 'all' }), base - 2 * HOUR, base + 5 * 60_000);
    expect(fold([subscribed, unsubscribed]).consent.sms).toMatchObject({ status: 'denied', at: iso(base - 2 * HOUR) });
    expect(fold([unsubscribed, subscribed]).consent.sms.status).toBe('denied');
  });

  it('identify consent false is a denial like any other; a grant that happened after the denial arrived wins', () => {
    const denied = at(identify(iso(base), { consent: { push: false } }), base, base);
    const later = at(identify(iso(base), { consent: { push: true } }), base + HOUR, base + 2 * HOUR);
    const dated = at(identify(iso(base), { consent: { push: true } }), base + 10 * HOUR, base - HOUR);
    expect(fold([later, denied]).consent.push).toMatchObject({ status: 'granted', source: 'identify', at: iso(base + HOUR) });
    // Sent before the denial arrived, dated after it: the denial wins.
    expect(fold([denied, dated]).consent.push.status).toBe('denied');
  });

  it('a denial shows since when it stands: the earliest denial after the last grant, in any arrival order', () => {
    const first = at(ev('Unsubscribed', iso(base), { channel: 'email' }), base, base);
    const again = at(ev('Unsubscribed', iso(base), { channel: 'email', method: 'one-click' }, { sourceId: 'unsubscribe' }), base + 2 * HOUR, base + 2 * HOUR);
    const grant = at(ev('Subscribed', iso(base), { channel: 'email' }), base + 4 * HOUR, base + 4 * HOUR);
    const last = at(ev('Unsubscribed', iso(base), { channel: 'email' }), base + 6 * HOUR, base + 6 * HOUR);
    for (const order of [[first, again], [again, first]]) expect(fold(order).consent.email).toEqual({ status: 'denied', source: 'Unsubscribed', at: iso(base), key: iso(base + 2 * HOUR) });
    // A grant between two denials ends the first run: whenever it arrives, the denial stands since the last one.
    for (const order of [[first, grant, last], [first, last, grant], [last, first, grant], [grant, last, first], [last, grant, first]]) {
      expect(fold(order).consent.email).toEqual({ status: 'denied', source: 'Unsubscribed', at: iso(base + 6 * HOUR), key: iso(base + 6 * HOUR) });
    }
  });

  it('a denial wins a tie with a grant (same instant)', () => {
    const grant = at(ev('Subscribed', iso(base), { channel: 'email' }), base, base);
    const deny = at(ev('Unsubscribed', iso(base), { channel: 'email' }), base, base);
    expect(fold([grant, deny]).consent.email.status).toBe('denied');
    expect(fold([deny, grant]).consent.email.status).toBe('denied');
  });

  it('mergeProfiles applies the same rule: a visitor’s future-dated grant does not beat the customer’s later denial, nor the reverse', () => {
    const grant = at(ev('Subscribed', iso(base), { channel: 'email' }, { userId: undefined, anonymousId: 'v-1' }), base + 23 * HOUR, base);
    const deny = at(ev('Unsubscribed', iso(base), { channel: 'email' }), base + HOUR, base + HOUR);
    const visitor = fold([grant], emptyProfile('anon:v-1', iso(base)));
    const known = fold([deny]);
    expect(mergeProfiles(known, visitor, 'v-1', now).consent.email.status).toBe('denied');
    expect(mergeProfiles(visitor, known, 'v-1', now).consent.email.status).toBe('denied');
  });

  it('reads records stored before keys existed by their time: a later denial beats an old grant, an old denial loses to a later grant', () => {
    const old = (status: 'granted' | 'denied'): Profile => ({ ...emptyProfile('cust-1', iso(base - HOUR)), consent: { ...emptyProfile('cust-1', iso(base)).consent, email: { status, source: 'Subscribed', at: iso(base) } } });
    expect(fold([at(ev('Unsubscribed', iso(base), { channel: 'email' }), base + HOUR, base + HOUR)], old('granted')).consent.email.status).toBe('denied');
    expect(fold([at(ev('Subscribed', iso(base), { channel: 'email' }), base + HOUR, base + HOUR)], old('denied')).consent.email.status).toBe('granted');
    expect(fold([at(ev('Subscribed', iso(base), { channel: 'email' }), base - HOUR, base - HOUR)], old('denied')).consent.email.status).toBe('denied');
  });
});

// --- the property --------------------------------------------------------------------------------

type Kind = 'subscribed' | 'identify-grant' | 'unsubscribed' | 'unsubscribed-all' | 'identify-deny' | 'one-click';
interface Change {
  kind: Kind;
  channel: Channel;
  /** Minutes after `base` that ingest received it (coarse, so ties happen). */
  received: number;
  /** The sender's timestamp relative to receipt, in minutes: past, equal, or up to 24 h ahead. */
  skew: number;
}
const change: fc.Arbitrary<Change> = fc.record({
  kind: fc.constantFrom<Kind>('subscribed', 'identify-grant', 'unsubscribed', 'unsubscribed-all', 'identify-deny', 'one-click'),
  channel: fc.constantFrom(...CHANNELS),
  received: fc.integer({ min: 0, max: 30 }),
  skew: fc.oneof(fc.constant(0), fc.integer({ min: -48 * 60, max: 24 * 60 }), fc.constantFrom(24 * 60, -1, 1)),
});

let n = 0;
function toEvent(c: Change): NormalisedEvent {
  const received = base + c.received * 60_000;
  const timestamp = c.kind === 'one-click' ? received : received + c.skew * 60_000;
  const e = (() => {
    switch (c.kind) {
      case 'subscribed':
        return ev('Subscribed', iso(base), { channel: c.channel });
      case 'identify-grant':
        return identify(iso(base), { consent: { [c.channel]: true } });
      case 'unsubscribed':
        return ev('Unsubscribed', iso(base), { channel: c.channel });
      case 'unsubscribed-all':
        return ev('Unsubscribed', iso(base), { channel: 'all' });
      case 'identify-deny':
        return identify(iso(base), { consent: { [c.channel]: false } });
      case 'one-click':
        return ev('Unsubscribed', iso(base), { channel: c.channel, method: 'one-click' }, { sourceId: 'unsubscribe' });
    }
  })();
  return { ...at(e, timestamp, received), messageId: `m-${++n}` };
}

/**
 * The oracle, in the rule's own words: a channel is denied when some denial
 * reached Rapport no earlier than every grant took effect (a grant takes effect at
 * the earlier of its timestamp and its receipt); granted when only grants, or a
 * grant took effect after every denial arrived; unknown when nobody said anything.
 */
function oracle(changes: readonly Change[], channel: Channel): 'granted' | 'denied' | 'unknown' {
  const denials = changes.filter((c) => ['unsubscribed', 'identify-deny', 'one-click'].includes(c.kind) ? c.channel === channel : c.kind === 'unsubscribed-all');
  const grants = changes.filter((c) => (c.kind === 'subscribed' || c.kind === 'identify-grant') && c.channel === channel);
  if (denials.length === 0) return grants.length === 0 ? 'unknown' : 'granted';
  const lastDenialArrived = Math.max(...denials.map((c) => c.received));
  const lastGrantEffective = Math.max(-Infinity, ...grants.map((c) => Math.min(c.received, c.received + c.skew)));
  return lastDenialArrived >= lastGrantEffective ? 'denied' : 'granted';
}

/**
 * Since when the oracle's denial stands: the earliest effective time (the earlier of timestamp and
 * receipt) among the denials that reached Rapport no earlier than every grant took effect.
 */
function oracleSince(changes: readonly Change[], channel: Channel): string {
  const denials = changes.filter((c) => (['unsubscribed', 'identify-deny', 'one-click'].includes(c.kind) ? c.channel === channel : c.kind === 'unsubscribed-all'));
  const grants = changes.filter((c) => (c.kind === 'subscribed' || c.kind === 'identify-grant') && c.channel === channel);
  const lastGrantEffective = Math.max(-Infinity, ...grants.map((c) => Math.min(c.received, c.received + c.skew)));
  const effective = (c: Change) => (c.kind === 'one-click' ? c.received : Math.min(c.received, c.received + c.skew));
  return iso(base + Math.min(...denials.filter((c) => c.received >= lastGrantEffective).map(effective)) * 60_000);
}

const shuffled = <T>(items: readonly T[]) => fc.shuffledSubarray([...items], { minLength: items.length, maxLength: items.length });

describe('consent order (property): the final consent is a function of the set of changes, and it is the rule', () => {
  it('applyEvent in any order, and any split into a visitor and a customer merged later, gives the oracle’s consent', () => {
    fc.assert(
      fc.property(
        fc.array(change, { minLength: 1, maxLength: 8 }).chain((changes) => fc.tuple(fc.constant(changes), shuffled(changes.map(toEvent)), shuffled(changes.map(toEvent)), fc.nat())),
        ([changes, order1, order2, cut]) => {
          const p1 = fold(order1);
          const p2 = fold(order2);
          expect(p2.consent).toEqual(p1.consent);
          // Some of the changes reached a visitor profile first, merged into the customer's.
          const k = cut % (order1.length + 1);
          const visitor = fold(order1.slice(0, k), emptyProfile('anon:v', iso(base - 72 * HOUR)));
          const merged = mergeProfiles(fold(order1.slice(k)), visitor, 'v', now);
          expect(merged.consent).toEqual(p1.consent);
          for (const channel of CHANNELS) {
            expect(p1.consent[channel].status, channel).toBe(oracle(changes, channel));
            // A denial shows since when it stands without a break: the earliest denial after the last grant.
            if (p1.consent[channel].status === 'denied') expect(p1.consent[channel].at, channel).toBe(oracleSince(changes, channel));
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('the send-time check (profile so far + the denials ingest recorded) never lets marketing out after a denial’s receipt', () => {
    fc.assert(
      fc.property(
        fc.array(change, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: 31 }),
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        (changes, sendAt, appliedYet) => {
          // At the send, ingest has received the changes up to `sendAt`; the consumer has applied only some.
          const received = changes.filter((c) => c.received <= sendAt);
          const events = received.map(toEvent);
          const profile = fold(events.filter((_, i) => appliedYet[i]), { ...emptyProfile('cust-1', iso(base)), traits: { email: 'a@example.com', phone: '+33600000000', pushToken: 'arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/shop-app/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0' } });
          for (const channel of CHANNELS) {
            // The hold: the greatest denial ingest recorded for the channel (the store keeps the greatest key).
            const holds = events.flatMap((e) => consentDenials(e)).filter((d) => d.channel === channel).map(consentRecord);
            const consent = holds.reduce(foldConsent, profile.consent[channel]);
            const reach = reachability({ ...profile, consent: { ...profile.consent, [channel]: consent } }, channel, 'marketing', 'opt-out');
            if (oracle(received, channel) === 'denied') expect(reach, channel).toEqual({ ok: false, reason: 'unsubscribed' });
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
