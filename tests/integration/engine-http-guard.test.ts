import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unsubscribeUrl } from '../../functions/journeys/unsubscribe';
import type { Engine } from '../../infra/embedded/engine';
import { client } from '../helpers/client';
import { startTestEngine, TEST_SECRET } from '../helpers/engine';
import { signedRequest } from '../helpers/webhook';

/** A raw HTTP request (fetch cannot set Host): what a rebinding or cross-origin page would make the browser send. */
function raw(engine: Engine, method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  const url = new URL(engine.url);
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }>((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers: { ...(body !== undefined && { 'content-length': String(Buffer.byteLength(body)) }), ...headers } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const day = (n: number) => new Date(Date.UTC(2026, 0, n)).toISOString();

describe('embedded engine HTTP: Host allow-list, cross-origin refusal, no CORS', () => {
  let engine: Engine;
  let api: ReturnType<typeof client>;
  let port: string;

  beforeAll(async () => {
    engine = await startTestEngine({ allowedHosts: ['rapport.internal', 'proxy.example:8443'], sweepEveryMs: 0 });
    api = client(engine);
    port = new URL(engine.url).port;
    await api.sendAndSettle([{ type: 'identify', userId: 'alice', messageId: 'hg-1', timestamp: day(1), traits: { email: 'alice@example.com' } }]);
  });
  afterAll(() => engine.stop());

  it('refuses a foreign Host with 421 naming it, and reveals no customer data (DNS rebinding)', async () => {
    const res = await raw(engine, 'GET', '/v1/customers/alice/export', { host: 'attacker.example' });
    expect(res.status).toBe(421);
    expect(res.text).toContain('attacker.example');
    expect(res.text).not.toContain('alice@example.com');
    // And on the port too: a rebinding page's Host carries the attacker's name with the engine's port.
    expect((await raw(engine, 'GET', '/v1/customers/alice', { host: `attacker.example:${port}` })).status).toBe(421);
  });

  it('an erasure through a foreign Host does nothing', async () => {
    const res = await raw(engine, 'DELETE', '/v1/customers/alice', { host: `rebind.attacker.example:${port}` });
    expect(res.status).toBe(421);
    expect((await api.customer('alice')).traits.email).toBe('alice@example.com');
  });

  it('answers its own names: 127.0.0.1, localhost, [::1] on any port, and the configured names', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'localhost', `[::1]:${port}`, 'rapport.internal', `RAPPORT.internal:${port}`, 'proxy.example:8443']) {
      const res = await raw(engine, 'GET', '/v1/customers/alice', { host });
      expect({ host, status: res.status }).toEqual({ host, status: 200 });
    }
    // A configured name with a port allows that port only; a name that only ends like an allowed one is foreign.
    expect((await raw(engine, 'GET', '/v1/customers/alice', { host: 'proxy.example:9999' })).status).toBe(421);
    expect((await raw(engine, 'GET', '/v1/customers/alice', { host: 'localhost.attacker.example' })).status).toBe(421);
  });

  it('refuses cross-origin state-changing requests with 403, and they change nothing', async () => {
    const host = `127.0.0.1:${port}`;
    const erase = await raw(engine, 'DELETE', '/v1/customers/alice', { host, origin: 'http://evil.example' });
    expect(erase.status).toBe(403);
    expect(JSON.parse(erase.text)).toMatchObject({ error: 'cross_origin_refused' });
    const sweep = await raw(engine, 'POST', '/v1/admin/sweep', { host, origin: `http://localhost:${Number(port) + 1}` });
    expect(sweep.status).toBe(403);
    const fetchMeta = await raw(engine, 'DELETE', '/v1/customers/alice', { host, 'sec-fetch-site': 'cross-site' });
    expect(fetchMeta.status).toBe(403);
    const opaque = await raw(engine, 'DELETE', '/v1/customers/alice', { host, origin: 'null' });
    expect(opaque.status).toBe(403);
    expect((await api.customer('alice')).traits.email).toBe('alice@example.com');
  });

  it("accepts state changes from the engine's own origin (the /ui page) and from clients that send no Origin", async () => {
    const sweep = await raw(engine, 'POST', '/v1/admin/sweep', { host: `127.0.0.1:${port}`, origin: engine.url, 'sec-fetch-site': 'same-origin' });
    expect(sweep.status).toBe(200);
    expect((await raw(engine, 'POST', '/v1/admin/sweep', { host: `localhost:${port}` })).status).toBe(200);
  });

  it('lets the cross-site-by-design endpoints through: signed ingest and one-click unsubscribe', async () => {
    const signed = signedRequest(TEST_SECRET, { type: 'identify', userId: 'bob', messageId: 'hg-2', timestamp: day(2), traits: { email: 'bob@example.com' } });
    const ingest = await raw(engine, 'POST', '/v1/events', { ...signed.headers, host: `127.0.0.1:${port}`, origin: 'https://shop.example', 'sec-fetch-site': 'cross-site' }, signed.body as string);
    expect(ingest.status).toBe(202);
    // Its authentication still holds: an unsigned cross-site post is refused by the signature check.
    const unsigned = await raw(engine, 'POST', '/v1/events', { 'content-type': 'application/json', host: `127.0.0.1:${port}`, origin: 'https://evil.example' }, '{}');
    expect(unsigned.status).toBe(401);
    const link = new URL(unsubscribeUrl(engine.url, 'rapport-development-unsubscribe-key', 'alice', 'email'));
    const unsub = await raw(engine, 'POST', link.pathname + link.search, { host: `127.0.0.1:${port}`, origin: 'https://mail.example', 'content-type': 'application/x-www-form-urlencoded' }, 'List-Unsubscribe=One-Click');
    expect(unsub.status).toBe(200);
  });

  it('sends no CORS headers: no Access-Control-Allow-Origin on any answer or preflight', async () => {
    const host = `127.0.0.1:${port}`;
    const origin = 'http://evil.example';
    const answers = await Promise.all([
      raw(engine, 'OPTIONS', '/v1/customers/alice', { host, origin, 'access-control-request-method': 'DELETE' }),
      raw(engine, 'OPTIONS', '/v1/events', { host, origin, 'access-control-request-method': 'POST' }),
      raw(engine, 'GET', '/v1/customers/alice/export', { host, origin }),
      raw(engine, 'GET', '/v1/bus/events', { host, origin }),
      raw(engine, 'GET', '/v1/outbox', { host, origin }),
      raw(engine, 'GET', '/ui', { host, origin }),
      raw(engine, 'POST', '/v1/track', { host, origin, 'content-type': 'application/json' }, '{}'),
    ]);
    for (const res of answers) {
      expect(Object.keys(res.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    }
  });
});
