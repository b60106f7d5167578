import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';

/** A raw HTTP request to the engine's dynalite listener (fetch cannot set Host). */
function raw(endpoint: string, method: string, headers: Record<string, string>, body = '') {
  const url = new URL(endpoint);
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }>((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path: '/', headers: { 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const signed = {
  'content-type': 'application/x-amz-json-1.0',
  authorization: 'AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x',
  'x-amz-date': '20260101T000000Z',
};
const call = (target: string) => ({ ...signed, 'x-amz-target': `DynamoDB_20120810.${target}` });
const corsHeaders = (headers: Record<string, unknown>) => Object.keys(headers).filter((h) => h.startsWith('access-control-'));

describe('the engine\'s dynalite HTTP listener answers only its own clients', () => {
  let engine: Engine;
  let port: string;

  beforeAll(async () => {
    engine = await startTestEngine({ sweepEveryMs: 0 });
    port = new URL(engine.dynamo.endpoint).port;
    await client(engine).sendAndSettle({ type: 'identify', userId: 'alice', traits: { email: 'alice@example.com' } });
  });
  afterAll(() => engine.stop());

  it('refuses a browser\'s CORS preflight: no Access-Control-* headers, no answer', async () => {
    const pre = await raw(engine.dynamo.endpoint, 'OPTIONS', {
      host: `127.0.0.1:${port}`,
      origin: 'https://evil.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type,x-amz-target',
    });
    expect(pre.status).toBe(403);
    expect(corsHeaders(pre.headers)).toEqual([]);
  });

  it('refuses any request carrying an Origin, even with its own Host (a page scanning ports)', async () => {
    for (const origin of ['https://evil.example', `http://127.0.0.1:${port}`, 'null']) {
      const res = await raw(engine.dynamo.endpoint, 'POST', { ...call('Scan'), host: `127.0.0.1:${port}`, origin }, JSON.stringify({ TableName: 'rapport-profiles' }));
      expect({ origin, status: res.status }).toEqual({ origin, status: 403 });
      expect(res.text).not.toContain('alice');
      expect(corsHeaders(res.headers)).toEqual([]);
    }
  });

  it('refuses a foreign Host (DNS rebinding) and another port with 421', async () => {
    for (const host of ['attacker.example', `attacker.example:${port}`, `localhost.attacker.example:${port}`, '127.0.0.1:1', 'localhost']) {
      const res = await raw(engine.dynamo.endpoint, 'POST', { ...call('ListTables'), host }, '{}');
      expect({ host, status: res.status }).toEqual({ host, status: 421 });
      expect(res.text).not.toContain('rapport');
    }
  });

  it('still serves the SDK clients of the AWS entry points (Host 127.0.0.1/localhost:<port>, no Origin)', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) {
      const res = await raw(engine.dynamo.endpoint, 'POST', { ...call('ListTables'), host }, '{}');
      expect({ host, status: res.status }).toEqual({ host, status: 200 });
      expect(corsHeaders(res.headers)).toEqual([]);
    }
    // Node's fetch too (it sends Sec-Fetch-Mode, not Sec-Fetch-Site), unlike a browser's no-cors request.
    expect((await fetch(engine.dynamo.endpoint, { method: 'POST', headers: call('ListTables'), body: '{}' })).status).toBe(200);
    expect((await raw(engine.dynamo.endpoint, 'GET', { host: `127.0.0.1:${port}`, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' })).status).toBe(403);
  });
});
