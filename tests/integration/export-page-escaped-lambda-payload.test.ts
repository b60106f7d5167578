/**
 * Audit 37, issue 10 "Bounded profiles" / fix(api) `page a customer's export` (functions/profile/api.ts `exportPage`).
 * Promise: every export page is an answer the customer API Lambda can return in AWS, whose synchronous response
 * payload is at most 6 MB (6,291,456 bytes). The payload is what the handler returns (`createCustomerApiHandler`:
 * `{ statusCode, headers, body }`) serialised as JSON by the Lambda runtime, so the page's JSON `body` travels as a
 * JSON string: each `"` and `\` in it is escaped once more.
 *
 * How it breaks: `exportPage` counts `JSON.stringify(item)` bytes against 5 MB of *body*, leaving 1 MB for the rest.
 * A valid track event whose property is text made of quotes (110,000 `"`: 220 KB on the bus, under the 256 KB ingest
 * takes) is ~220 KB of body JSON and ~440 KB of Lambda payload: a page of 5 MB of body is ~10 MB of payload, so the
 * invocation fails (API Gateway 500) and the customer's export can never be produced in AWS. The embedded engine has
 * no such limit and serves the same handler code, which is how the payload is measured here.
 * Found by the thirty-seventh hostile audit. Now: a page is budgeted by the bytes it takes inside the Lambda answer
 * (`answerBytes`: its JSON escaped once more as the `body` string), 5 MB of the 6 MB.
 */
import { describe, expect, it } from 'vitest';
import { useTestEngine } from '../helpers/engine';

const world = useTestEngine();
/** Lambda's synchronous response payload limit. */
const LAMBDA_RESPONSE_MAX_BYTES = 6 * 1024 * 1024;

describe('an export page of events full of quotes', () => {
  it('is a Lambda answer of at most 6 MB once the runtime serialises the handler result', async () => {
    const id = 'ex-quotes';
    await world.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: 'ex-quotes@example.com' } });
    for (let n = 0; n < 28; n += 4) {
      await world.api.sendAndSettle(Array.from({ length: 4 }, (_, k) => ({ type: 'track', userId: id, event: 'Quote Added', messageId: `ex-quotes-${n + k}`, properties: { note: '"'.repeat(110_000) } })));
    }
    expect(world.engine.deadLetters).toEqual([]);
    const payloads: number[] = [];
    let notes = 0;
    for (let after: string | undefined; ; ) {
      const res = await fetch(`${world.engine.url}/v1/customers/${id}/export${after === undefined ? '' : `?after=${after}`}`);
      expect(res.status).toBe(200);
      const body = await res.text();
      // What the AWS handler returns for this page, as the Lambda runtime sends it.
      payloads.push(Buffer.byteLength(JSON.stringify({ statusCode: 200, headers: { 'content-type': 'application/json' }, body })));
      const page = JSON.parse(body) as { items: Array<Record<string, unknown>>; next?: string };
      for (const item of page.items) if ((item.event as { event?: string } | undefined)?.event === 'Quote Added') notes++;
      if (page.next === undefined) break;
      after = page.next;
    }
    expect(notes).toBe(28);
    // Measured: two pages, Lambda payloads 10,132,827 and 2,206,156 bytes (the first ~5 MB of body). Each must fit.
    expect(Math.max(...payloads), `Lambda payloads of the pages: ${payloads.map((p) => p.toLocaleString('en-US')).join(', ')}`).toBeLessThanOrEqual(LAMBDA_RESPONSE_MAX_BYTES);
  }, 120_000);
});
