/**
 * Many customers sharing one address (a family's) each got the offer, and their one-click unsubscribes (RFC 8058: the
 * mail provider POSTs once) arrive at once: each click's address denial is a versioned write of `AH#<X>`/`K#email`.
 * Promise (issue 10: consent is law): every click is recorded (200), each customer's own email consent denied, X
 * denied, no offer goes to X after. Control: 2 clicks. Break: 20 clicks: most answered 503, their denials lost.
 * Written in the 31st audit. Now: a write of an address's hold may take 100 read-and-put rounds, with a pause of up to a millisecond after
 * a lost one (concurrent writers each lose at most a round to each other): every customer's denial lands.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';

const { t, later, offer, latestOffer, addressItems, unsubscribeLink, clickOneClick } = offerScenario({ name: 'a31-clicks' });

async function scenario(person: string, n: number) {
  const x = `${person}@example.com`;
  const ids = Array.from({ length: n }, (_, i) => `u-${person}-${i}`);
  await t.api.send(ids.map((id) => ({ type: 'identify', userId: id, traits: { email: x } })));
  await later(60_000);
  for (const [i, id] of ids.entries()) await offer(id, i);
  const links = ids.map((id) => unsubscribeLink(id));
  const statuses = (await Promise.all(links.map((link) => clickOneClick(link)))).map((r) => r.status);
  await t.engine.settle();
  await later(3_600_000);
  await offer(ids[0]!, 99);
  let ownDenied = 0;
  for (const id of ids) if ((await t.api.customer(id)).consent.email.status === 'denied') ownDenied++;
  return { failed: statuses.filter((s) => s !== 200).length, ownDenied, xDenied: (await addressItems(x, '"denied"')).length, next: await latestOffer(ids[0]!) };
}

describe('many one-click unsubscribes of one shared address at once', () => {
  it('control: two clicks: recorded, X denied', async () => {
    expect(await scenario('a31c-c', 2)).toEqual({ failed: 0, ownDenied: 2, xDenied: 1, next: 'unsubscribed' });
  }, 120_000);

  it('twenty clicks: recorded, X denied', async () => {
    expect(await scenario('a31c-g', 20)).toEqual({ failed: 0, ownDenied: 20, xDenied: 1, next: 'unsubscribed' });
  }, 120_000);
});
