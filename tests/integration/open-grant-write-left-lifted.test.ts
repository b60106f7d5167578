/**
 * An erased life's grant of an address, landing after the erasure and whose check then fails: the open write's re-check
 * leaves the grant, and the denial another record of the address relies on stays lifted.
 *
 * Promise (issue 10: erasure is complete while events race it; README "Privacy: erasure"): "A hold of the address
 * written for an erased id ... is, by its writer (write, then check), kept if it is a denial or a suppression and
 * another, live record has the address ..., and otherwise taken back, which puts back the item it replaced: it never
 * removes nor weakens the denial or suppression another record with the address relies on." And since 55ae5fa: a write
 * "whose check failed ... after the erasure took its pointer is checked again by the next hold write for the id".
 *
 * Scenario: the guest checkout `guest-<p>` and the account `u-<p>` both have X; the guest unsubscribes (X denied). The
 * account sends `Subscribed {channel: email}`: ingest lifts X's denial (a grant of a record whose profile has X). The
 * account is erased just before ingest's put of the grant; the grant lands, and ingest's check (the tombstone read)
 * fails once: ingest answers 5xx, the write stays open (`XW#`). The sender retries the request (the same event): ingest
 * re-checks the open write (`#checkOpenHoldWrites`, written `unknown`) but takes nothing back for a grant ("with no
 * causes, it cannot be told from a later write"), and the guest is live, so X is not freed: X stays granted by the
 * erased account. A newcomer with X (a third record, no choice of its own) is then mailed marketing, although the
 * address's denial by the guest should stand.
 * Control: the check does not fail: the write's own check puts the guest's denial back; the newcomer is skipped
 * `unsubscribed`.
 * Found by the thirty-third hostile audit. Now: every version a write puts starts with its open record's base, and a
 * grant keeps the item it replaced (`replaced`): the re-check of an open grant still there puts that item back.
 */
import { describe, expect, it } from 'vitest';
import { TEST_SECRET } from '../helpers/engine';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';
import { post, signedRequest } from '../helpers/webhook';

const { t, clock, later, addressItems, guestAndAccount, newcomerOffer, eraseThenFailCheck } = offerScenario({ name: 'a33-open-grant' });

const hooks = dynamoHooks(t, 'a33OpenGrant');

async function scenario(person: string, failCheck: boolean) {
  const { address: x, account, guest } = await guestAndAccount(person);
  await t.api.sendAndSettle({ type: 'track', userId: guest, event: 'Unsubscribed', messageId: `${person}-guest-stop`, properties: { channel: 'email' } });
  await later(60_000);
  // Ingest's put of the account's grant of X (its open record and pointer written): the account is erased just before.
  const race = eraseThenFailCheck(hooks, {
    id: account,
    at: (op, input) => op === 'PutItem' && input.includes(`"AH#${addressHash(x)}"`) && input.includes('"K#email"') && input.includes('"granted"'),
    failCheck,
    advance: false,
  });
  const subscribe = { type: 'track', userId: account, event: 'Subscribed', messageId: `${person}-sub`, timestamp: clock.now().toISOString(), properties: { channel: 'email' } };
  const first = await post(`${t.engine.url}/v1/events`, signedRequest(TEST_SECRET, subscribe));
  hooks.clear();
  expect(race.erased()).toBe(200);
  expect(race.failed()).toBe(failCheck);
  expect(first.status).toBe(failCheck ? 503 : 202);
  await later(60_000);
  // The sender's retry of the request it got no 202 for (the same event): ingest re-checks the open write first.
  if (failCheck) await t.api.sendAndSettle(subscribe);
  await later(60_000);
  const xDenied = (await addressItems(x, '"denied"')).length;
  return { xDenied, newcomer: await newcomerOffer(person, x) };
}

describe("an erased account's grant of a shared address, its check failing after the erasure", () => {
  it("control: the write's check puts the guest's denial of X back: a newcomer with X is not mailed", async () => {
    expect(await scenario('a33og-c', false)).toEqual({ xDenied: 1, newcomer: 'unsubscribed' });
  }, 60_000);

  it("the check fails once, the sender retries: the guest's denial of X is put back, a newcomer is not mailed", async () => {
    expect(await scenario('a33og-x', true)).toEqual({ xDenied: 1, newcomer: 'unsubscribed' });
  }, 60_000);
});
