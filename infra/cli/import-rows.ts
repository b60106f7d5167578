/**
 * `rapport import`: lines of a CSV or NDJSON file to Segment-shaped events, with
 * messageIds derived from the file name, the line number and the line's text, so
 * a re-run posts the same ids (the ingest answers them as duplicates).
 *
 * CSV: a header row names the columns; one row per line (no line breaks inside
 * quoted fields). Columns `userId` (or `user_id`), `anonymousId`, `event`,
 * `timestamp` and `messageId` are the event's own; `properties.<name>` columns
 * are track properties; every other column is a trait. A row with traits gives an
 * identify; a row with an `event` gives a track (after the identify, if any).
 * Numbers and true/false are typed; empty cells are left out.
 *
 * NDJSON: one Segment event per line (`type`, `userId`, `event`, ...); a line
 * without a `messageId` gets one.
 */
import { createHash } from 'node:crypto';

export interface ImportEvent {
  /** The file's line (1-based) the event came from. */
  line: number;
  event: Record<string, unknown>;
}

export type LineResult = { events: ImportEvent[] } | { line: number; error: string };

const OWN = new Set(['userId', 'user_id', 'anonymousId', 'event', 'timestamp', 'messageId', 'type']);

export const messageIdOf = (fileName: string, line: number, text: string, suffix = '') =>
  `imp-${createHash('sha256').update(`${fileName}\n${line}\n${text}`).digest('hex').slice(0, 32)}${suffix}`;

/** One CSV line's cells (RFC 4180 quoting, `""` inside quotes). */
export function csvCells(text: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell === '') quoted = true;
    else if (c === ',') {
      cells.push(cell);
      cell = '';
    } else cell += c;
  }
  cells.push(cell);
  return cells;
}

function typed(value: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(value) && value.length < 16) return Number(value);
  if (value === 'true' || value === 'false') return value === 'true';
  return value;
}

/** A CSV data line, given the header's columns. */
export function csvLine(header: string[], text: string, line: number, fileName: string): LineResult {
  const cells = csvCells(text);
  if (cells.length !== header.length) return { line, error: `expected ${header.length} cells as in the header, got ${cells.length}` };
  const row = new Map(header.map((h, i) => [h, cells[i]!.trim()]));
  const userId = row.get('userId') || row.get('user_id') || undefined;
  const anonymousId = row.get('anonymousId') || undefined;
  if (!userId && !anonymousId) return { line, error: 'no userId (or anonymousId)' };
  const ids = { ...(userId && { userId }), ...(anonymousId && { anonymousId }) };
  const timestamp = row.get('timestamp') || undefined;
  const traits: Record<string, unknown> = {};
  const properties: Record<string, unknown> = {};
  for (const [key, value] of row) {
    if (OWN.has(key) || value === '') continue;
    if (key.startsWith('properties.')) properties[key.slice('properties.'.length)] = typed(value);
    else traits[key] = typed(value);
  }
  const events: ImportEvent[] = [];
  const own = row.get('messageId') || undefined;
  const event = row.get('event') || undefined;
  if (Object.keys(traits).length > 0) {
    events.push({ line, event: { type: 'identify', ...ids, traits, ...(timestamp && { timestamp }), messageId: own && !event ? own : messageIdOf(fileName, line, text, '-i') } });
  }
  if (event) events.push({ line, event: { type: 'track', ...ids, event, properties, ...(timestamp && { timestamp }), messageId: own ?? messageIdOf(fileName, line, text, '-t') } });
  if (events.length === 0) return { line, error: 'neither traits nor an event' };
  return { events };
}

/** An NDJSON line: one Segment event. */
export function ndjsonLine(text: string, line: number, fileName: string): LineResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { line, error: `not JSON (${(error as Error).message})` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { line, error: 'expected a JSON object (one Segment event)' };
  const event = parsed as Record<string, unknown>;
  return { events: [{ line, event: { ...event, messageId: typeof event.messageId === 'string' ? event.messageId : messageIdOf(fileName, line, text) } }] };
}
