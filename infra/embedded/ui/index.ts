/**
 * The embedded engine's web page at /ui: journeys with live per-step counts,
 * customer lookup (by id, or a segment id to list its members), segments with
 * live counts and their members, the outbox and the tracking plan's violations.
 * Static files (HTML, CSS, vanilla JS modules) read from ./assets; the page
 * reads the engine's JSON API under /v1. Nothing is loaded from anywhere else
 * (the Content-Security-Policy says so).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const UI_PATH = '/ui';
const ASSETS = new URL('./assets/', import.meta.url);

/** The files served, by name under /ui/ (nothing else is: no path ever reaches the file system unchecked). */
const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'diagram.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * Serve everything under /ui. Returns false for any other path (the engine
 * routes it), true once the request is answered.
 */
export async function handleUi(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
  const path = url.pathname;
  if (path !== UI_PATH && !path.startsWith(`${UI_PATH}/`)) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'method_not_allowed', message: `${req.method} is not allowed on ${path}` }));
    return true;
  }
  const name = path === UI_PATH || path === `${UI_PATH}/` ? 'index.html' : path.slice(UI_PATH.length + 1);
  const type = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
  if (!type) {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'not_found', message: `nothing at ${path}` }));
    return true;
  }
  const body = await readFile(new URL(name, ASSETS));
  const etag = `"${createHash('sha1').update(body).digest('base64url')}"`;
  const headers = { 'content-type': type, 'cache-control': 'no-cache', etag, ...SECURITY_HEADERS };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return true;
  }
  res.writeHead(200, { ...headers, 'content-length': String(body.length) });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}
