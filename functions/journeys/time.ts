/**
 * Wall-clock arithmetic in a customer's time zone (IANA names), with Intl only.
 * Used for quiet hours (defer, don't drop) and "wait until 09:00 their time".
 */

export const DEFAULT_TIME_ZONE = 'UTC';
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export function isValidTimeZone(tz: unknown): tz is string {
  if (typeof tz !== 'string' || tz.length === 0) return false;
  // A zone seen before has its formatter (`formatter`, which throws for an unknown zone): no new one per call.
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  weekday: Weekday;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', weekday: 'short' });
    formatters.set(tz, f);
  }
  return f;
}

export function localParts(at: Date, tz: string): LocalParts {
  const parts = Object.fromEntries(formatter(tz).formatToParts(at).map((p) => [p.type, p.value]));
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    weekday: String(parts.weekday).toLowerCase().slice(0, 3) as Weekday,
  };
}

/** The UTC instant at which the wall clock in `tz` shows the given local date and time (DST gaps move forward). */
export function zonedToUtc(year: number, month: number, day: number, hour: number, minute: number, tz: string): Date {
  let guess = Date.UTC(year, month - 1, day, hour, minute);
  for (let i = 0; i < 3; i++) {
    const p = localParts(new Date(guess), tz);
    const shownAsUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);
    const wanted = Date.UTC(year, month - 1, day, hour, minute);
    if (shownAsUtc === wanted) break;
    guess += wanted - shownAsUtc;
  }
  return new Date(guess);
}

export function parseClock(hhmm: string): { hour: number; minute: number } {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
  if (!m) throw new Error(`expected a time of day like "09:00", got ${JSON.stringify(hhmm)}`);
  return { hour: Number(m[1]), minute: Number(m[2]) };
}

/** The next instant (strictly after `now`, or now if exactly on it) when the local clock shows `time` on one of `days`. */
export function nextLocalTime(now: Date, tz: string, time: string, days?: readonly Weekday[]): Date {
  const { hour, minute } = parseClock(time);
  const today = localParts(now, tz);
  for (let offset = 0; offset <= 8; offset++) {
    const base = new Date(Date.UTC(today.year, today.month - 1, today.day + offset, 12));
    const candidate = zonedToUtc(base.getUTCFullYear(), base.getUTCMonth() + 1, base.getUTCDate(), hour, minute, tz);
    if (candidate.getTime() < now.getTime()) continue;
    if (days && days.length > 0 && !days.includes(localParts(candidate, tz).weekday)) continue;
    return candidate;
  }
  throw new Error(`no ${time} on ${days?.join(',')} within 8 days`);
}

export interface QuietHours {
  /** Local time quiet hours start, e.g. "21:00". */
  start: string;
  /** Local time they end, e.g. "08:00" (may be on the next day). */
  end: string;
}

/** When `now` falls in the customer's quiet hours, the instant they end; otherwise undefined. */
export function quietHoursEnd(now: Date, tz: string, quiet: QuietHours): Date | undefined {
  const { hour, minute } = localParts(now, tz);
  const minutes = hour * 60 + minute;
  const s = parseClock(quiet.start);
  const e = parseClock(quiet.end);
  const start = s.hour * 60 + s.minute;
  const end = e.hour * 60 + e.minute;
  const inside = start <= end ? minutes >= start && minutes < end : minutes >= start || minutes < end;
  return inside ? nextLocalTime(now, tz, quiet.end) : undefined;
}
