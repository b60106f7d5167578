import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { decodeWebhookSecret, signWebhook, verifyWebhook, WebhookVerificationError } from '../../functions/ingest';
import { signedRequest } from '../helpers/webhook';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ROTATED = 'whsec_bmV3LXNlY3JldC1hZnRlci1yb3RhdGlvbi0xMjM0';
const key = { sourceId: 'default', key: decodeWebhookSecret(SECRET) };
const now = new Date('2026-11-23T10:00:00Z');

function verify(headers: Record<string, string>, body: string | Buffer, keys = [key], at = now) {
  return verifyWebhook({ headers, body: Buffer.from(body), keys, now: at });
}

describe('Standard Webhooks verification', () => {
  it('accepts a request signed by the reference standardwebhooks library', () => {
    const req = signedRequest(SECRET, { type: 'track' }, { timestamp: now });
    expect(verify(req.headers, req.body)).toEqual({ webhookId: req.id, sourceId: 'default' });
  });

  it('produces signatures the reference library verifies', () => {
    const body = '{"hello":"world"}';
    const ts = Math.floor(Date.now() / 1000);
    const signature = signWebhook(decodeWebhookSecret(SECRET), 'msg_1', ts, body);
    expect(() => new Webhook(SECRET).verify(body, { 'webhook-id': 'msg_1', 'webhook-timestamp': String(ts), 'webhook-signature': signature })).not.toThrow();
  });

  it('names the source whose secret matched, and accepts any of several signatures (rotation)', () => {
    const req = signedRequest(ROTATED, { a: 1 }, { timestamp: now });
    const oldSig = signedRequest(SECRET, { a: 1 }, { id: req.id, timestamp: now }).headers['webhook-signature'];
    const headers = { ...req.headers, 'webhook-signature': `${oldSig} ${req.headers['webhook-signature']}` };
    const keys = [key, { sourceId: 'shop', key: decodeWebhookSecret(ROTATED) }];
    expect(verify(headers, req.body, keys).sourceId).toBe('default');
    expect(verify(req.headers, req.body, keys).sourceId).toBe('shop');
  });

  it.each([
    ['webhook-id', 'missing header(s): webhook-id'],
    ['webhook-timestamp', 'missing header(s): webhook-timestamp'],
    ['webhook-signature', 'missing header(s): webhook-signature'],
  ])('rejects a request without %s', (header, message) => {
    const req = signedRequest(SECRET, {}, { timestamp: now });
    const headers = { ...req.headers };
    delete headers[header];
    expect(() => verify(headers, req.body)).toThrow(message);
  });

  it('rejects a tampered body, a wrong secret and a foreign signature version', () => {
    const req = signedRequest(SECRET, { revenue: 10 }, { timestamp: now });
    expect(() => verify(req.headers, '{"revenue":1000}')).toThrow(/does not match/);
    const wrong = signedRequest('whsec_d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==', { revenue: 10 }, { timestamp: now });
    expect(() => verify(wrong.headers, wrong.body)).toThrow(/does not match/);
    expect(() => verify({ ...req.headers, 'webhook-signature': 'v1a,abc' }, req.body)).toThrow(/no v1 signature/);
  });

  it('allows 5 minutes of clock skew either way, and no more', () => {
    const req = signedRequest(SECRET, {}, { timestamp: now });
    expect(() => verify(req.headers, req.body, [key], new Date(now.getTime() + 300_000))).not.toThrow();
    expect(() => verify(req.headers, req.body, [key], new Date(now.getTime() + 301_000))).toThrow('webhook-timestamp is 301 s old; the tolerance is 300 s');
    expect(() => verify(req.headers, req.body, [key], new Date(now.getTime() - 301_000))).toThrow('webhook-timestamp is 301 s in the future');
    expect(() => verify({ ...req.headers, 'webhook-timestamp': '17e8' }, req.body)).toThrow(WebhookVerificationError);
  });

  it('refuses malformed or short secrets at configuration time', () => {
    expect(() => decodeWebhookSecret('whsec_not base64!')).toThrow(/base64/);
    expect(() => decodeWebhookSecret('whsec_c2hvcnQ=')).toThrow(/too short/);
  });
});
