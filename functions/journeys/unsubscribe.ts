import { createHmac, timingSafeEqual } from 'node:crypto';
import { CHANNELS, type Channel } from '../../shared';

/**
 * Signed one-click unsubscribe links (RFC 8058). The link names the customer and
 * channel and carries an HMAC, so only the recipient of a message can use it and
 * no lookup table is needed. Rapport serves it at `/v1/unsubscribe`.
 *
 * Keys rotate like webhook secrets: a list, the first signs new links and every
 * one verifies, so links already in inboxes keep working while the old key stays
 * in the list.
 */
export const UNSUBSCRIBE_PATH = '/v1/unsubscribe';

/** The unsubscribe key of embedded engines started without one (tests, simulate), which `rapport preview` signs with too: not a secret. */
export const DEV_UNSUBSCRIBE_KEY = 'rapport-development-unsubscribe-key';

/** Port: the current unsubscribe keys, newest (signing) first. Secrets Manager in AWS, options in the embedded engine. */
export interface UnsubscribeKeyProvider {
  load(): Promise<readonly string[]>;
}

export class UnsubscribeKeyConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsubscribeKeyConfigError';
  }
}

/**
 * Whether `token` is the MAC `macOf` makes with one of `keys` (a single key is a list of one). Every key is compared
 * (no early exit) in constant time, so timing tells neither the MAC nor which key matched.
 */
function signedByAnyKey(keys: string | readonly string[], token: string, macOf: (key: string) => string): boolean {
  const given = Buffer.from(token);
  let valid = false;
  for (const key of typeof keys === 'string' ? [keys] : keys) {
    const expected = Buffer.from(macOf(key));
    if (given.length === expected.length && timingSafeEqual(given, expected)) valid = true;
  }
  return valid;
}

function mac(secret: string, customerId: string, channel: Channel, address?: string): string {
  // With the address the message went to (its hash, `a`): its own domain, so neither form passes for the other.
  const signed = address === undefined ? `unsubscribe\n${customerId}\n${channel}` : `unsubscribe-address\n${customerId}\n${channel}\n${address}`;
  return createHmac('sha256', secret).update(signed).digest('base64url');
}

const ADDRESS_HASH = /^[0-9a-f]{64}$/;

/** A link signed with the first key of `keys` (a single key is a list of one). */
export function unsubscribeUrl(baseUrl: string, keys: string | readonly string[], customerId: string, channel: Channel, addressHash?: string): string {
  const signing = typeof keys === 'string' ? keys : keys[0];
  if (!signing) throw new UnsubscribeKeyConfigError('no unsubscribe key to sign links with');
  const url = new URL(UNSUBSCRIBE_PATH, baseUrl);
  url.searchParams.set('c', customerId);
  url.searchParams.set('ch', channel);
  // The hash of the address the message went to (`emailAddressHash`): a click denies that address, also once the
  // customer is erased or has another address.
  if (addressHash !== undefined) url.searchParams.set('a', addressHash);
  url.searchParams.set('t', mac(signing, customerId, channel, addressHash));
  return url.toString();
}

const isConsentChannel = (value: string | null): value is Channel => value !== null && (CHANNELS as readonly string[]).includes(value);

/** Check a link's parameters against every key; the customer and channel it unsubscribes, or undefined if forged or malformed. */
export function verifyUnsubscribe(keys: string | readonly string[], params: URLSearchParams): { customerId: string; channel: Channel; addressHash?: string } | undefined {
  const customerId = params.get('c');
  const channel = params.get('ch');
  const token = params.get('t');
  const address = params.get('a') ?? undefined;
  if (!customerId || !token || !isConsentChannel(channel) || (address !== undefined && !ADDRESS_HASH.test(address))) return undefined;
  if (!signedByAnyKey(keys, token, (key) => mac(key, customerId, channel, address))) return undefined;
  return { customerId, channel, ...(address !== undefined && { addressHash: address }) };
}

/**
 * The preference page (`/v1/preferences`): every message links to it (`preferences_url`), signed with the
 * unsubscribe keys (the first signs, every one verifies, so rotation works alike). The link names the customer
 * and when it expires; its MAC is domain-separated from the unsubscribe link's, so neither passes for the other.
 */
export const PREFERENCES_PATH = '/v1/preferences';
/** How long a preference link works after its message was rendered. The one-click unsubscribe link never expires. */
export const PREFERENCES_LINK_DAYS = 365;

/**
 * When a link rendered at `now` expires: PREFERENCES_LINK_DAYS later, rounded up to the next UTC midnight, so every
 * rendering of a day (a preview, its send, a retry) carries the same link.
 */
export function preferencesLinkExpiry(now: Date): Date {
  const DAY = 86_400_000;
  return new Date(Math.ceil((now.getTime() + PREFERENCES_LINK_DAYS * DAY) / DAY) * DAY);
}

function preferencesMac(secret: string, customerId: string, expires: string): string {
  return createHmac('sha256', secret).update(`preferences\n${customerId}\n${expires}`).digest('base64url');
}

