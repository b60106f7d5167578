/**
 * An identify of the erased life that moves the record to X2 and denies SMS, received in the millisecond the erasure
 * completes, leaves the erased life's email denial on X2 for the customer's clean new life.
 *
 * Promise (issue 10: erasure removes everything; a customer who comes back starts clean; consent is law per address):
 * the account `u-<p>` has X and unsubscribed from email (X denied). Its identify `{email: X2, consent: {sms: false}}` is
 * received at T; the consumer applies it to the (still live) profile and, as the record moves to X2 with email denied,
 * writes X2's email denial (`AH#<X2>`/`K#email`, `causes` = {the identify}). Just before that write the account is
 * erased, completing at T (the same millisecond: `receivedAfterErasure` counts it as after); the write's check (the
 * tombstone read) fails once. The account comes back with X2. The retry finds the identify received "after" the
 * erasure: its denial part (SMS) is applied to the new life (`newLifeDenial`), so it is not dropped and nothing takes
 * back its first attempt's write: X2 stays email-denied (the erased life's choice, never the new life's): the new life
 * and a newcomer with X2 get no offer.
 * Control: the erasure completes a millisecond after the identify's receipt: the identify is dropped, its write taken
 * back (`#takeCause`): the new life and a newcomer with X2 are offered.
 * Found by the 28th hostile audit. Now: an event reduced to its denials for the new life has its first attempt's
 * address holds of the rest taken back (`undoErasedLifeWrites` with the reduced event kept): X2's email denial goes.
 */
import { describe, expect, it } from 'vitest';
import { holdConsumer } from '../helpers/engine';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, clock, later, offer, latestOffer, addressItems, newcomerOffer } = offerScenario({ name: 'a28-completing-ms' });

const hooks = dynamoHooks(t, 'a28CompletingMs');

async function scenario(person: string, sameMs: boolean) {
  const id = `u-${person}`;
  const x = `${person}@example.com`;
  const x2 = `${person}-2@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: x } });
  await later(60_000);
  await t.api.sendAndSettle({ type: 'track', userId: id, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'email' } });
  await later(60_000);
  const held = holdConsumer(t.engine, (event) => event.messageId === `${person}-move`);
  await t.api.send([{ type: 'identify', userId: id, messageId: `${person}-move`, traits: { email: x2, consent: { sms: false } } }]);
  let erased: number | undefined;
  let failed = false;
  hooks.set(
    {
      // The consumer's email denial of X2 (the record moves there denied): the account is erased just before.
      match: (op, input) => op === 'PutItem' && input.includes(`"AH#${addressHash(x2)}"`) && input.includes('"K#email"'),
      before: async () => {
        if (!sameMs) clock.advance(clock.now().getTime() + 1);
        erased = (await t.api.del(`/v1/customers/${id}`)).status;
      },
    },
    {
      match: (op, input) => op === 'GetItem' && input.includes('"SK":"X"') && erased !== undefined && !failed,
      before: () => {
        failed = true;
        return Promise.reject(new Error('throttled'));
      },
    },
  );
  let done = false;
  const released = held.release().then(() => void (done = true));
  for (let i = 0; i < 2000 && !failed; i++) await new Promise((r) => setImmediate(r));
  expect(failed).toBe(true);
  hooks.clear();
  const beforeRetry = (await addressItems(x2, '"denied"')).length;
  // The account comes back with X2 before the retry.
  clock.advance(clock.now().getTime() + 1);
  await t.api.send([{ type: 'identify', userId: id, messageId: `${person}-back`, traits: { email: x2 } }]);
  for (let minute = 0; minute < 10 && !done; minute++) await later(60_000);
  await released;
  await later(60_000);
  expect(erased).toBe(200);
  expect(beforeRetry).toBe(1);
  await offer(id, 1);
  return { x2Denied: (await addressItems(x2, '"denied"')).length, account: await latestOffer(id), newcomer: await newcomerOffer(person, x2) };
}

describe("an erased life's identify moving to X2, received in the erasure's completing millisecond, and its retry", () => {
  it("control: received a millisecond before: the identify's write of X2's denial is taken back, X2's holders are offered", async () => {
    expect(await scenario('a28ms-c', false)).toEqual({ x2Denied: 0, account: 'sent', newcomer: 'sent' });
  }, 60_000);

  it("received in the completing millisecond: X2 is not left denied, X2's holders are offered", async () => {
    expect(await scenario('a28ms-x', true)).toEqual({ x2Denied: 0, account: 'sent', newcomer: 'sent' });
  }, 60_000);
});
