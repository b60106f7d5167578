/**
 * Ingest's carry-over put (a denial replacing X's denial puts it again with the old one's causes) races a consumer's
 * refused write joining X's denial (`#relyOn`: read, then put while unchanged): both are puts conditioned on the same
 * key, so the later one overwrites the other's causes. The guest's cause is lost; the erased account's drops then
 * delete X's denial, the guest's own choice.
 *
 * Promise (issue 10: consent is law, per address; one person's two records sharing an address never let a denial be
 * lost): the account `u-<p>` has X. The guest `guest-<p>` sends identify X, then Unsubscribed, two requests (ingest
 * holds nothing of X for it: no profile yet, no address named); their consumer deliveries are late. The account unsubscribes twice (`a1`, then `a2`,
 * later keys); their consumer deliveries are late too (EventBridge). Ingest's `a2` replaces X's denial (`{a2}`) and
 * carries `a1` over (a second put). Between the two puts the guest's consumer write (the guest's earlier key) is
 * refused and relies on X's denial: it reads `{a2}` and puts `{a2, guest}`; ingest's carry-over then puts `{a2, a1}`.
 * The account is erased (the guest keeps X: X's denial stays), comes back with X, the guest moves to Y; the late
 * `a1` and `a2` are dropped (`undoErasedLifeWrites`): each takes its cause out, the last deletes X's denial. A
 * newcomer with X is mailed though the guest unsubscribed from X.
 * Control: the guest's consumer write runs before ingest's `a2` (no race): X's denial keeps the guest's cause.
 * Found by the 29th hostile audit. Now: an address's hold is written by version (read, then put while the version read): no second
 * put carries causes over, and a write that lost the race reads again and keeps every cause.
 */
import { describe, expect, it } from 'vitest';
import { eventMark } from '../../functions/profile';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';
import { lateDeliveries } from '../helpers/engine';

const { t, clock, later, offer, latestOffer, addressItems, newcomerOffer } = offerScenario({ name: 'a29-carry-race' });

const hooks = dynamoHooks(t, 'a29CarryRace');


async function scenario(person: string, race: boolean) {
  const account = `u-${person}`;
  const guest = `guest-${person}`;
  const x = `${person}@example.com`;
  const [g1, g2, a1, a2] = [`${person}-g-id`, `${person}-g-stop`, `${person}-a1`, `${person}-a2`];
  await t.api.sendAndSettle({ type: 'identify', userId: account, traits: { email: x } });
  await later(60_000);
  const late = lateDeliveries(t.engine, [g1, g2, a1, a2]);
  // Two requests: ingest knows X for the guest from neither (no profile yet, the second names no address).
  await t.api.send([{ type: 'identify', userId: guest, messageId: g1, traits: { email: x } }]);
  await t.api.send([{ type: 'track', userId: guest, event: 'Unsubscribed', messageId: g2, properties: { channel: 'email' } }]);
  await later(1_000);
  await t.api.send([{ type: 'track', userId: account, event: 'Unsubscribed', messageId: a1, properties: { channel: 'email' } }]);
  await later(1_000);
  const ax = `"AH#${addressHash(x)}"`;
  let raced = false;
  if (race) {
    let relied!: () => void;
    const guestRelied = new Promise<void>((r) => (relied = r));
    hooks.set(
      {
        // Ingest's carry-over of a1 into a2's denial (the first put while unchanged): the guest's consumer write, the next, runs first.
        match: (op, input) => op === 'PutItem' && input.includes(ax) && input.includes('"#v = :v"'),
        before: async () => {
          void late.release(g1, g2);
          await guestRelied;
          raced = true;
        },
      },
      { match: (op, input) => op === 'PutItem' && input.includes(ax) && input.includes('"#v = :v"'), after: () => relied() },
    );
  } else {
    await late.release(g1, g2);
    await later(1_000);
  }
  await t.api.send([{ type: 'track', userId: account, event: 'Unsubscribed', messageId: a2, properties: { channel: 'email' } }]);
  await later(60_000);
  hooks.clear();
  const withGuest = (await addressItems(x, '"denied"')).filter((i) => i.includes(eventMark({ sourceId: 'default', messageId: g2 }))).length;
  expect((await t.api.del(`/v1/customers/${account}`)).status).toBe(200);
  await later(60_000);
  clock.advance(clock.now().getTime() + 1);
  await t.api.sendAndSettle({ type: 'identify', userId: account, messageId: `${person}-back`, traits: { email: x } });
  await t.api.sendAndSettle({ type: 'identify', userId: guest, messageId: `${person}-move`, traits: { email: `${person}-y@example.org` } });
  await later(60_000);
  await late.release(a1, a2);
  late.restore();
  await later(60_000);
  await offer(account, 1);
  return { raced, withGuest, xDenied: (await addressItems(x, '"denied"')).length, account: await latestOffer(account), newcomer: await newcomerOffer(person, x) };
}

describe("ingest's carry-over racing a consumer's refused write on one address's denial", () => {
  it("control: the guest's write joins X's denial before a2's ingest: X stays denied after the account's drops", async () => {
    expect(await scenario('a29cr-c', false)).toEqual({ raced: false, withGuest: 1, xDenied: 1, account: 'unsubscribed', newcomer: 'unsubscribed' });
  }, 60_000);
  it("the guest's write joins between a2's put and its carry-over: X stays denied", async () => {
    expect(await scenario('a29cr-r', true)).toEqual({ raced: true, withGuest: 1, xDenied: 1, account: 'unsubscribed', newcomer: 'unsubscribed' });
  }, 60_000);
});
