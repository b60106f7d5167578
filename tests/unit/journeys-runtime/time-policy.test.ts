import { describe, expect, it } from 'vitest';
import { decideSend, DEFAULT_SEND_POLICY } from '../../../functions/journeys/policy';
import { nextLocalTime, quietHoursEnd, zonedToUtc } from '../../../functions/journeys/time';

import type { ConsentRecord, Profile } from '../../../shared';

const unknown = (): ConsentRecord => ({ status: 'unknown', source: 'default', at: '' });
const consented = (traits: Record<string, unknown>): Pick<Profile, 'traits' | 'consent' | 'suppression'> => ({
  traits,
  consent: { email: unknown(), sms: unknown(), whatsapp: unknown(), push: unknown() },
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
  const DAY = 86_400_000;
  const none = { sentInWindow: [] };
  const ago = (days: number) => new Date(noon.getTime() - days * DAY);
  it('sends marketing in opt-out mode to a customer with an address who never refused', () => {
    expect(decideSend(consented({ email: 'a@example.com' }), 'email', 'marketing', none, noon, DEFAULT_SEND_POLICY)).toEqual({ action: 'send', address: 'a@example.com' });
  });
  it('skips with the reason: no address, unsubscribed, no consent in opt-in mode, suppressed, frequency cap', () => {
    const p = consented({ email: 'a@example.com' });
    expect(decideSend(consented({}), 'email', 'marketing', none, noon, DEFAULT_SEND_POLICY)).toEqual({ action: 'skip', reason: 'no-address' });
    expect(decideSend({ ...p, consent: { ...p.consent, email: { status: 'denied', source: 'Unsubscribed', at: '' } } }, 'email', 'marketing', none, noon, DEFAULT_SEND_POLICY)).toEqual({ action: 'skip', reason: 'unsubscribed' });
    expect(decideSend(p, 'email', 'marketing', none, noon, { ...DEFAULT_SEND_POLICY, consentMode: 'opt-in' })).toEqual({ action: 'skip', reason: 'no-consent' });
    expect(decideSend({ ...p, suppression: { email: { reason: 'hard-bounce', at: '' } } }, 'email', 'transactional', none, noon, DEFAULT_SEND_POLICY)).toEqual({ action: 'skip', reason: 'suppressed' });
    expect(decideSend(p, 'email', 'marketing', { sentInWindow: [ago(1), ago(2), ago(3)] }, noon, DEFAULT_SEND_POLICY)).toEqual({ action: 'skip', reason: 'frequency-cap' });
  });
  it('lets transactional messages through an unsubscribe, the cap and quiet hours, but defers marketing in quiet hours', () => {
    const p = { ...consented({ email: 'a@example.com', timezone: 'Europe/Paris' }) };
    p.consent.email = { status: 'denied', source: 'Unsubscribed', at: '' };
    const night = new Date('2026-11-23T23:00:00Z');
    expect(decideSend(p, 'email', 'transactional', { sentInWindow: [ago(1), ago(1), ago(1), ago(1)] }, night, DEFAULT_SEND_POLICY)).toEqual({ action: 'send', address: 'a@example.com' });
    const q = consented({ email: 'a@example.com', timezone: 'Europe/Paris' });
    expect(decideSend(q, 'email', 'marketing', none, night, DEFAULT_SEND_POLICY)).toEqual({ action: 'defer', until: new Date('2026-11-24T07:00:00.000Z'), reason: 'quiet-hours' });
  });
  it('defers marketing over the cap until the window frees, from the first deferral for at most the maximum delay', () => {
    const p = consented({ email: 'a@example.com' });
    const policy = { ...DEFAULT_SEND_POLICY, quietHours: undefined, frequencyCap: 2, frequencyWindowDays: 7, frequencyCapMaxDelayDays: 3 };
    // Two sent 5 and 6 days ago: the older leaves the window in a day (plus the millisecond it is counted on).
    const frees = new Date(ago(6).getTime() + 7 * DAY + 1);
    expect(decideSend(p, 'email', 'marketing', { sentInWindow: [ago(5), ago(6)] }, noon, policy)).toEqual({ action: 'defer', until: frees, reason: 'frequency-cap' });
    // Deferred first 2.5 days ago: the window frees 3.5 days after that, past the maximum delay.
    expect(decideSend(p, 'email', 'marketing', { sentInWindow: [ago(5), ago(6)], deferredSince: ago(2.5) }, noon, policy)).toEqual({ action: 'skip', reason: 'frequency-cap' });
    // Sent 1 and 2 days ago: the window frees in 5 days, past the maximum delay from now: skipped at once.
    expect(decideSend(p, 'email', 'marketing', { sentInWindow: [ago(1), ago(2)] }, noon, policy)).toEqual({ action: 'skip', reason: 'frequency-cap' });
    // A maximum delay of 0 skips at once; a cap of 0 never frees.
    expect(decideSend(p, 'email', 'marketing', { sentInWindow: [ago(5), ago(6)] }, noon, { ...policy, frequencyCapMaxDelayDays: 0 })).toEqual({ action: 'skip', reason: 'frequency-cap' });
    expect(decideSend(p, 'email', 'marketing', none, noon, { ...policy, frequencyCap: 0 })).toEqual({ action: 'skip', reason: 'frequency-cap' });
    // Transactional messages are never capped.
    expect(decideSend(p, 'email', 'transactional', { sentInWindow: [ago(1), ago(2)] }, noon, policy)).toEqual({ action: 'send', address: 'a@example.com' });
  });
});
