/**
 * `isValidTimeZone`: an IANA zone the runtime knows is valid, anything else (a sender's trait) is not, asked once or
 * many times (a valid zone's formatter is kept and reused; an invalid one is never kept).
 */
import { describe, expect, it } from 'vitest';
import { isValidTimeZone, localParts } from '../../../functions/journeys/time';

describe('isValidTimeZone', () => {
  it('accepts known zones, again and again, and their local time reads right', () => {
    for (let i = 0; i < 3; i++) for (const tz of ['Europe/Paris', 'America/New_York', 'UTC']) expect(isValidTimeZone(tz), tz).toBe(true);
    expect(localParts(new Date('2026-03-02T10:00:00Z'), 'Europe/Paris')).toMatchObject({ hour: 11, minute: 0, weekday: 'mon' });
  });

  it('refuses what is not a zone, each time it is asked', () => {
    for (let i = 0; i < 3; i++) for (const tz of ['Mars/Olympus_Mons', 'not a zone', '', 42, undefined, null]) expect(isValidTimeZone(tz), String(tz)).toBe(false);
  });
});
