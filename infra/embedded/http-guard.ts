import type { IncomingHttpHeaders } from 'node:http';

/**
 * Who may talk to the embedded engine over HTTP. It listens on 127.0.0.1, but a
 * web page can still reach it: through DNS rebinding (a name the attacker
 * controls resolving to 127.0.0.1, so the page is "same origin" with the engine
 * and can read the customer API) or with plain cross-origin POSTs (which a
 * browser sends without asking). Two checks close both:
 *
 * - Host: only the engine's own names (127.0.0.1, localhost, [::1], any port,
 *   and the names in RAPPORT_ALLOWED_HOSTS). A rebinding page's requests carry
 *   the attacker's name and get 421. As RFC 9112 §3.2 has it, a request with
 *   more than one Host line gets 400, and one whose target is in absolute form
 *   (`GET http://name/...`) is for the target's host, not the Host line's.
 * - Origin: a state-changing request (POST/PUT/PATCH/DELETE) that a browser
 *   marks as coming from another origin (Origin not the engine's own, or
 *   Sec-Fetch-Site: cross-site) gets 403. Clients that are not browsers send
 *   neither header and pass.
 *
 * Exempt from the Origin check (not from the Host check) are the paths meant to
 * be called cross-site: the one-click unsubscribe (mail clients, the recipient's
 * browser) and the ingest endpoints, which authenticate each request by a
 * Standard Webhooks signature or a Segment write key a foreign page does not
 * have; refusing them by Origin would only break browser SDKs (analytics.js
 * posts from the shop's own site).
 *
 * The engine sends no CORS headers at all, so no other origin can read an answer.
 */
export interface HttpGuardOptions {
  /** Extra Host names (optionally `name:port`), e.g. the name a reverse proxy forwards. Case-insensitive. */
  allowedHosts?: readonly string[];
  /** Paths exempt from the Origin check (still Host-checked). */
  crossSitePaths: ReadonlySet<string>;
}

export type GuardVerdict = { ok: true } | { ok: false; status: 400 | 421 | 403; error: string; message: string };

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Split `name[:port]` (IPv6 in brackets); lower-cased name. `undefined` for anything else. */
export function parseHost(value: string): { name: string; port?: string } | undefined {
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/i.exec(value.trim());
  if (!m) return undefined;
  return { name: m[1]!.toLowerCase(), ...(m[2] !== undefined && { port: m[2] }) };
}

/** Parse RAPPORT_ALLOWED_HOSTS: names separated by commas or spaces; a bad entry fails loudly. */
export function parseAllowedHosts(value: string | undefined, variable = 'RAPPORT_ALLOWED_HOSTS'): string[] {
  const entries = (value ?? '').split(/[\s,]+/).filter(Boolean);
  for (const entry of entries) {
    if (!parseHost(entry)) throw new Error(`${variable}: ${JSON.stringify(entry)} is not a host name (name or name:port, e.g. rapport.internal:8080)`);
  }
  return entries;
}

export function createHttpGuard(options: HttpGuardOptions) {
  const configured = (options.allowedHosts ?? []).map((h) => parseHost(h)!);
  const hostAllowed = (value: string | undefined): boolean => {
    if (!value) return false;
    const host = parseHost(value);
    if (!host) return false;
    if (LOOPBACK.has(host.name)) return true;
    return configured.some((c) => c.name === host.name && (c.port === undefined || c.port === host.port));
  };

  return function check(request: { method: string; path: string; headers: IncomingHttpHeaders; rawHeaders?: readonly string[]; target?: string }): GuardVerdict {
    const hostLines = request.rawHeaders?.filter((name, i) => i % 2 === 0 && name.toLowerCase() === 'host').length ?? 0;
    if (hostLines > 1) return { ok: false, status: 400, error: 'duplicate_host', message: `a request has one Host line; this one has ${hostLines}` };
    const absolute = request.target !== undefined && /^[a-z][a-z0-9+.-]*:\/\//i.test(request.target) ? authorityOf(request.target) : undefined;
    const host = absolute ?? header(request.headers, 'host');
    if (!hostAllowed(host)) {
      return {
        ok: false,
        status: 421,
        error: 'host_not_allowed',
        message: `this Rapport engine does not answer to Host ${JSON.stringify(host ?? '')}; it answers to 127.0.0.1, localhost and [::1] (any port) and the names in RAPPORT_ALLOWED_HOSTS`,
      };
    }
    if (!STATE_CHANGING.has(request.method.toUpperCase()) || options.crossSitePaths.has(request.path.replace(/\/$/, ''))) return { ok: true };
    const origin = header(request.headers, 'origin');
    if (origin !== undefined && !sameOrigin(origin, host!)) {
      return { ok: false, status: 403, error: 'cross_origin_refused', message: `${request.method} ${request.path} from origin ${JSON.stringify(origin)} refused: only pages of the engine itself may change its state` };
    }
    if (header(request.headers, 'sec-fetch-site') === 'cross-site') {
      return { ok: false, status: 403, error: 'cross_origin_refused', message: `${request.method} ${request.path} from a cross-site page refused (Sec-Fetch-Site: cross-site)` };
    }
    return { ok: true };
  };
}

/** The Origin names the very host the request was sent to (scheme http or https, as behind a TLS proxy). */
function sameOrigin(origin: string, host: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // "null" (sandboxed frames, file://) and garbage
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  const a = parseHost(url.host);
  const b = parseHost(host);
  if (!a || !b) return false;
  const defaultPort = url.protocol === 'https:' ? '443' : '80';
  return a.name === b.name && (a.port ?? defaultPort) === (b.port ?? defaultPort);
}

/** The host of an absolute-form request target (`http://name:port/path`), `''` when it has none a URL can read. */
function authorityOf(target: string): string {
  try {
    return new URL(target).host;
  } catch {
    return '';
  }
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
