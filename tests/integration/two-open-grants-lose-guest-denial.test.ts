/**
 * An erased account's two grants of a shared address in flight together, both checks failing: the second grant's open
 * write keeps the first grant only one level deep (`replaced` stripped of its own `replaced`), so re-checking both
 * open writes puts the first grant back without the guest's denial it lifted, and then deletes it (or leaves it):
 * the guest's denial of the address is lost for good.
 *
 * Promise (issue 10: erasure is complete while events race it, and address holds hold: a denied address stays denied
 * for a newcomer using it; README "Privacy: erasure": an undo "never removes nor weakens the denial ... another record
 * relies on"; 3cce620: a write whose check failed is checked again by the next hold write of the id, by the retry
 * that drops its event, or else by the daily sweep).
 *
 * Scenario: as open-grant-restored-by-other-grant-undo (a34), the guest `guest-<p>` and the account `u-<p>` share X;
 * the guest unsubscribes (X denied: D). The account sends `Subscribed {channel: email}` twice at once. G1 lands over
 * D (`replaced` = D), request 1's check fails (503, R1 open). G2 lands over G1 (`replaced` = G1 without its own
 * `replaced`, i.e. without D), and request 2's check fails too (503, R2 open): the only difference from a34. Each
 * sender retries (the same events), then the daily sweep. Re-checks of R1 and R2 (either order): R2 puts G1 back
 * without D (version `<G1 base>.r…`); R1 then finds "its" version and, having no `replaced`, deletes the hold. D is
 * never put back: a newcomer with X is mailed marketing although the guest unsubscribed X.
 * Control: only request 1's check fails (a34's fixed case): D is put back, the newcomer is skipped.
 * Found by the thirty-fifth hostile audit.
 * Now: a grant keeps what it replaced with what that one kept (`keptReplaced`, nested, at most 8 levels, the cut keeping
 * the denial under it), so each undo puts back an item that can itself be undone: the guest's denial comes back.
 */
import { describe, expect, it } from 'vitest';
import { TEST_SECRET } from '../helpers/engine';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';
import { post, signedRequest } from '../helpers/webhook';

const { t, clock, later, addressItems, guestAndAccount, newcomerOffer } = offerScenario({ name: 'a35-two-open-grants' });

const hooks = dynamoHooks(t, 'a35TwoOpenGrants');
const DAY = 86_400_000;

async function scenario(person: string, secondFails: boolean) {
  const second = true;
  const { address: x, account, guest } = await guestAndAccount(person);
  await t.api.sendAndSettle({ type: 'track', userId: guest, event: 'Unsubscribed', messageId: `${person}-guest-stop`, properties: { channel: 'email' } });
  await later(60_000);
  // A sender's retry is the same request: each event's timestamp is fixed when it is first sent.
  const sentAt = new Map<number, string>();
  const subscribe = (n: number) => {
    if (!sentAt.has(n)) sentAt.set(n, clock.now().toISOString());
    return { type: 'track', userId: account, event: 'Subscribed', messageId: `${person}-sub-${n}`, timestamp: sentAt.get(n), properties: { channel: 'email' } };
  };
  const grantPut = (op: string, input: string) => op === 'PutItem' && input.includes(`"AH#${addressHash(x)}"`) && input.includes('"K#email"') && input.includes('"granted"');
  let erased: number | undefined;
  let failed = false;
  let secondFailed = false;
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
          if (secondFails) {
            // Request 2's check after its write (its next tombstone read) fails once too.
            hooks.add({
              match: (op2, input2) => op2 === 'GetItem' && input2.includes('"SK":"X"') && !secondFailed,
              before: () => {
                secondFailed = true;
                return Promise.reject(new Error('throttled'));
              },
            });
          }
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
  expect(secondFailed).toBe(secondFails);
  expect(secondStatus).toBe(secondFails ? 503 : 202);
  await later(60_000);
  // The sender's retry of request 1 (the same event): ingest re-checks the open writes of the id first.
  await t.api.sendAndSettle(subscribe(1));
  if (secondFails) await t.api.sendAndSettle(subscribe(2));
  await later(DAY);
  await t.engine.sweep();
  const xDenied = (await addressItems(x, '"denied"')).length;
  return { xDenied, newcomer: await newcomerOffer(person, x) };
}

describe("an erased account's two stacked grants of a shared address, both checks failing", () => {
  it("control: only the first grant's check fails: the guest's denial of X is put back, a newcomer with X is not mailed", async () => {
    expect(await scenario('a35tg-c', false)).toEqual({ xDenied: 1, newcomer: 'unsubscribed' });
  }, 120_000);

  it("both grants' checks fail: the guest's denial of X is put back, a newcomer with X is not mailed", async () => {
    expect(await scenario('a35tg-x', true)).toEqual({ xDenied: 1, newcomer: 'unsubscribed' });
  }, 120_000);
});
