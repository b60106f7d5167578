/**
 * An erased account's two grants of a shared address in flight together: the second grant's undo puts the first
 * (open) grant back as a version of its own, so the first grant's re-check no longer knows it and leaves it: the
 * guest's denial of the address stays lifted for good.
 *
 * Promise (issue 10: erasure is complete while events race it; a denial of an address is never lost for a live
 * holder; README "Privacy: erasure"): a hold an erased id's write put is taken back, which "puts back the item it
 * replaced: it never removes nor weakens the denial ... another record relies on"; since 758badf "a grant keeps the
 * item it replaced, so such a check can put back the denial it lifted", and a write whose check failed is checked
 * again by "the next hold write for the id, the retry that drops its event, or else the daily sweep".
 *
 * Scenario: the guest checkout `guest-<p>` and the account `u-<p>` both have X; the guest unsubscribes (X denied: D).
 * The account sends `Subscribed {channel: email}` twice (two messages, two requests at once: a sync and a form, say).
 * Request 1 opens its write (R1) and, just before its put of X's grant G1, request 2 starts (a millisecond later): its
 * check of the id's open writes sees R1 (G1 not landed: nothing to undo; R1 young: not closed) and opens its own. The
 * account is then erased (the guest is live: X's holds stay). G1 lands over D (`replaced` = D); request 1's check (the
 * tombstone read) fails: 503, R1 open. Request 2's grant G2 lands over G1 (`replaced` = G1), and its own check, the
 * account erased, undoes it: G1 is put back, as a version of its own. The consumer's drop of request 2's event, and
 * request 1's retry by its sender, check R1 again: X's hold is not a version of R1's write (`version.startsWith(base)`
 * fails), so they leave it (the retry's own grant over G1 is undone to G1 again). The daily sweep finds no open write.
 * X stays granted by the erased account: a newcomer with X (a third record) is mailed marketing although the guest's
 * denial of X should stand.
 * Control: request 2 never comes: request 1's retry re-checks R1 and puts D back; the newcomer is not mailed.
 * Found by the thirty-fourth hostile audit. Now: an undo puts an item back with a version that keeps the base of the write that
 * made it (`restoredVersion`), so the first grant's open write still tells its hold and puts the guest's denial back.
 */
import { describe, expect, it } from 'vitest';
import { TEST_SECRET } from '../helpers/engine';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';
import { post, signedRequest } from '../helpers/webhook';

const { t, clock, later, addressItems, guestAndAccount, newcomerOffer } = offerScenario({ name: 'a34-grant-undo' });

const hooks = dynamoHooks(t, 'a34GrantUndo');
const DAY = 86_400_000;

async function scenario(person: string, second: boolean) {
  const { address: x, account, guest } = await guestAndAccount(person);
  await t.api.sendAndSettle({ type: 'track', userId: guest, event: 'Unsubscribed', messageId: `${person}-guest-stop`, properties: { channel: 'email' } });
  await later(60_000);
  const subscribe = (n: number) => ({ type: 'track', userId: account, event: 'Subscribed', messageId: `${person}-sub-${n}`, timestamp: clock.now().toISOString(), properties: { channel: 'email' } });
  const grantPut = (op: string, input: string) => op === 'PutItem' && input.includes(`"AH#${addressHash(x)}"`) && input.includes('"K#email"') && input.includes('"granted"');
  let erased: number | undefined;
  let failed = false;
  let secondAnswer: Promise<{ status: number }> | undefined;
  let releaseSecond: () => void = () => undefined;
  const secondGate = new Promise<void>((resolve) => (releaseSecond = resolve));
  hooks.set({
    // Request 1's put of G1 (its open record R1 and pointer written).
    match: (op, input) => erased === undefined && grantPut(op, input),
    before: async () => {
      if (second) {
        // Request 2 runs up to its own open record (its check of the id's open writes done), and waits there.
        const atOpen = new Promise<void>((resolve) =>
          hooks.add({
            match: (op, input) => op === 'PutItem' && input.includes('"open-hold-write"') && input.includes(`"${account}"`),
            before: async () => {
              resolve();
              await secondGate;
            },
          }),
        );
        // A millisecond later (its grant is the later consent change).
        clock.advance(clock.now().getTime() + 1);
        secondAnswer = post(`${t.engine.url}/v1/events`, signedRequest(TEST_SECRET, subscribe(2)));
        await atOpen;
      }
      erased = (await t.api.del(`/v1/customers/${account}`)).status;
      // Request 1's check after its write (the tombstone read) fails once; then request 2 goes on.
      hooks.add({
        match: (op, input) => op === 'GetItem' && input.includes('"SK":"X"') && !failed,
        before: () => {
          failed = true;
          releaseSecond();
          return Promise.reject(new Error('throttled'));
        },
      });
    },
  });
  const first = await post(`${t.engine.url}/v1/events`, signedRequest(TEST_SECRET, subscribe(1)));
  const secondStatus = (await secondAnswer)?.status;
  hooks.clear();
  expect(erased).toBe(200);
  expect(failed).toBe(true);
  expect(first.status).toBe(503);
  if (second) expect(secondStatus).toBe(202);
  await later(60_000);
  // The sender's retry of request 1 (the same event): ingest re-checks the open writes of the id first.
  await t.api.sendAndSettle(subscribe(1));
  await later(DAY);
  await t.engine.sweep();
  const xDenied = (await addressItems(x, '"denied"')).length;
  return { xDenied, newcomer: await newcomerOffer(person, x) };
}

describe("an erased account's grant of a shared address, its check failing, and a second grant of it in flight", () => {
  it("control: no second grant: the retry's re-check puts the guest's denial of X back: a newcomer with X is not mailed", async () => {
    expect(await scenario('a34gu-c', false)).toEqual({ xDenied: 1, newcomer: 'unsubscribed' });
  }, 120_000);

  it('a second grant in flight, undone by its own check: the guest’s denial of X is put back, a newcomer is not mailed', async () => {
    expect(await scenario('a34gu-x', true)).toEqual({ xDenied: 1, newcomer: 'unsubscribed' });
  }, 120_000);
});
