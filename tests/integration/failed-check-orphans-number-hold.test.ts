/**
 * An identify of the erased life denying SMS, whose hold write of the record's own number P lands just after the
 * erasure (which took P's pointer) and whose check then fails once: P's SMS denial is never taken back.
 *
 * Promise (issue 10: erasure removes everything, even while events race it): the account `u-<p>` has X and P and
 * unsubscribed from email. Its identify `{email: X2, consent: {sms: false}}` (naming no number) is received; the
 * consumer's attempt writes its pointer `AP#<P>` and then P's SMS denial (`causes` = {the identify}); the account is
 * erased just before that put (its erasure deletes the pointer and P's holds), the put lands, and the write's check (the
 * tombstone read) fails once. The retry drops the identify (of the erased life) and undoes its writes
 * (`undoErasedLifeWrites`): the addresses of the partition's pointers and the event's own (X2); P is neither, so its
 * denial stays, with no pointer, no listing and no expiry: a newcomer with P is refused SMS forever. Also when the
 * account came back with P2 (`#takeErasedLifeHolds` reads the pointers only).
 * Control: the check does not fail: the write's own check takes P's denial back. Also for a plain `Unsubscribed` (below).
 * Found by the thirty-second hostile audit. Now: every write of an address's hold is opened (`XW#<sha256(id)>`, no id nor
 * address) before its pointer and closed once checked; the retry's drop (and any later hold write of the id) checks the
 * writes left open again, so P's denial is taken back whatever became of the pointer.
 */
import { describe, expect, it } from 'vitest';
import { holdConsumer } from '../helpers/engine';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, clock, later, addressItems, newcomerOffer, eraseThenFailCheck } = offerScenario({ name: 'a32-orphan-number' });

const hooks = dynamoHooks(t, 'a32OrphanNumber');

async function scenario(person: string, number: string, failCheck: boolean, comeback?: string) {
  const id = `u-${person}`;
  const x = `${person}@example.com`;
  const x2 = `${person}-2@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: x, phone: number } });
  await later(60_000);
  await t.api.sendAndSettle({ type: 'track', userId: id, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'email' } });
  await later(60_000);
  const held = holdConsumer(t.engine, (event) => event.messageId === `${person}-move`);
  await t.api.send([{ type: 'identify', userId: id, messageId: `${person}-move`, traits: { email: x2, consent: { sms: false } } }]);
  // The consumer's SMS denial of P (its pointer already written): the account is erased just before.
  const race = eraseThenFailCheck(hooks, { id, at: (op, input) => op === 'PutItem' && input.includes(`"AH#${addressHash(number)}"`) && input.includes('"K#sms"'), failCheck });
  let done = false;
  const released = held.release().then(() => void (done = true));
  for (let i = 0; i < 2000 && race.erased() === undefined; i++) await new Promise((r) => setImmediate(r));
  for (let i = 0; i < 200 || (failCheck && !race.failed() && i < 5000); i++) await new Promise((r) => setImmediate(r));
  hooks.clear();
  expect(race.failed()).toBe(failCheck);
  if (comeback !== undefined) {
    clock.advance(clock.now().getTime() + 1);
    await t.api.send([{ type: 'identify', userId: id, messageId: `${person}-back`, traits: { email: x2, phone: comeback } }]);
  }
  for (let minute = 0; minute < 10 && !done; minute++) await later(60_000);
  await released;
  await later(60_000);
  expect(race.erased()).toBe(200);
  return { pHolds: (await addressItems(number)).length };
}

/**
 * The same with the commonest denial: `Unsubscribed {channel: email}` (naming no address) of the account with X, the
 * erasure run as the consumer reads X's hold (after ingest's hold and the pointer): the consumer's put lands after the
 * erasure, its check fails once, the retry's drop settles no address (no pointer, the event names none).
 */
async function unsubscribeScenario(person: string, failCheck: boolean) {
  const id = `u-${person}`;
  const x = `${person}@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: x } });
  await later(60_000);
  const held = holdConsumer(t.engine, (event) => event.messageId === `${person}-stop`);
  await t.api.send([{ type: 'track', userId: id, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'email' } }]);
  // The consumer's read of X's email hold (its pointer already written): the account is erased just before.
  const race = eraseThenFailCheck(hooks, { id, at: (op, input) => op === 'GetItem' && input.includes(`"AH#${addressHash(x)}"`) && input.includes('"K#email"'), failCheck });
  let done = false;
  const released = held.release().then(() => void (done = true));
  for (let i = 0; i < 2000 && race.erased() === undefined; i++) await new Promise((r) => setImmediate(r));
  for (let i = 0; i < 200 || (failCheck && !race.failed() && i < 5000); i++) await new Promise((r) => setImmediate(r));
  hooks.clear();
  expect(race.failed()).toBe(failCheck);
  for (let minute = 0; minute < 10 && !done; minute++) await later(60_000);
  await released;
  await later(60_000);
  expect(race.erased()).toBe(200);
  return { xHolds: (await addressItems(x)).length, newcomer: await newcomerOffer(person, x) };
}

describe("an erased life's SMS denial of the record's number landing after the erasure took its pointer", () => {
  it("control: the write's check reads the tombstone: P's denial is taken back", async () => {
    expect(await scenario('a32orph-c', '+447700900201', false)).toEqual({ pHolds: 0 });
  }, 60_000);

  it("the check fails once, no comeback: the retry's drop takes P's denial back", async () => {
    expect(await scenario('a32orph-x', '+447700900202', true)).toEqual({ pHolds: 0 });
  }, 60_000);

  it("the check fails once, the account back with P2: P's denial is taken back", async () => {
    expect(await scenario('a32orph-y', '+447700900203', true, '+447700900204')).toEqual({ pHolds: 0 });
  }, 60_000);
});

describe("an erased life's Unsubscribed, its hold of X landing after the erasure took X's pointer", () => {
  it("control: the write's check reads the tombstone: X's denial is taken back, a newcomer with X is mailed", async () => {
    expect(await unsubscribeScenario('a32orph-uc', false)).toEqual({ xHolds: 0, newcomer: 'sent' });
  }, 60_000);

  it("the check fails once: the retry's drop takes X's denial back, a newcomer with X is mailed", async () => {
    expect(await unsubscribeScenario('a32orph-ux', true)).toEqual({ xHolds: 0, newcomer: 'sent' });
  }, 60_000);
});
