/**
 * Many customers sharing one address (a family's) each unsubscribe it, each in a request of its own, the requests at
 * once (a tool's webhooks are delivered concurrently). Each request's address denial is a versioned write of
 * `AH#<X>`/`K#email`; a request that loses past `HOLD_WRITE_ATTEMPTS` is answered 503 and its sender retries (three
 * attempts, as the earlier audits' senders).
 * Promise (issue 10: consent is law; ingest answers 503 only when a retry can succeed): every request accepted within
 * its attempts, every customer's own email consent denied. Control: 2 requests. Break: 40: 15 refused for good.
 * Written in the 31st audit. Now: a write of an address's hold may take 100 read-and-put rounds, with a pause of up to a millisecond after
 * a lost one (concurrent writers each lose at most a round to each other): every customer's denial lands.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';
import { TEST_SECRET } from '../helpers/engine';
import { post, signedRequest } from '../helpers/webhook';

const { t, later } = offerScenario({ name: 'a31-requests' });

async function scenario(person: string, n: number) {
  const x = `${person}@example.com`;
  const ids = Array.from({ length: n }, (_, i) => `u-${person}-${i}`);
  await t.api.sendAndSettle(ids.map((id) => ({ type: 'identify', userId: id, traits: { email: x } })));
  await later(60_000);
  const finals = await Promise.all(
    ids.map(async (id) => {
      const event = { type: 'track', userId: id, event: 'Unsubscribed', messageId: `${id}-stop`, properties: { channel: 'email' } };
      let status = 0;
      for (let attempt = 0; attempt < 3; attempt++) {
        status = (await post(`${t.engine.url}/v1/events`, signedRequest(TEST_SECRET, event))).status;
        if (status !== 503) break;
      }
      return status;
    }),
  );
  await t.engine.settle();
  await later(60_000);
  let ownDenied = 0;
  for (const id of ids) if ((await t.api.customer(id)).consent.email.status === 'denied') ownDenied++;
  return { refused: finals.filter((s) => s !== 202).length, ownDenied };
}

describe("many customers' unsubscribes of one shared address in concurrent requests", () => {
  it('control: two requests', async () => {
    expect(await scenario('a31r-c', 2)).toEqual({ refused: 0, ownDenied: 2 });
  }, 120_000);

  it('forty requests', async () => {
    expect(await scenario('a31r-g', 40)).toEqual({ refused: 0, ownDenied: 40 });
  }, 120_000);
});