/** A preference link signed with the first key of `keys`, working until `expiresAt` (whole seconds). */
export function preferencesUrl(baseUrl: string, keys: string | readonly string[], customerId: string, expiresAt: Date): string {
  const signing = typeof keys === 'string' ? keys : keys[0];
  if (!signing) throw new UnsubscribeKeyConfigError('no unsubscribe key to sign links with');
  const expires = String(Math.floor(expiresAt.getTime() / 1000));
  const url = new URL(PREFERENCES_PATH, baseUrl);
  url.searchParams.set('c', customerId);
  url.searchParams.set('x', expires);
  url.searchParams.set('t', preferencesMac(signing, customerId, expires));
  return url.toString();
}

export type PreferencesLink = { ok: true; customerId: string; expiresAt: Date } | { ok: false; reason: 'invalid' | 'expired' };

/** Check a preference link's parameters against every key and the time: the customer, or why not (forged, altered, cut short, expired). */
export function verifyPreferences(keys: string | readonly string[], params: URLSearchParams, now: Date): PreferencesLink {
  const customerId = params.get('c');
  const expires = params.get('x');
  const token = params.get('t');
  if (!customerId || !token || !expires || !/^\d{1,12}$/.test(expires)) return { ok: false, reason: 'invalid' };
  if (!signedByAnyKey(keys, token, (key) => preferencesMac(key, customerId, expires))) return { ok: false, reason: 'invalid' };
  const expiresAt = new Date(Number(expires) * 1000);
  return expiresAt.getTime() <= now.getTime() ? { ok: false, reason: 'expired' } : { ok: true, customerId, expiresAt };
}

/**
 * The page's stamp: when a preference page was shown, signed (the first key signs, every one verifies) and bound to
 * the customer, so a form posted from it says since when it knew the customer's choices. Its MAC is of its own kind.
 */
function formStampMac(secret: string, customerId: string, shownAt: string): string {
  return createHmac('sha256', secret).update(`preferences-form\n${customerId}\n${shownAt}`).digest('base64url');
}

/** The stamp of a page shown at `shownAt` (milliseconds since the epoch, as a decimal string). */
export function preferencesFormStamp(keys: string | readonly string[], customerId: string, shownAt: Date): { at: string; sig: string } {
  const signing = typeof keys === 'string' ? keys : keys[0];
  if (!signing) throw new UnsubscribeKeyConfigError('no unsubscribe key to sign links with');
  const at = String(shownAt.getTime());
  return { at, sig: formStampMac(signing, customerId, at) };
}

/** When the page a form came from was shown, if its stamp is Rapport's for this customer; undefined if forged, altered or malformed. */
export function verifyPreferencesFormStamp(keys: string | readonly string[], customerId: string, at: string, sig: string): Date | undefined {
  if (!/^\d{1,15}$/.test(at)) return undefined;
  return signedByAnyKey(keys, sig, (key) => formStampMac(key, customerId, at)) ? new Date(Number(at)) : undefined;
}

/**
 * The keys in a stored value: a JSON array of keys, newest (signing) first, or a
 * plain string as one key (what the stack generates, so a deployment from before
 * rotation keeps its links). Anything else fails loudly, naming the shape.
 */
export function unsubscribeKeysFromValue(value: unknown, where = 'the unsubscribe secret'): string[] {
  const text = typeof value === 'string' ? value.trim() : undefined;
  if (text === undefined || text === '') throw new UnsubscribeKeyConfigError(`${where} is empty or binary; expected a key or a JSON list of keys, newest first`);
  if (!text.startsWith('[')) return [text];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UnsubscribeKeyConfigError(`${where} starts with "[" but is not JSON: ${(error as Error).message}; expected ["<new key>", "<old key>", ...]`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((k) => typeof k === 'string' && k.trim() !== '')) {
    throw new UnsubscribeKeyConfigError(`${where} must be a JSON list of one or more non-empty strings, newest (signing) key first`);
  }
  return parsed.map((k: string) => k.trim());
}

export const staticUnsubscribeKeys = (keys: string | readonly string[]): UnsubscribeKeyProvider => {
  const list = typeof keys === 'string' ? [keys] : [...keys];
  if (list.length === 0 || list.some((k) => k === '')) throw new UnsubscribeKeyConfigError('unsubscribe keys must be one or more non-empty strings');
  return { load: async () => list };
};

/** Seconds a key list read from Secrets Manager is cached: a rotation is live everywhere within this time. */
export const UNSUBSCRIBE_KEYS_MAX_AGE_SECONDS = 300;

/**
 * Keys from a Secrets Manager secret (the value as `unsubscribeKeysFromValue` reads it), through a
 * cache of UNSUBSCRIBE_KEYS_MAX_AGE_SECONDS (Powertools' SecretsProvider), as source secrets are.
 */
export function secretUnsubscribeKeys(secrets: { get(name: string, options: { maxAge: number }): Promise<unknown> }, secretArn: string): UnsubscribeKeyProvider {
  return { load: async () => unsubscribeKeysFromValue(await secrets.get(secretArn, { maxAge: UNSUBSCRIBE_KEYS_MAX_AGE_SECONDS }), `the unsubscribe secret ${secretArn}`) };
}
