/**
 * Two records' late drops taking their causes out of one address's denial at once leave it with no causes: each reads
 * two causes, so each removes only its own (`#takeCause`: `DELETE #causes`, not the last); the set empties, the
 * attribute goes, and the hold is now one "written before causes were kept", which no undo ever takes back. The erased
 * lives' denial of X outlives every event that caused it: a newcomer with X is never mailed.
 *
 * Promise (issue 10: erasure removes everything even while events race it; the 27th and 28th audits' rule: a dropped
 * event's undo deletes a hold with its last cause, unless another live record has the address): the guest
 * `guest-<p>` and the account `u-<p>` share X. Each unsubscribes (`g`, then `a`: ingest writes X's denial `{g}`, then
 * `{a, g}`); both consumer deliveries are late (EventBridge). The account is erased (the guest keeps X: X's denial
 * stays) and comes back with X; the guest is erased (the account's new life keeps X) and comes back with X; then both
 * move to other addresses: nobody has X. The late `g` and `a` reach the consumer: both are dropped
 * (`undoErasedLifeWrites`, new life) and take their causes out of X's denial.
 * Control: the drops run one after the other: the second finds its cause the last and frees X.
 * Found by the 29th hostile audit. Now: `#takeCause` writes by version: the second drop reads again, finds its cause the last and
 * frees X.
 */
import { describe, expect, it } from 'vitest';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';
import { lateDeliveries } from '../helpers/engine';

const { t, clock, later, addressItems, guestAndAccount, newcomerOffer } = offerScenario({ name: 'a29-concurrent-drops' });

const hooks = dynamoHooks(t, 'a29ConcurrentDrops');


async function scenario(person: string, together: boolean) {
  const { address: x, account, guest } = await guestAndAccount(person);
  const [g, a] = [`${person}-g-stop`, `${person}-a-stop`];
  const late = lateDeliveries(t.engine, [g, a]);
  await t.api.send([{ type: 'track', userId: guest, event: 'Unsubscribed', messageId: g, properties: { channel: 'email' } }]);
  await later(1_000);
  await t.api.send([{ type: 'track', userId: account, event: 'Unsubscribed', messageId: a, properties: { channel: 'email' } }]);
  await later(60_000);
  for (const id of [account, guest]) {
    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
    await later(60_000);
    clock.advance(clock.now().getTime() + 1);
    await t.api.sendAndSettle({ type: 'identify', userId: id, messageId: `${id}-back`, traits: { email: x } });
    await later(60_000);
  }
  for (const id of [account, guest]) await t.api.sendAndSettle({ type: 'identify', userId: id, messageId: `${id}-move`, traits: { email: `${id}-z@example.org` } });
  await later(60_000);
  const denied = (await addressItems(x, '"denied"')).length;
  let raced = false;
  if (together) {
    // The guest's drop takes its cause out (two causes read) only once the account's drop has read them too.
    const ax = `"AH#${addressHash(x)}"`;
    let accountTakes!: () => void;
    const accountRead = new Promise<void>((r) => (accountTakes = r));
    let accountDrop: Promise<void> | undefined;
    hooks.set(
      {
        match: (op, input) => (op === 'PutItem' || op === 'DeleteItem') && input.includes(ax) && input.includes('"#v = :v"'),
        before: async () => {
          accountDrop = late.release(a);
          await accountRead;
          raced = true;
        },
      },
      { match: (op, input) => (op === 'PutItem' || op === 'DeleteItem') && input.includes(ax) && input.includes('"#v = :v"'), before: () => accountTakes() },
    );
    await late.release(g);
    await accountDrop;
    hooks.clear();
  } else {
    await late.release(g);
    await later(1_000);
    await late.release(a);
  }
  late.restore();
  await later(60_000);
  const left = await addressItems(x);
  return { denied, raced, xHeld: left.length, withoutCauses: left.filter((i) => !i.includes('"causes"')).length, newcomer: await newcomerOffer(person, x) };
}

describe("two records' late drops on one address's denial", () => {
  it('control: one after the other: the second takes the last cause, X is free', async () => {
    expect(await scenario('a29cd-c', false)).toEqual({ denied: 1, raced: false, xHeld: 0, withoutCauses: 0, newcomer: 'sent' });
  }, 60_000);
  it('at once: X is free as well', async () => {
    expect(await scenario('a29cd-r', true)).toEqual({ denied: 1, raced: true, xHeld: 0, withoutCauses: 0, newcomer: 'sent' });
  }, 60_000);
});
