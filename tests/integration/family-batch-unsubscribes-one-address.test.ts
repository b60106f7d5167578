/**
 * Many customers sharing one address (a family's, a newsletter alias) unsubscribe it in one request: each customer's
 * address denial is a versioned write of the same hold (`AH#<X>`/`K#email`). Ingest writes one customer's holds one
 * after another but customers side by side (16 at once): 16 writers of one hold, each round one put wins, so past
 * `HOLD_WRITE_ATTEMPTS` (8) the losers throw and ingest answers 503. The retry's denials are accepted again (new
 * receipts) and contend again.
 *
 * Promise (issue 10: consent is law; ingest answers 503 only when a retry can succeed): N accounts `u-<p>-<i>`, each
 * `Unsubscribed {channel: email}` with traits.email X, in one request. Control: N = 2: 202, X denied. Break: N = 20:
 * 503 three times in a row (the batch is refused for good; no customer's own consent denied).
 * Written in the 31st audit. Now: a write of an address's hold may take 100 read-and-put rounds, with a pause of up to a millisecond after
 * a lost one (concurrent writers each lose at most a round to each other): every customer's denial lands.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';
import { TEST_SECRET } from '../helpers/engine';
import { post, signedRequest } from '../helpers/webhook';

const { t, addressItems } = offerScenario({ name: 'a31-family' });

async function scenario(person: string, n: number) {
  const x = `${person}@example.com`;
  const events = Array.from({ length: n }, (_, i) => ({ type: 'track', userId: `u-${person}-${i}`, event: 'Unsubscribed', messageId: `${person}-stop-${i}`, properties: { channel: 'email' }, context: { traits: { email: x } } }));
  // The sender retries a 503, as the answer asks (three attempts).
  const statuses: number[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const res = await post(`${t.engine.url}/v1/events`, signedRequest(TEST_SECRET, { batch: events }));
    statuses.push(res.status);
    if (res.status !== 503) break;
  }
  await t.engine.settle();
  let ownDenied = 0;
  for (let i = 0; i < n; i++) if ((await t.api.customer(`u-${person}-${i}`).catch(() => undefined))?.consent.email.status === 'denied') ownDenied++;
  return { statuses, ownDenied, xDenied: (await addressItems(x, '"denied"')).length };
}

describe('many customers sharing one address unsubscribe it in one request', () => {
  it('control: two customers: accepted, X denied', async () => {
    expect(await scenario('a31f-c', 2)).toEqual({ statuses: [202], ownDenied: 2, xDenied: 1 });
  }, 60_000);

  it('twenty customers: accepted, X denied', async () => {
    expect(await scenario('a31f-g', 20)).toEqual({ statuses: [202], ownDenied: 20, xDenied: 1 });
  }, 60_000);
});
