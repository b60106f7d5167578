/**
 * An Unsubscribed racing the account's erasure at ingest, whose write's check fails once: X's denial stays, with no
 * pointer, after the 503 and the client's retry.
 *
 * Promise (issue 10: erasure removes everything, even while events race it): the account `u-<p>` has X. Its
 * `Unsubscribed {channel: email}` is received; ingest writes the pointer `AP#<X>`, then (`#writeAddressHold`) reads X's
 * hold: right then the account is erased (the erasure takes the pointer), and the event's receipt is before the
 * erasure. Ingest puts X's denial; its check (the tombstone read) fails once: ingest answers 503 ("retry it. Nothing was
 * lost"). Nothing takes the denial back: no pointer names X, the event was never published, and the client's retry
 * (received after the erasure) leaves it too. X stays denied for whoever has it next (a newcomer is `unsubscribed`).
 * Control: the check does not fail: ingest's own check takes X's denial back, a newcomer with X is mailed.
 * Found by the thirty-second hostile audit. Now: ingest's write was left open (`XW#<sha256(id)>`); the client's retry
 * checks it again before its own writes, so X's denial is taken back.
 */
import { describe, expect, it } from 'vitest';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, later, addressItems, newcomerOffer, eraseThenFailCheck } = offerScenario({ name: 'a32-ingest-orphan' });

const hooks = dynamoHooks(t, 'a32IngestOrphan');

async function scenario(person: string, failCheck: boolean) {
  const id = `u-${person}`;
  const x = `${person}@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: x } });
  await later(60_000);
  const unsubscribe = [{ type: 'track', userId: id, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'email' } }];
  // Ingest's read of X's email hold (its pointer written): the account is erased just before, after the receipt.
  const race = eraseThenFailCheck(hooks, { id, at: (op, input) => op === 'GetItem' && input.includes(`"AH#${addressHash(x)}"`) && input.includes('"K#email"'), failCheck });
  const answered = await t.api.send(unsubscribe).then(
    () => 202,
    (error: Error) => Number(/send failed: (\d+)/.exec(error.message)?.[1]),
  );
  hooks.clear();
  // The client retries as told.
  if (answered !== 202) await t.api.send(unsubscribe);
  await t.engine.settle();
  await later(60_000);
  expect(race.erased()).toBe(200);
  expect(race.failed()).toBe(failCheck);
  expect(answered).toBe(failCheck ? 503 : 202);
  return { xHolds: (await addressItems(x)).length, newcomer: await newcomerOffer(person, x) };
}

describe("an Unsubscribed racing the account's erasure at ingest", () => {
  it("control: ingest's check reads the tombstone: X's denial is taken back, a newcomer with X is mailed", async () => {
    expect(await scenario('a32io-c', false)).toEqual({ xHolds: 0, newcomer: 'sent' });
  }, 60_000);

  it("the check fails once (503), the client retries: X's denial is taken back, a newcomer with X is mailed", async () => {
    expect(await scenario('a32io-x', true)).toEqual({ xHolds: 0, newcomer: 'sent' });
  }, 60_000);
});
