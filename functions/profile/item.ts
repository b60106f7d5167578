import { brotliCompressSync, brotliDecompressSync, constants, createBrotliDecompress } from 'node:zlib';
import { PROFILE_CONSENT_CHANNELS, RapportError, type BusEntry, type Profile } from '../../shared';

/**
 * How a profile's contents sit in its DynamoDB item. Every profile write
 * rewrites the whole item and DynamoDB bills 1 WRU per KB written, so the
 * item is kept small:
 *
 * - `body` (binary): `[format byte 1][brotli(JSON { profile, outbox })]`. A
 *   steady-state profile (~50 recent events, stats, an 8-entry outbox) is
 *   ~11 KB of JSON and ~2 KB packed.
 * - `applied` (binary): the applied-message marks, 9 raw bytes each (a mark
 *   is 12 base64url characters = 72 bits), ~1.8 KB for 200 marks.
 *
 * Keys, `version`, `nextChangeAt`, `pendingCause` and the index keys stay
 * plain attributes: conditions and indexes read them. Items written before
 * this form (`profile` as a map, `applied` as a list of strings, outbox
 * entries as whole bus entries) are still read; the next write converts them.
 */

/** A derived event of a recent change, kept to be republished if its cause is redelivered: only what rebuilds it. */
export interface OutboxEntry {
  /** The messageId (or journey step / sweep cause) that caused it. */
  cause: string;
  /** The derived event's own messageId (kept rather than re-hashed from properties). */
  messageId: string;
  name: string;
  properties: Record<string, unknown>;
  at: string;
  /** The time of the event that caused it (an ingested event's timestamp); absent when it happened now (sweep, journey step). */
  causedAt?: string;
  /** When Rapport received that event: how old the news was on arrival is what journeys' trigger.max_age judges. */
  causeReceivedAt?: string;
}

/** The parts of a stored profile that live in the packed attributes. */
export interface ProfileContents {
  profile: Profile;
  applied: string[];
  outbox: OutboxEntry[];
}

/** A profile item that cannot be read: never silently replaced by an empty profile. */
export class UnreadableProfileError extends RapportError {
  readonly retryable = false;
}

/**
 * A packed body that unpacks to more than this is refused (a brotli body of a few KB
 * can expand to gigabytes). Profiles within PROFILE_LIMITS are ~330 KB of JSON at most;
 * the headroom reads profiles written before the limits.
 */
export const PROFILE_JSON_MAX_BYTES = 4 * 1024 * 1024;

/** A profile item whose body unpacks beyond `PROFILE_JSON_MAX_BYTES`: refused before it exhausts the function's memory. */
export class ProfileTooLargeError extends UnreadableProfileError {}

const FORMAT_BROTLI_JSON = 1;
const MARK_BYTES = 9;
const MARK_PATTERN = /^[A-Za-z0-9_-]{12}$/;

/**
 * Brotli's window for `bytes` of input: the smallest power of two that holds it (10 to 24 bits). The default (22 bits,
 * 4 MB) compresses a profile's few KB no better, and the encoder sets up that window on every call: in the embedded
 * engine, where each profile write packs in the same process, that was most of the cost of a write's packing.
 */
export const windowBits = (bytes: number): number => Math.min(constants.BROTLI_MAX_WINDOW_BITS, Math.max(constants.BROTLI_MIN_WINDOW_BITS, Math.ceil(Math.log2(bytes + 1))));

/** The attributes that carry a profile's contents. */
export function packContents(contents: ProfileContents): { body: Uint8Array; applied: Uint8Array } {
  const json = Buffer.from(JSON.stringify({ profile: contents.profile, outbox: contents.outbox }));
  const packed = brotliCompressSync(json, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 5,
      [constants.BROTLI_PARAM_LGWIN]: windowBits(json.length),
      [constants.BROTLI_PARAM_SIZE_HINT]: json.length,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
    },
  });
  return { body: Buffer.concat([Buffer.of(FORMAT_BROTLI_JSON), packed]), applied: packMarks(contents.applied) };
}

