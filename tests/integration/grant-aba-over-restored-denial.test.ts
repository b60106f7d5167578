/**
 * An erased customer's late denial of X is undone by putting back the item it replaced, with that item's version: a
 * grant that read the late denial (v 2) is held at its put; the undo puts back v 1; another record's later denial is
 * written over it as v 2 again (ABA); the grant's put, "while v = 2", lands over that later denial.
 *
 * Promise (issue 10: consent is law: a denial received after a grant wins, per channel, per address): the guest
 * `guest-<p>` denies X (v 1) and moves to Y (nobody live has X). The erased `e-<p>`'s late `Unsubscribed` naming X is written
 * over it (v 2) and, nobody live having X, undone (the old item put back). Between its write and its undo the newcomer
 * `n-<p>` grants X (identify {email: X} + `Subscribed`, in one request): ingest reads v 2 and is held at its put. After
 * the undo the member `m-<p>` denies X (its consumer writes v 2 over the restored denial, the member now X's holder).
 * Break: the grant is released then: its put lands over the member's later denial. Control: the grant is released
 * before the member's denial: it is refused once (v 1 now), reads again, lifts the guest's denial; the member's later
 * denial then wins: X denied. Written in the 30th audit.
 * Found by the 30th hostile audit. Now: a hold's version is a random token, also when an undo puts the replaced item back: the
 * member's later denial's version never matches the one the grant read.
 */
import { describe, expect, it } from 'vitest';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, clock, later, addressItems, newcomerOffer } = offerScenario({ name: 'a30-restore-aba' });
const hooks = dynamoHooks(t, 'a30RestoreAba');

async function scenario(person: string, grantLast: boolean) {
  const x = `${person}@example.com`;
  const hx = `AH#${addressHash(x)}`;
  const [guest, erased, member, granting] = ['guest', 'e', 'm', 'n'].map((r) => `${r}-${person}`) as [string, string, string, string];
  await t.api.sendAndSettle({ type: 'track', userId: guest, event: 'Unsubscribed', messageId: `${person}-g-stop`, properties: { channel: 'email' } });
  await later(60_000);
  await t.api.sendAndSettle({ type: 'identify', userId: guest, messageId: `${person}-g-x`, traits: { email: x } });
  await later(60_000);
  await t.api.sendAndSettle({ type: 'identify', userId: guest, messageId: `${person}-g-y`, traits: { email: `${person}-y@example.org` } });
  await t.api.sendAndSettle({ type: 'identify', userId: erased, messageId: `${person}-e-z`, traits: { email: `${person}-z@example.org` } });
  await later(60_000);
  expect((await t.api.del(`/v1/customers/${erased}`)).status).toBe(200);
  await later(60_000);

  let release!: () => void;
  const held = new Promise<void>((then) => (release = then));
  let granted: Promise<unknown> | undefined;
  let puts = 0;
  hooks.set(
    // The late denial's undo (its second put of X's denial): the grant reads the late denial first, held at its put.
    {
      match: (op, input) => op === 'PutItem' && input.includes(hx) && input.includes('"K#email"') && input.includes('"denied"') && ++puts === 2,
      before: async () => {
        clock.advance(clock.now().getTime() + 1);
        const atPut = new Promise<void>((then) =>
          hooks.add({
            match: (op, input) => op === 'PutItem' && input.includes(hx) && input.includes('"granted"'),
            before: async () => {
              then();
              await held;
            },
          }),
        );
        granted = t.api.send([
          { type: 'identify', userId: granting, messageId: `${person}-n-x`, traits: { email: x } },
          { type: 'track', userId: granting, event: 'Subscribed', messageId: `${person}-n-sub`, properties: { channel: 'email' } },
        ]);
        await atPut;
      },
      after: async () => {
        if (!grantLast) {
          release();
          await granted;
        }
        clock.advance(clock.now().getTime() + 1000);
        const denied = new Promise<void>((then) => hooks.add({ match: (op, input) => op === 'PutItem' && input.includes(hx) && input.includes('"denied"'), after: then }));
        await t.api.send([
          { type: 'track', userId: member, event: 'Unsubscribed', messageId: `${person}-m-stop`, properties: { channel: 'email' } },
          { type: 'identify', userId: member, messageId: `${person}-m-x`, traits: { email: x } },
        ]);
        await denied;
      },
    },
  );
  await t.api.send({ type: 'track', userId: erased, event: 'Unsubscribed', messageId: `${person}-e-stop`, properties: { channel: 'email' }, context: { traits: { email: x } } });
  release();
  await granted;
  hooks.clear();
  await t.engine.settle();
  await later(60_000);
  return { puts, xDenied: (await addressItems(x, '"denied"')).length, newcomer: await newcomerOffer(person, x) };
}

describe("a grant's versioned put over a denial put back by an undo and written over", () => {
  it("control: the grant lands before the member's denial: X ends denied", async () => {
    expect(await scenario('a30ra-c', false)).toEqual({ puts: 2, xDenied: 1, newcomer: 'unsubscribed' });
  }, 60_000);

  it("the grant lands after the member's denial: the later denial stands", async () => {
    expect(await scenario('a30ra-g', true)).toEqual({ puts: 2, xDenied: 1, newcomer: 'unsubscribed' });
  }, 60_000);
});
