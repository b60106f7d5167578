import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { decodeWebhookSecret, signWebhook } from '../../functions/ingest';

/** A test-only Standard Webhooks sender, signing with the reference `standardwebhooks` library. */
export function signedRequest(
  secret: string,
  body: unknown,
  options: { id?: string; timestamp?: Date; rawBody?: string | Buffer; contentType?: string } = {},
): { headers: Record<string, string>; body: string | Buffer; id: string } {
  const id = options.id ?? `msg_${randomUUID()}`;
  const timestamp = options.timestamp ?? new Date();
  const payload = options.rawBody ?? JSON.stringify(body);
  // The reference library decodes Buffers as UTF-8 before signing; raw (possibly invalid UTF-8) bytes are signed as they are.
  const signature = Buffer.isBuffer(payload)
    ? signWebhook(decodeWebhookSecret(secret), id, Math.floor(timestamp.getTime() / 1000), payload)
    : new Webhook(secret).sign(id, timestamp, payload);
  return {
    id,
    body: payload,
    headers: {
      'content-type': options.contentType ?? 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': signature,
    },
  };
}

export async function post(url: string, request: { headers: Record<string, string>; body: string | Buffer }) {
  const response = await fetch(url, { method: 'POST', headers: request.headers, body: request.body });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON; the test will look at `text`
  }
  return { status: response.status, headers: response.headers, json, text };
}

/** POST `body` to an engine's webhook endpoint (`<baseUrl>/v1/events`), signed with `secret`. */
export const sendSigned = (baseUrl: string, secret: string, body: unknown) => post(`${baseUrl}/v1/events`, signedRequest(secret, body));

/** What an ingest answer refused: every problem of every rejected event, flattened (`rejected[].problems`). */
export const problemsOf = (res: { json: Record<string, unknown> }) => (res.json.rejected as Array<{ index: number; problems: Array<{ path: string; message: string }> }>).flatMap((r) => r.problems);
