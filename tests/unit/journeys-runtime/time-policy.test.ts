import { describe, expect, it } from 'vitest';
import { decideSend, DEFAULT_SEND_POLICY } from '../../../functions/journeys/policy';
import { nextLocalTime, quietHoursEnd, zonedToUtc } from '../../../functions/journeys/time';

import type { ConsentRecord, Profile } from '../../../shared';

const unknown = (): ConsentRecord => ({ status: 'unknown', source: 'default', at: '' });
const consented = (traits: Record<string, unknown>): Pick<Profile, 'traits' | 'consent' | 'suppression'> => ({
  traits,
  consent: { email: unknown(), sms: unknown(), push: unknown() },
  suppression: {},
});

describe('time zones', () => {
  it('converts local wall time to UTC across DST', () => {
    expect(zonedToUtc(2026, 7, 1, 9, 0, 'Europe/Paris').toISOString()).toBe('2026-07-01T07:00:00.000Z');
    expect(zonedToUtc(2026, 12, 1, 9, 0, 'Europe/Paris').toISOString()).toBe('2026-12-01T08:00:00.000Z');
    expect(zonedToUtc(2026, 11, 23, 9, 0, 'America/New_York').toISOString()).toBe('2026-11-23T14:00:00.000Z');
  });

  it('finds the next 09:00 in the customer’s zone, optionally on given weekdays', () => {
    const now = new Date('2026-11-23T10:00:00Z'); // Monday 11:00 in Paris
    expect(nextLocalTime(now, 'Europe/Paris', '09:00').toISOString()).toBe('2026-11-24T08:00:00.000Z');
    expect(nextLocalTime(now, 'Europe/Paris', '12:00').toISOString()).toBe('2026-11-23T11:00:00.000Z');
    expect(nextLocalTime(now, 'Europe/Paris', '09:00', ['sat']).toISOString()).toBe('2026-11-28T08:00:00.000Z');
  });

  it('knows quiet hours that span midnight', () => {
    const quiet = { start: '21:00', end: '08:00' };
    expect(quietHoursEnd(new Date('2026-11-23T22:30:00Z'), 'Europe/Paris', quiet)?.toISOString()).toBe('2026-11-24T07:00:00.000Z');
    expect(quietHoursEnd(new Date('2026-11-23T05:00:00Z'), 'Europe/Paris', quiet)?.toISOString()).toBe('2026-11-23T07:00:00.000Z');
    expect(quietHoursEnd(new Date('2026-11-23T12:00:00Z'), 'Europe/Paris', quiet)).toBeUndefined();
  });
});

describe('send policy', () => {
  const noon = new Date('2026-11-23T12:00:00Z');
  it('sends marketing in opt-out mode to a customer with an address who never refused', () => {
    expect(decideSend(consented({ email: 'a@example.com' }), 'email', 'marketing', 0, noon, DEFAULT_SEND_POLICY)).toEqual({ action: 'send', address: 'a@example.com' });
  });
  it('skips with the reason: no address, unsubscribed, no consent in opt-in mode, suppressed, frequency cap', () => {
    const p = consented({ email: 'a@example.com' });
    expect(decideSend(consented({}), 'email', 'marketing', 0, noon, DEFAULT_SEND_POLICY)).toEqual({ action: 'skip', reason: 'no-address' });
    expect(decideSend({ ...p, consent: { ...p.consent, email: { status: 'denied', source: 'Unsubscribed', at: '' } } }, 'email', 'marketing', 0, noon, DEFAULT_SEND_POLICY)).toEqual({ action: 'skip', reason: 'unsubscribed' });
    expect(decideSend(p, 'email', 'marketing', 0, noon, { ...DEFAULT_SEND_POLICY, consentMode: 'opt-in' })).toEqual({ action: 'skip', reason: 'no-consent' });
    expect(decideSend({ ...p, suppression: { email: { reason: 'hard-bounce', at: '' } } }, 'email', 'transactional', 0, noon, DEFAULT_SEND_POLICY)).toEqual({ action: 'skip', reason: 'suppressed' });
    expect(decideSend(p, 'email', 'marketing', 3, noon, DEFAULT_SEND_POLICY)).toEqual({ action: 'skip', reason: 'frequency-cap' });
  });
  it('lets transactional messages through an unsubscribe, the cap and quiet hours, but defers marketing in quiet hours', () => {
    const p = { ...consented({ email: 'a@example.com', timezone: 'Europe/Paris' }) };
    p.consent.email = { status: 'denied', source: 'Unsubscribed', at: '' };
    const night = new Date('2026-11-23T23:00:00Z');
    expect(decideSend(p, 'email', 'transactional', 10, night, DEFAULT_SEND_POLICY)).toEqual({ action: 'send', address: 'a@example.com' });
    const q = consented({ email: 'a@example.com', timezone: 'Europe/Paris' });
    expect(decideSend(q, 'email', 'marketing', 0, night, DEFAULT_SEND_POLICY)).toEqual({ action: 'defer', until: new Date('2026-11-24T07:00:00.000Z'), reason: 'quiet-hours' });
  });
});
