/**
 * An erased record's late denial of an address a live record shares, racing that record's own denial. The account,
 * the guest and an old record E share X; E is erased (X's items are kept: two live records have X). The account
 * unsubscribes (received at T); its put of X's denial is held (a DynamoDB middleware) until a late `Unsubscribed` of
 * the erased E naming X (received at T+1s) has put X's denial with the greater key: the account's put and then the
 * profile consumer's (`denyAddress`) fail their condition. E's write, then check, sees E erased, and keeps its denial
 * for the live records with X (`#keepForLiveHolder`) instead of taking it back: X stays denied, the guest's offer is
 * skipped `unsubscribed`. (Before, the take-back deleted the item E's write created and X was left with no denial.)
 * Control: the same two events one after the other.
 */
import { describe, expect, it } from 'vitest';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, clock, later, offer, latestOffer } = offerScenario({ name: 'takeback' });

const hooks = dynamoHooks(t, 'lateDenialRacesLiveDenial');

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

async function scenario(person: string, racing: boolean) {
  const address = `${person}@example.com`;
  const hash = addressHash(address);
  const account = `u-${person}`;
  const guest = `guest-${person}`;
  const old = `old-${person}`;
  await t.api.send([guest, account, old].map((userId) => ({ type: 'identify', userId, traits: { email: address } })));
  await later(60_000);
  expect((await t.api.del(`/v1/customers/${old}`)).status).toBe(200);
  await t.engine.settle();
  await later(3_600_000);

  const lateOfErased = () => t.api.send({ type: 'track', userId: old, event: 'Unsubscribed', properties: { channel: 'email' }, context: { traits: { email: address } } });
  let late: Promise<unknown> | undefined;
  let order: string[] = [];
  if (racing) {
    const erasedPut = deferred();
    const accountPut = deferred();
    const consumerPut = deferred();
    const isAddressPut = (op: string, input: string) => op === 'PutItem' && input.includes(`AH#${hash}`) && input.includes('address-consent');
    hooks.set(
      // The account's put of X's denial waits until E's late denial has been put (with the greater key).
      {
        match: isAddressPut,
        before: async () => {
          clock.advance(clock.now().getTime() + 1000);
          late = lateOfErased();
          hooks.add({ match: isAddressPut, after: () => (order.push('erased id put'), erasedPut.resolve()) });
          // A take-back of E's item (what happened before it was kept for the live records) waits for both live puts.
          hooks.add({ match: (op, input) => op === 'DeleteItem' && input.includes(`AH#${hash}`), before: async () => (await accountPut.promise, await consumerPut.promise, order.push('erased id take-back')) });
          await erasedPut.promise;
        },
        after: () => {
          order.push('account put');
          accountPut.resolve();
          // Then the profile consumer's put of the account's denial for X (`denyAddress`), when it applies the event.
          hooks.add({ match: isAddressPut, after: () => (order.push('consumer put'), consumerPut.resolve()) });
        },
      },
    );
  }
  order = [];
  await t.api.send({ type: 'track', userId: account, event: 'Unsubscribed', properties: { channel: 'email' } });
  if (!racing) {
    await later(1000);
    await lateOfErased();
  }
  await late;
  hooks.clear();
  await t.engine.settle();
  await later(3_600_000);
  await offer(guest, 1);
  return { order: racing ? order : 'one after the other', guestOffer: await latestOffer(guest) };
}

describe("an erased id's late denial of an address racing a live record's denial of it", () => {
  it('control: one after the other, the address stays denied', async () => {
    expect(await scenario('a17t-ctl', false)).toEqual({ order: 'one after the other', guestOffer: 'unsubscribed' });
  }, 60_000);

  it("the account's denial still holds for the guest when the two race", async () => {
    expect(await scenario('a17t', true)).toEqual({ order: ['erased id put', 'account put', 'consumer put'], guestOffer: 'unsubscribed' });
  }, 60_000);
});
