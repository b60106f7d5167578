/**
 * Audit 36, issue 10 "The embedded engine accepts only its own Host" (infra/embedded/http-guard.ts).
 *
 * How it breaks: the guard reads the first `Host` field line only (Node keeps the first of duplicates) and never
 * looks at the request-target's authority, so two HTTP/1.1 forms that name another host are answered with PII:
 * - two `Host` lines, the engine's own first and `attacker.example` second. RFC 9112 §3.2 says a server MUST answer
 *   400 to a request with more than one Host line; a front proxy (RAPPORT_ALLOWED_HOSTS) that routes by the last
 *   line and the engine that checks the first disagree about which host the request is for;
 * - an absolute-form target `GET http://attacker.example/v1/customers/<id>/export` with `Host: 127.0.0.1:<port>`.
 *   RFC 9112 §3.2.2: the server MUST ignore Host and use the target's authority, i.e. the request is for
 *   attacker.example, which the guard would refuse (421) had it read it.
 * Neither form is sent by a browser page (so not a DNS-rebinding read by itself): low severity, but the promise
 * "accepts only its own Host" does not hold for them. Measured: both answer 200 with the customer's export
 * (email included); `Host: attacker.example` first answers 421, no Host (HTTP/1.0) 421.
 * Found by the thirty-sixth hostile audit. Now: two Host lines get 400 `duplicate_host`; an absolute-form target is
 * judged by its own host (infra/embedded/http-guard.ts), for the engine and for its dynalite listener.
 */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { useTestEngine } from '../helpers/engine';

const world = useTestEngine();

/** One raw HTTP exchange (the request as written, no client normalising it): the status line and the body. */
function raw(text: string): Promise<{ status: number; body: string }> {
  const port = Number(new URL(world.engine.url).port);
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let out = '';
    socket.on('data', (d: Buffer) => (out += d.toString('utf8')));
    socket.on('end', () => resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(out)?.[1] ?? 0), body: out.slice(out.indexOf('\r\n\r\n') + 4) }));
    socket.on('error', reject);
  });
}

describe('requests that name another host than the engine', () => {
  const own = () => `127.0.0.1:${new URL(world.engine.url).port}`;
  const exportPath = '/v1/customers/hd-1/export';

  it('control: the same export through the engine\'s own Host alone is answered', async () => {
    await world.api.sendAndSettle({ type: 'identify', userId: 'hd-1', traits: { email: 'hd-1@example.com' } });
    const res = await raw(`GET ${exportPath} HTTP/1.1\r\nHost: ${own()}\r\nConnection: close\r\n\r\n`);
    expect(res.status).toBe(200);
    expect(res.body).toContain('hd-1@example.com');
  });

  it('refuses a request with two Host lines (400 or 421) and reveals nothing', async () => {
    const res = await raw(`GET ${exportPath} HTTP/1.1\r\nHost: ${own()}\r\nHost: attacker.example\r\nConnection: close\r\n\r\n`);
    expect(res.body).not.toContain('hd-1@example.com');
    expect([400, 421]).toContain(res.status);
  });

  it('refuses an absolute-form target naming another host (421) and reveals nothing', async () => {
    const res = await raw(`GET http://attacker.example${exportPath} HTTP/1.1\r\nHost: ${own()}\r\nConnection: close\r\n\r\n`);
    expect(res.body).not.toContain('hd-1@example.com');
    expect(res.status).toBe(421);
  });

  it('answers an absolute-form target naming the engine itself, whatever the Host line', async () => {
    const res = await raw(`GET http://${own()}${exportPath} HTTP/1.1\r\nHost: ${own()}\r\nConnection: close\r\n\r\n`);
    expect(res.status).toBe(200);
  });
});
