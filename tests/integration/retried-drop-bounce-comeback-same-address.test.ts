/**
 * The erased life's unchecked address suppression (a hard bounce) outlives the erasure when the customer comes back
 * with the SAME address before the consumer's retry: the new life is suppressed by a report of the erased life.
 *
 * Promise (issue 10: erasure is complete even while events race it; a new life is clean): X's hard bounce is applied
 * by the consumer; just before its pointer `C#<id>`/`AP#<X>` the customer is erased; the address suppression
 * (`AH#<X>`/`S#email`, received before the erasure) lands after it and its check (the tombstone read) fails once.
 * Before the retry the customer comes back with X. The retry drops the bounce (`undoErasedLifeWrites`), which with a new
 * life settles only pointers to addresses the new life does not have: X's suppression stays, the new life's offer is
 * `suppressed`. Control: the comeback with X comes after the retry: X keeps nothing, the new life is offered.
 * Found by the 26th hostile audit; likely the root cause of retried-drop-comeback-same-address.test.ts (a denial),
 * on the suppression hold. Now: with a new life, the drop's undo also takes back the erased life's holds
 * (received before the erasure completed) of an address the new life has too, unless another live record has the
 * address.
 */
import { describe, expect, it } from 'vitest';
import { holdConsumer } from '../helpers/engine';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, clock, later, offer, latestOffer, addressItems } = offerScenario({ name: 'a26-retried-drop-bounce' });

const hooks = dynamoHooks(t, 'a26RetriedDropBounce');

async function scenario(person: string, comeback: 'x' | 'y' | 'none') {
  const id = `u-${person}`;
  const x = `${person}@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: x } });
  await later(60_000);
  const held = holdConsumer(t.engine, (event) => event.messageId === `${person}-stop`);
  await t.api.send([{ type: 'track', userId: id, event: 'Message Bounced', messageId: `${person}-stop`, properties: { channel: 'email', bounceType: 'hard' } }]);
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
  return { consent: c.consent.email?.status ?? 'none', offer: await latestOffer(id), xItems: (await addressItems(x)).join(' ') };
}

describe("the erased life's unchecked suppression and a comeback with the same address before the retry", () => {
  it('control: comeback with X after the retry: offered, X keeps nothing', async () => {
    expect(await scenario('a26rb-c', 'none')).toMatchObject({ offer: 'sent', xItems: '' });
  }, 60_000);
  it('comeback with X before the retry: offered, X keeps nothing', async () => {
    expect(await scenario('a26rb-x', 'x')).toMatchObject({ offer: 'sent', xItems: '' });
  }, 60_000);
});
