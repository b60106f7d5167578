/**
 * Durations as marketers write them: a whole number and a unit, optionally
 * chained from the largest unit down: `30m`, `2h`, `1d`, `7d`, `2w`, `1d12h`,
 * `6mo`. A month (`mo`) is 30 days; `m` stays minutes (validate warns when a
 * wait of a few minutes looks like months meant: `isMinutesForMonths`).
 */

export const DURATION_PATTERN = /^(?:(\d+)mo)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;
export const DURATION_EXAMPLE = '"30m", "2h", "1d", "7d", "1d12h" or "6mo"';
/** The units, largest first, as the schema's messages name them. */
export const DURATION_UNITS = 'mo (30 days), w, d, h, m, s';

/** A month is 30 days: `6mo` is 180 days, `12mo` 360. */
export const MONTH_SECONDS = 30 * 86_400;
const UNIT_SECONDS = [MONTH_SECONDS, 7 * 86_400, 86_400, 3_600, 60, 1] as const;

/**
 * Whether a duration is a few minutes and nothing else (`1m` to `12m`), where a wait, a timeout or a
 * re-entry delay of that many months is the likelier intent (`6m` for "six months"): a warning, not an error.
 */
export function isMinutesForMonths(text: string): boolean {
  const m = /^([1-9]|1[0-2])m$/.exec(text);
  return m !== null;
}

/** One year, the longest a Standard Step Functions execution lives: the cap for every wait and timeout. */
export const MAX_WAIT_SECONDS = 365 * 86_400;

/** Seconds in `text`, or undefined when it is not a duration (`"1d"` -> 86400). */
export function parseDuration(text: string): number | undefined {
  if (text === '') return undefined;
  const match = DURATION_PATTERN.exec(text);
  if (!match) return undefined;
  return UNIT_SECONDS.reduce((total, unit, i) => total + Number(match[i + 1] ?? 0) * unit, 0);
}

/** Like `parseDuration`, for text the schema already accepted. */
export function durationSeconds(text: string): number {
  const seconds = parseDuration(text);
  if (seconds === undefined) throw new TypeError(`not a duration: ${JSON.stringify(text)}`);
  return seconds;
}

/** `86400` -> `"1d"`, `5400` -> `"1h30m"`: for messages and pictures. */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  let rest = seconds;
  let out = '';
  for (const [unit, size] of [['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}
