/**
 * The consumer's address hold of the erased life, written after the erasure and left unchecked by a failed read, is
 * never taken back when the customer comes back before the consumer's retry: the erased person's denial of X stays.
 *
 * Promise (issue 10, erasure is complete even while events race it; an address's holds go with its last holder): the
 * customer (address X) unsubscribes; the consumer applies it and writes X's denial as the profile's own (`denyAddress`
 * → `#putAddressHold`). Just before its pointer `C#<id>`/`AP#<X>` (a DynamoDB middleware) the customer is erased; the
 * hold lands after the erasure, and its check (the tombstone read) fails once (a throttle): the attempt fails. Before the
 * delivery's retry the customer comes back with address Y (a new life). The retry drops the unsubscribe as the erased
 * life's (`undoErasedLifeWrites`), but with a new life it only takes listings under addresses the event names (none):
 * the pointer (now read as the new life's) and X's denial stay. Nobody has X; its denial (the erased life's, received
 * before the erasure) outlives the erasure, for as long as the new life lives.
 * Control: no comeback before the retry: the drop settles X, which keeps nothing.
 * Found by the 24th hostile audit. Now: with a new life, the drop also settles a pointer to an address the new life
 * neither has nor is listed under, whose holds were all received before the erasure completed (the erased life's late
 * write).
 */
import { describe, expect, it } from 'vitest';
import { profileItems } from '../helpers/engine';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, clock, later, addressItems, failedCheckAfterErasure } = offerScenario({ name: 'a24-retried-drop' });

const hooks = dynamoHooks(t, 'a24RetriedDrop');

async function scenario(person: string, comeback: boolean) {
  const id = `u-${person}`;
  const x = `${person}@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: x } });
  await later(60_000);
  const attempt = await failedCheckAfterErasure(hooks, {
    id,
    address: x,
    messageId: `${person}-stop`,
    send: () => t.api.send([{ type: 'track', userId: id, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'email' } }]),
  });
  if (comeback) {
    clock.advance(clock.now().getTime() + 1);
    await t.api.send([{ type: 'identify', userId: id, messageId: `${person}-back`, traits: { email: `${person}-y@example.org` } }]);
  }
  expect(await attempt.retried()).toBe(200);
  const back = (await t.api.get(`/v1/customers/${id}`)).status;
  return {
    back,
    xItems: (await addressItems(x, undefined, true)).length,
    xDenied: (await addressItems(x, '"denied"')).length,
    xPointer: (await profileItems(t.engine, (text) => text.includes(`"C#${id}"`) && text.includes(`"AP#${addressHash(x)}"`))).length,
  };
}

describe("the erased life's unchecked address hold and a comeback before the retry", () => {
  it('control: no comeback before the retry: X keeps nothing', async () => {
    expect(await scenario('a24rd-ctl', false)).toEqual({ back: 404, xItems: 0, xDenied: 0, xPointer: 0 });
  }, 60_000);

  it('the customer comes back before the retry: X keeps nothing', async () => {
    expect(await scenario('a24rd', true)).toEqual({ back: 200, xItems: 0, xDenied: 0, xPointer: 0 });
  }, 60_000);
});
