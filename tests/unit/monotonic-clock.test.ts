/**
 * The embedded engine's real-time clock never goes back (receipt order decides consent): a wall clock
 * stepped back keeps the latest time given, and the floor the data folder sets at start holds too.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock, MonotonicClock } from '../../shared';

describe('MonotonicClock', () => {
  it('gives the latest time it gave while the wall clock is behind it, then follows the wall clock again', () => {
    // Prepare
    const wall = new ManualClock('2026-03-02T10:00:00.000Z');
    const clock = new MonotonicClock(wall);
    expect(clock.now().toISOString()).toBe('2026-03-02T10:00:00.000Z');

    // Act: an NTP step ten minutes back, then time passes.
    wall.advance(-600_000);
    const during = clock.now().toISOString();
    wall.advance(600_001);

    // Assess
    expect(during).toBe('2026-03-02T10:00:00.000Z');
    expect(clock.now().toISOString()).toBe('2026-03-02T10:00:00.001Z');
  });

  it('starts no earlier than the floor it is given (the last time the data folder recorded)', () => {
    // Prepare
    const clock = new MonotonicClock(new ManualClock('2026-03-02T09:00:00.000Z'));

    // Act
    clock.atLeast('2026-03-02T09:30:00.000Z');
    clock.atLeast('not a time');

    // Assess
    expect(clock.now().toISOString()).toBe('2026-03-02T09:30:00.000Z');
  });
});
