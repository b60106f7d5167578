/**
 * One customer's batch of unsubscribes of one address: every event's address denial is a versioned write of the same
 * hold (`AH#<X>`/`K#email`), and ingest runs up to 16 of them at once; each round only one put wins, so past
 * `HOLD_WRITE_ATTEMPTS` (8) a writer throws and ingest answers 503 ("retry it"). The retry's denials have a new
 * receipt (a greater key): all are accepted again, and contend again: the batch is refused every time.
 *
 * Promise (issue 10: consent is law; ingest answers 503 only when a retry can succeed, and loses nothing): the account
 * `u-<p>` sends, in one request, N `Unsubscribed {channel: email}` (distinct message ids) naming X. Control: N = 2:
 * accepted (202), X denied. Break: N = 20: 503 three times in a row; the unsubscribes never reach the profile.
 * Written in the 30th audit.
 * Found by the 30th hostile audit. Now: ingest writes one customer's holds one after another (customers side by side), so one
 * customer's batch never contends with itself for an address's hold.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';
import { TEST_SECRET } from '../helpers/engine';
import { post, signedRequest } from '../helpers/webhook';

const { t, addressItems } = offerScenario({ name: 'a30-batch' });

/** `n` unsubscribes naming X in one request: of one customer, or (`shared`) of `n` customers sharing X (a family's address). */
async function scenario(person: string, n: number, shared = false) {
  const x = `${person}@example.com`;
  const events = Array.from({ length: n }, (_, i) => ({ type: 'track', userId: shared ? `u-${person}-${i}` : `u-${person}`, event: 'Unsubscribed', messageId: `${person}-stop-${i}`, properties: { channel: 'email' }, context: { traits: { email: x } } }));
  // The sender retries a 503, as the answer asks (three attempts).
  const statuses: number[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const res = await post(`${t.engine.url}/v1/events`, signedRequest(TEST_SECRET, { batch: events }));
    statuses.push(res.status);
    if (res.status !== 503) break;
  }
  await t.engine.settle();
  return { statuses, xDenied: (await addressItems(x, '"denied"')).length };
}

describe("one customer's batch of unsubscribes naming one address", () => {
  it('control: two unsubscribes in the batch: accepted, X denied', async () => {
    expect(await scenario('a30b-c', 2)).toEqual({ statuses: [202], xDenied: 1 });
  }, 60_000);

  it('twenty unsubscribes in the batch: accepted, X denied', async () => {
    expect(await scenario('a30b-g', 20)).toEqual({ statuses: [202], xDenied: 1 });
  }, 60_000);

  // Ingest writes customers side by side (16 at a time): 40 customers' writes of X's one hold contend, each losing at
  // most a round to each other writer (HOLD_WRITE_ATTEMPTS covers them). Written reviewing the 30th audit's fixes.
  it("forty customers sharing X unsubscribe in one batch: accepted, X denied", async () => {
    expect(await scenario('a30b-s', 40, true)).toEqual({ statuses: [202], xDenied: 1 });
  }, 60_000);
});
