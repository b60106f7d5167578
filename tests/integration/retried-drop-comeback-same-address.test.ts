/**
 * The erased life's unchecked address hold (channel or topic denial) outlives the erasure when the customer comes back
 * with the SAME address before the consumer's retry: the new life is denied by a choice of the erased life.
 *
 * Promise (issue 10: erasure is complete even while events race it; a new life is clean): X unsubscribes (channel, or
 * topic `offers`); the consumer applies it (`denyAddress` → `#putAddressHold`). Just before its pointer
 * `C#<id>`/`AP#<X>` the customer is erased; the hold lands after the erasure and its check (the tombstone read) fails
 * once. Before the retry the customer comes back with X (no consent given). The retry drops the unsubscribe
 * (`undoErasedLifeWrites`); with a new life it settles only pointers to addresses the new life does NOT have (the
 * audit-24 fix, whose test came back with Y): X is the new life's, so X's denial, received before the erasure, stays.
 * Control: the comeback with X comes after the retry: the drop settles X, the new life is offered.
 * Found by the 26th hostile audit (a variant of retried-drop-leaves-hold-after-comeback.test.ts, with X for Y). Now: with a new life, the drop's undo also takes back the erased life's holds
 * (received before the erasure completed) of an address the new life has too, unless another live record has the
 * address.
 */
import { describe, expect, it } from 'vitest';
import { holdConsumer } from '../helpers/engine';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, clock, later, offer, latestOffer, addressItems } = offerScenario({ name: 'a26-retried-drop-x', topic: 'offers' });

const hooks = dynamoHooks(t, 'a26RetriedDropX');

async function scenario(person: string, comeback: 'x' | 'y' | 'none', topic: boolean) {
  const id = `u-${person}`;
  const x = `${person}@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: x } });
  await later(60_000);
  const held = holdConsumer(t.engine, (event) => event.messageId === `${person}-stop`);
  await t.api.send([{ type: 'track', userId: id, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'email', ...(topic && { topic: 'offers' }) } }]);
  let erased: number | undefined;
  let failed = false;
  hooks.set(
    {
      match: (op, input) => op === 'PutItem' && input.includes(`"C#${id}"`) && input.includes(`"AP#${addressHash(x)}"`),
      before: async () => {
        clock.advance(clock.now().getTime() + 1);
        erased = (await t.api.del(`/v1/customers/${id}`)).status;
      },
    },
    {
      match: (op, input) => op === 'GetItem' && input.includes('"SK":"X"') && erased !== undefined,
      before: () => {
        failed = true;
        return Promise.reject(new Error('throttled'));
      },
    },
  );
  let done = false;
  const released = held.release().then(() => void (done = true));
  for (let i = 0; i < 100 && !failed; i++) await new Promise((r) => setImmediate(r));
  expect(failed).toBe(true);
  if (comeback !== 'none') {
    clock.advance(clock.now().getTime() + 1);
    await t.api.send([{ type: 'identify', userId: id, messageId: `${person}-back`, traits: { email: comeback === 'x' ? x : `${person}-y@example.org` } }]);
  }
  for (let minute = 0; minute < 10 && !done; minute++) await later(60_000);
  await released;
  hooks.clear();
  await later(60_000);
  expect(erased).toBe(200);
  if (comeback === 'none') {
    await t.api.sendAndSettle({ type: 'identify', userId: id, messageId: `${person}-back`, traits: { email: x } });
    await later(60_000);
  }
  const c = (await t.api.customer(id)) as { consent: Record<string, { status: string } | undefined> };
  await offer(id, 1);
  return { consent: c.consent.email?.status ?? 'none', offer: await latestOffer(id), xDenied: (await addressItems(x, '"denied"')).length };
}

describe("the erased life's unchecked hold and a comeback with the same address before the retry", () => {
  for (const topic of [false, true]) {
    const kind = topic ? 'topic' : 'channel';
    it(`control (${kind}): comeback with X after the retry: offered, X not denied`, async () => {
      expect(await scenario(`a26rx-c${kind[0]}`, 'none', topic)).toMatchObject({ offer: 'sent', xDenied: 0 });
    }, 60_000);
    it(`${kind}: comeback with X before the retry: offered, X not denied`, async () => {
      expect(await scenario(`a26rx-x${kind[0]}`, 'x', topic)).toMatchObject({ offer: 'sent', xDenied: 0 });
    }, 60_000);
  }
});
