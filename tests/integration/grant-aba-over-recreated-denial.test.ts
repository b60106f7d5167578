/**
 * A grant's versioned write read an address's denial at version 1; the erasure frees the address (deletes the hold)
 * and a later denial of the address by another record recreates the hold at version 1 (ABA): the grant's put, made
 * only "while version 1 is unchanged", lands over the later denial.
 *
 * Promise (issue 10: consent is law: a denial received after a grant wins, per channel, per address): the guest
 * `guest-<p>` unsubscribes (no address yet), then gets X: the consumer denies X (`AH#<X>`/`K#email`, v 1). A newcomer
 * `n-<p>` sends, in one request, identify {email: X} and `Subscribed {channel: email}` (a grant of X, received at tD):
 * ingest reads X's denial (v 1) and is held just before its put. The guest is erased (nobody else is listed with X:
 * X's denial goes). Then, after tD, the member `m-<p>` unsubscribes (no address yet) and gets X: the consumer writes
 * X's denial anew, v 1 again. Ingest's grant put goes on, conditioned on v = 1, and replaces the later denial.
 * Control: another customer is erased instead (X's denial stays at v 1, the member's write makes it v 2): the grant's
 * put is refused, reads again, finds the later denial, and X stays denied.
 * Written in the 30th audit.
 * Found by the 30th hostile audit. Now: a hold's version is a random token each write puts: the recreated denial's never matches
 * the one the grant read, so the grant's put is refused and it reads again.
 */
import { describe, expect, it } from 'vitest';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, clock, later, addressItems, newcomerOffer } = offerScenario({ name: 'a30-grant-aba' });
const hooks = dynamoHooks(t, 'a30GrantAba');

async function scenario(person: string, eraseGuest: boolean) {
  const x = `${person}@example.com`;
  const guest = `guest-${person}`;
  const member = `m-${person}`;
  const granting = `n-${person}`;
  await t.api.sendAndSettle({ type: 'track', userId: guest, event: 'Unsubscribed', messageId: `${person}-guest-stop`, properties: { channel: 'email' } });
  await later(60_000);
  await t.api.sendAndSettle({ type: 'identify', userId: guest, messageId: `${person}-guest-x`, traits: { email: x } });
  await later(60_000);
  /** X's denials' versions (a random token each write puts). */
  const versions = async () => (await addressItems(x, '"denied"')).map((text) => (JSON.parse(text) as { v?: { S?: string; N?: string } }).v);
  const before = await versions();

  // The grant's put of X's hold, held until released.
  let release!: () => void;
  const held = new Promise<void>((then) => (release = then));
  let reached!: () => void;
  const atPut = new Promise<void>((then) => (reached = then));
  hooks.set({
    match: (op, input) => op === 'PutItem' && input.includes(`AH#${addressHash(x)}`) && input.includes('"granted"'),
    before: async () => {
      reached();
      await held;
    },
  });
  const granted = t.api.send([
    { type: 'identify', userId: granting, messageId: `${person}-n-x`, traits: { email: x } },
    { type: 'track', userId: granting, event: 'Subscribed', messageId: `${person}-n-sub`, properties: { channel: 'email' } },
  ]);
  await atPut;
  clock.advance(clock.now().getTime() + 1);
  expect((await t.api.del(`/v1/customers/${eraseGuest ? guest : `other-${person}`}`)).status).toBeLessThan(300);
  clock.advance(clock.now().getTime() + 1000);
  const afterErasure = (await addressItems(x, '"denied"')).length;
  // The member's denial, then X, in one request (ingest knows no address for the denial): the consumer denies X.
  const denied = new Promise<void>((then) => hooks.add({ match: (op, input) => op === 'PutItem' && input.includes(`AH#${addressHash(x)}`) && input.includes('"denied"'), after: then }));
  await t.api.send([
    { type: 'track', userId: member, event: 'Unsubscribed', messageId: `${person}-m-stop`, properties: { channel: 'email' } },
    { type: 'identify', userId: member, messageId: `${person}-m-x`, traits: { email: x } },
  ]);
  await denied;
  const recreated = await versions();
  release();
  hooks.clear();
  await granted;
  await t.engine.settle();
  await later(60_000);
  return { versions: [before.length, recreated.length], sameVersion: JSON.stringify(before) === JSON.stringify(recreated), afterErasure, xDenied: (await addressItems(x, '"denied"')).length, newcomer: await newcomerOffer(person, x) };
}

describe("a grant's versioned put over an address's denial that was freed and written anew", () => {
  it("control: the guest stays: the member's later denial is a new version, the grant's put is refused, X stays denied", async () => {
    expect(await scenario('a30aba-c', false)).toEqual({ versions: [1, 1], sameVersion: false, afterErasure: 1, xDenied: 1, newcomer: 'unsubscribed' });
  }, 60_000);

  it("the guest is erased: the member's later denial, recreated, is not replaced by the earlier grant", async () => {
    expect(await scenario('a30aba-g', true)).toEqual({ versions: [1, 1], sameVersion: false, afterErasure: 0, xDenied: 1, newcomer: 'unsubscribed' });
  }, 60_000);
});