/** A profile item's contents, from either form. `id` names the customer in errors. */
export function readContents(item: Record<string, unknown>, id: string): ProfileContents {
  if (item.body === undefined) {
    // The earlier form: plain attributes.
    if (typeof item.profile !== 'object' || item.profile === null) throw new UnreadableProfileError(`profile item of ${id}: neither a packed body nor a profile map`);
    return {
      profile: withEveryConsentChannel(item.profile as Profile),
      applied: (item.applied as string[] | undefined) ?? [],
      outbox: ((item.outbox as Array<OutboxEntry | LegacyOutboxEntry> | undefined) ?? []).map(readOutboxEntry),
    };
  }
  const body = asBytes(item.body, id, 'body');
  if (body[0] !== FORMAT_BROTLI_JSON) throw new UnreadableProfileError(`profile item of ${id}: body format ${body[0]} is unknown (expected ${FORMAT_BROTLI_JSON})`);
  let parsed: { profile: Profile; outbox: Array<OutboxEntry | LegacyOutboxEntry> };
  let json: Buffer;
  try {
    json = brotliDecompressSync(body.subarray(1), { maxOutputLength: PROFILE_JSON_MAX_BYTES });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new ProfileTooLargeError(`profile item of ${id}: body unpacks to more than ${PROFILE_JSON_MAX_BYTES / 1024 / 1024} MiB, the limit; refused rather than exhausting memory`, { cause: error });
    }
    throw new UnreadableProfileError(`profile item of ${id}: body is not brotli-packed JSON (${(error as Error).message})`, { cause: error });
  }
  try {
    parsed = JSON.parse(json.toString('utf8')) as typeof parsed;
  } catch (error) {
    throw new UnreadableProfileError(`profile item of ${id}: body is not brotli-packed JSON (${(error as Error).message})`, { cause: error });
  }
  const applied = item.applied === undefined ? [] : unpackMarks(asBytes(item.applied, id, 'applied'), id);
  return { profile: withEveryConsentChannel(parsed.profile), applied, outbox: parsed.outbox.map(readOutboxEntry) };
}

/**
 * A profile stored before a consent channel was added (WhatsApp) has no record for it: nobody decided, unknown since
 * the customer was first seen, as a new profile starts (`emptyProfile`).
 */
function withEveryConsentChannel(profile: Profile): Profile {
  for (const channel of PROFILE_CONSENT_CHANNELS) profile.consent[channel] ??= { status: 'unknown', source: 'default', at: profile.firstSeenAt };
  return profile;
}

export function packMarks(marks: readonly string[]): Uint8Array {
  const out = Buffer.alloc(marks.length * MARK_BYTES);
  marks.forEach((mark, i) => {
    if (!MARK_PATTERN.test(mark)) throw new TypeError(`applied mark ${JSON.stringify(mark)}: expected 12 base64url characters`);
    out.set(Buffer.from(mark, 'base64url'), i * MARK_BYTES);
  });
  return out;
}

export function unpackMarks(bytes: Uint8Array, id: string): string[] {
  if (bytes.length % MARK_BYTES !== 0) throw new UnreadableProfileError(`profile item of ${id}: applied is ${bytes.length} bytes, expected a multiple of ${MARK_BYTES}`);
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const marks: string[] = [];
  for (let i = 0; i < buffer.length; i += MARK_BYTES) marks.push(buffer.subarray(i, i + MARK_BYTES).toString('base64url'));
  return marks;
}

function asBytes(value: unknown, id: string, attribute: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  throw new UnreadableProfileError(`profile item of ${id}: ${attribute} is ${typeof value}, expected binary`);
}

/** An outbox entry as profiles written before the compact form stored it: the whole bus entry. */
interface LegacyOutboxEntry {
  cause: string;
  entry: Omit<BusEntry, 'Time'> & { Time?: string };
}

