/**
 * A record's denial write refused over an address's later denial relies on it (`#relyOn`: read, then join its
 * causes); when a late drop deletes that denial between the refusal and the read, the read finds nothing and the
 * write gives up: the record's own denial of the address is never written. X is left undenied.
 *
 * Promise (issue 10: consent is law, per address: a denial received after a grant wins; one person's records sharing
 * an address never let a denial be lost): `h-<p>` has X. The guest `guest-<p>` sends identify X, then Unsubscribed
 * (two requests: ingest holds nothing of X for it, no profile yet); their consumer deliveries are late. The account
 * `u-<p>` is identified with X and unsubscribes (`a`, a later key: ingest writes X's denial `{a}`); its consumer
 * delivery is late too. The account is erased (`h` keeps X: X's denial stays), comes back with X; `h` moves to Y.
 * The late `a` is dropped (`undoErasedLifeWrites`, new life): no other live record has X, so `#takeCause` deletes
 * X's denial (its last cause). Just before that delete the guest's events are applied (it now has X): its write of
 * X's denial is refused (the account's later key is there); the delete lands; its reliance reads no hold and stops.
 * X has no denial although the guest, who has X, unsubscribed: the account's new life and a newcomer with X are mailed.
 * Control: the guest's events are applied before the drop: they join X's denial (`{a, guest}`), the drop leaves it.
 * Found by the 29th hostile audit. Now: the reliance is a put by version: the delete fails it, the write reads again, finds no hold
 * and writes the guest's own denial.
 */
import { describe, expect, it } from 'vitest';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';
import { lateDeliveries } from '../helpers/engine';

const { t, clock, later, offer, latestOffer, addressItems, newcomerOffer } = offerScenario({ name: 'a29-relied-dropped' });

const hooks = dynamoHooks(t, 'a29ReliedDropped');


async function scenario(person: string, race: boolean) {
  const [holder, guest, account] = [`h-${person}`, `guest-${person}`, `u-${person}`];
  const x = `${person}@example.com`;
  const [g1, g2, a] = [`${person}-g-id`, `${person}-g-stop`, `${person}-a-stop`];
  await t.api.send([
    { type: 'identify', userId: holder, traits: { email: x } },
    { type: 'identify', userId: account, traits: { email: x } },
  ]);
  await later(60_000);
  const late = lateDeliveries(t.engine, [g1, g2, a]);
  await t.api.send([{ type: 'identify', userId: guest, messageId: g1, traits: { email: x } }]);
  await t.api.send([{ type: 'track', userId: guest, event: 'Unsubscribed', messageId: g2, properties: { channel: 'email' } }]);
  await later(1_000);
  await t.api.send([{ type: 'track', userId: account, event: 'Unsubscribed', messageId: a, properties: { channel: 'email' } }]);
  await later(60_000);
  expect((await t.api.del(`/v1/customers/${account}`)).status).toBe(200);
  await later(60_000);
  clock.advance(clock.now().getTime() + 1);
  await t.api.sendAndSettle({ type: 'identify', userId: account, messageId: `${person}-back`, traits: { email: x } });
  await t.api.sendAndSettle({ type: 'identify', userId: holder, messageId: `${person}-move`, traits: { email: `${person}-y@example.org` } });
  await later(60_000);
  const before = (await addressItems(x, '"denied"')).length;
  let raced = false;
  if (race) {
    const ax = `"AH#${addressHash(x)}"`;
    let refused!: () => void;
    const guestRefused = new Promise<void>((r) => (refused = r));
    let deleted!: () => void;
    const holdDeleted = new Promise<void>((r) => (deleted = r));
    let guestApplied: Promise<void> | undefined;
    hooks.set(
      {
        // The drop's delete of X's denial (its last cause): the guest's events are applied up to the refused write first.
        match: (op, input) => op === 'DeleteItem' && input.includes(ax) && input.includes('"K#email"'),
        before: async () => {
          guestApplied = late.release(g1, g2);
          await guestRefused;
        },
        after: () => {
          raced = true;
          deleted();
        },
      },
      // The guest's write of X's denial reads the account's later key there (refused: it relies on it), then its put of
      // the reliance waits for the delete.
      { match: (op, input) => op === 'GetItem' && input.includes(ax) && input.includes('"K#email"') && input.includes('"ConsistentRead":true'), after: () => refused() },
      { match: (op, input) => op === 'PutItem' && input.includes(ax) && input.includes('"K#email"') && input.includes('"#v = :v"'), before: () => holdDeleted },
    );
    await late.release(a);
    await guestApplied;
    // All three hooked: the delete, the guest's read of X's denial, its reliance's put (after the delete).
    expect(hooks.fired).toBe(3);
    hooks.clear();
  } else {
    await late.release(g1, g2);
    await later(1_000);
    await late.release(a);
  }
  late.restore();
  await later(60_000);
  await offer(account, 1);
  return { before, raced, xDenied: (await addressItems(x, '"denied"')).length, account: await latestOffer(account), newcomer: await newcomerOffer(person, x) };
}

describe("a refused write's reliance on an address's denial a late drop deletes", () => {
  it("control: the guest's events are applied before the drop: X stays denied", async () => {
    expect(await scenario('a29rd-c', false)).toEqual({ before: 1, raced: false, xDenied: 1, account: 'unsubscribed', newcomer: 'unsubscribed' });
  }, 60_000);
  it("the drop deletes X's denial between the guest's refused write and its reliance: X stays denied", async () => {
    expect(await scenario('a29rd-r', true)).toEqual({ before: 1, raced: true, xDenied: 1, account: 'unsubscribed', newcomer: 'unsubscribed' });
  }, 60_000);
});
