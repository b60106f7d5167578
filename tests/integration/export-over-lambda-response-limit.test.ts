/**
 * Audit 36, issue 10 "Bounded profiles" (timeline growth): whatever valid events a sender sends, every answer about
 * a customer stays servable in both homes. In AWS the customer API is a Lambda function behind API Gateway, and a
 * synchronous Lambda answer is at most 6 MB (6,291,456 bytes); a larger one fails the invocation (API Gateway
 * answers 500) with nothing returned.
 *
 * How it breaks: `GET /v1/customers/{id}/export` (functions/profile/api.ts) answers the profile plus
 * `store.allItems(id)`, every item of the customer in one JSON body: no pagination, no bound. The timeline keeps
 * one item per event for 365 days and each valid event may be up to 256 KB on the bus, so 40 valid track events of
 * ~200 KB make an export of ~8 MB: the customer's (GDPR access) export can then never be produced in AWS.
 * The embedded engine has no response limit and answers it, which is how it is measured here (the same
 * handler code). Measured: export body 6,416,534 bytes for 32 such events, 8,019,769 for the 40 here (limit 6,291,456).
 */
import { describe, expect, it } from 'vitest';
import { useTestEngine } from '../helpers/engine';

const world = useTestEngine();
/** Printable ASCII without quote or backslash, at random. */
const noise = (n: number) => Array.from({ length: n }, () => String.fromCharCode(0x23 + Math.floor(Math.random() * 0x39))).join('');
/** Lambda's synchronous response payload limit. */
const LAMBDA_RESPONSE_MAX_BYTES = 6 * 1024 * 1024;

describe('a customer with many large, valid events', () => {
  // BREAK (audit 36)
  it.fails('has an export answer within the 6 MB a Lambda function can return (or one that pages)', async () => {
    const id = 'ex-big';
    await world.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: 'ex-big@example.com' } });
    for (let n = 0; n < 40; n += 4) {
      // Each event well under the 256 KB a bus entry may be (ingest accepts it: 202).
      await world.api.sendAndSettle(Array.from({ length: 4 }, (_, k) => ({ type: 'track', userId: id, event: 'Note Added', messageId: `ex-big-${n + k}`, properties: { note: noise(200_000) } })));
    }
    expect(world.engine.deadLetters).toEqual([]);
    const res = await fetch(`${world.engine.url}/v1/customers/${id}/export`);
    const body = Buffer.from(await res.arrayBuffer());
    expect(res.status).toBe(200);
    expect(body.length, `export body ${body.length.toLocaleString('en-US')} bytes`).toBeLessThanOrEqual(LAMBDA_RESPONSE_MAX_BYTES);
  }, 120_000);
});