function readOutboxEntry(o: OutboxEntry | LegacyOutboxEntry): OutboxEntry {
  if (!('entry' in o)) return o;
  const detail = JSON.parse(o.entry.Detail) as { messageId: string; properties: Record<string, unknown>; timestamp: string; context?: { causedAt?: unknown; causeReceivedAt?: unknown } };
  const { customerId: _customerId, ...properties } = detail.properties;
  const { causedAt, causeReceivedAt } = detail.context ?? {};
  const cause = typeof causedAt === 'string' && typeof causeReceivedAt === 'string' ? { causedAt, causeReceivedAt } : {};
  return { cause: o.cause, messageId: detail.messageId, name: o.entry.DetailType, properties, at: detail.timestamp ?? o.entry.Time, ...cause };
}

/** How much of an oversized body `idsOfOversizedBody` reads at most before it gives up. */
export const OVERSIZED_SCAN_MAX_BYTES = 256 * 1024 * 1024;

/**
 * The ids an oversized profile body (`ProfileTooLargeError`) names, so erasure still reaches every
 * partition of the customer: `profile.anonymousIds` and `profile.mergedIds`, found by streaming the
 * body through a small JSON scanner (depth and keys tracked; nothing but those two arrays and short
 * keys kept in memory), never unpacking it whole. Keys of the same name nested deeper (in traits) are
 * not the profile's and are ignored.
 */
export async function idsOfOversizedBody(item: Record<string, unknown>, id: string): Promise<{ anonymousIds: string[]; mergedIds: string[] }> {
  const body = asBytes(item.body, id, 'body');
  const found: { anonymousIds: string[]; mergedIds: string[] } = { anonymousIds: [], mergedIds: [] };
  const keys: Array<string | undefined> = []; // keys[d]: the last key read in the object at depth d
  const containers: Array<{ key: string | undefined; array: boolean }> = [];
  let inString = false;
  let escaped = false;
  let raw: string[] = [];
  let rawLength = 0;
  let pending: string | undefined; // a string just closed: a key if ':' follows
  let read = 0;
  const target = () => {
    const here = containers.at(-1);
    return containers.length === 3 && here?.array && containers[1]!.key === 'profile' && (here.key === 'anonymousIds' || here.key === 'mergedIds') ? here.key : undefined;
  };
  const scan = (text: string) => {
    for (const ch of text) {
      if (inString) {
        if (escaped) escaped = false;
        else if (ch === '\\') escaped = true;
        else if (ch === '"') {
          inString = false;
          const value = rawLength <= 4096 ? (JSON.parse(`"${raw.join('')}"`) as string) : undefined;
          const list = target();
          if (list && value !== undefined) found[list].push(value);
          pending = value;
          continue;
        }
        if (rawLength <= 4096) raw.push(ch);
        rawLength++;
        continue;
      }
      if (ch === '"') {
        inString = true;
        raw = [];
        rawLength = 0;
      } else if (ch === ':') {
        keys[containers.length] = pending;
      } else if (ch === '{' || ch === '[') {
        containers.push({ key: keys[containers.length], array: ch === '[' });
        keys[containers.length] = undefined;
      } else if (ch === '}' || ch === ']') {
        containers.pop();
      }
      if (ch !== ' ' && ch !== '\n') pending = ch === ':' ? pending : undefined;
    }
  };
  const stream = createBrotliDecompress();
  const decoder = new TextDecoder('utf-8');
  stream.end(body.subarray(1));
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    read += chunk.length;
    if (read > OVERSIZED_SCAN_MAX_BYTES) {
      stream.destroy();
      throw new ProfileTooLargeError(`profile item of ${id}: body unpacks to more than ${OVERSIZED_SCAN_MAX_BYTES / 1024 / 1024} MiB; its ids could not be read`);
    }
    scan(decoder.decode(chunk, { stream: true }));
  }
  return found;
}
