/**
 * The erased life's unsubscribe, whose address hold lands after the erasure and the customer's comeback, keeps the
 * erased life's address denied for good, with nothing pointing to it.
 *
 * Promise (issue 10, erasure is complete even while events race it; an address's holds go with its last holder; a new
 * life is clean): the customer (address A) unsubscribes; ingest records the holds before it answers, the address's
 * denial (`putAddressConsent` → `#putAddressHold`: the pointer `C#<id>`/`AP#<A>`, then `AH#<A>`/`K#email`, then its
 * check). Just before the hold's write (a DynamoDB middleware; a slow request) the customer is erased and comes back
 * with address Y (an identify dated after the erasure, applied). The hold then lands, and its check asks only whether
 * the customer is gone now (`hasNewLife`): they have a new life, so the erased life's denial of A stays (no TTL),
 * although nobody has A and the unsubscribe was received before the erasure (the customer's own hold of the same
 * request is taken back by its check, `#undoHoldIfErased`, which asks when it was received). Its pointer went with the
 * erasure (written before it): no later erasure finds A's denial either.
 * Control: the hold lands after the erasure, before the comeback: A keeps nothing.
 * Found by the 23rd hostile audit. Now: an address hold received before the erasure completed is the erased life's
 * whatever became of the customer since (`#putAddressHold` judges it by its receipt): taken back, or kept for a live
 * holder.
 */
import { describe, expect, it } from 'vitest';
import { profileItems } from '../helpers/engine';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, clock, later, addressItems } = offerScenario({ name: 'a23-slow-hold' });

const hooks = dynamoHooks(t, 'a23SlowHold');

async function scenario(person: string, comesBackFirst: boolean) {
  const id = `u-${person}`;
  const a = `${person}-a@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: a } });
  await later(60_000);
  let erased: number | undefined;
  let back: number | undefined;
  hooks.set({
    // Ingest's address hold of A (its pointer written): the customer is erased (and, with `comesBackFirst`, comes back) first.
    match: (op, input) => op === 'PutItem' && input.includes(`"AH#${addressHash(a)}"`) && input.includes('"K#email"'),
    before: async () => {
      // A millisecond after the unsubscribe's receipt (the virtual clock stands still otherwise, and a denial received in
      // the erasure's own millisecond counts as received after it).
      clock.advance(clock.now().getTime() + 1);
      erased = (await t.api.del(`/v1/customers/${id}`)).status;
      if (!comesBackFirst) return;
      const at = clock.now().getTime() + 60_000;
      while (clock.advance(at));
      await t.api.send([{ type: 'identify', userId: id, messageId: `${person}-back`, traits: { email: `${person}-y@example.org` } }]);
      await hooks.untilProfileWritten(id, () => undefined);
      back = (await t.api.get(`/v1/customers/${id}`)).status;
    },
  });
  await t.api.send([{ type: 'track', userId: id, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'email' } }]);
  hooks.clear();
  await t.engine.settle();
  if (!comesBackFirst) {
    await later(60_000);
    await t.api.sendAndSettle({ type: 'identify', userId: id, messageId: `${person}-back`, traits: { email: `${person}-y@example.org` } });
    back = (await t.api.get(`/v1/customers/${id}`)).status;
  }
  await later(60_000);
  expect(erased).toBe(200);
  return {
    back,
    aItems: (await addressItems(a)).length,
    aPointer: (await profileItems(t.engine, (text) => text.includes(`"C#${id}"`) && text.includes(`"AP#${addressHash(a)}"`))).length,
  };
}

describe("the erased life's address hold landing after the erasure", () => {
  it('control: it lands before the comeback: A keeps nothing', async () => {
    expect(await scenario('a23sh-ctl', false)).toEqual({ back: 200, aItems: 0, aPointer: 0 });
  }, 60_000);

  it('it lands after the comeback: A keeps nothing', async () => {
    expect(await scenario('a23sh', true)).toEqual({ back: 200, aItems: 0, aPointer: 0 });
  }, 60_000);
});
