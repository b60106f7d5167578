/**
 * Page cursors of the listings read from an index (a segment's members, the broadcasts, the runs at a step): the
 * last key read, as base64url JSON, opaque to clients. A cursor is taken back only when `check` recognises it as
 * one its listing returned (its keys in that listing's partition), so a forged one cannot reach other items.
 */
export const encodePageCursor = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The cursor's value as `check` accepts it, or undefined (not base64url JSON, or not one of this listing's). */
export function decodePageCursor<T>(cursor: string, check: (value: unknown) => T | undefined): T | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString());
  } catch {
    return undefined;
  }
  return value !== null && typeof value === 'object' ? check(value) : undefined;
}
