/**
 * An identify of the erased life denying SMS, reduced for the new life, keeps its first attempt's SMS denial of the
 * erased life's number P, which the new life (back with P2) lacks.
 *
 * Promise (issue 10: erasure removes everything; consent is law per address): the account `u-<p>` has X and P and
 * unsubscribed from email. Its identify `{email: X2, consent: {sms: false}}` is received at T; the consumer's first
 * attempt writes, just after the account's erasure (completing at T), the pointer `AP#<P>` and P's SMS denial
 * (`causes` = {the identify}); its check fails once. The account comes back with X2 and P2. The retry reduces the
 * identify to its SMS denial for the new life (`newLifeDenial`) and undoes the first attempt's other holds with
 * `keep` = {`K#sms`}: `#takeErasedLifeHolds` filters the kept kinds out under every address, not only the new life's,
 * so P's denial (caused by this event alone, on a number nobody live has) stays: the erased life's number stays
 * refused SMS for whoever has it next. The new life's own denial lands on P2 as it should.
 * Control: the erasure completes a millisecond after the identify's receipt: dropped, P's denial taken back.
 * Found by the 32nd hostile audit. Now: the kept kinds are skipped only under the new life's own addresses; P's `K#sms` (the erased
 * life's number) is taken back.
 */
import { describe, expect, it } from 'vitest';
import { holdConsumer } from '../helpers/engine';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, clock, later, addressItems } = offerScenario({ name: 'a32-orphan-number' });

const hooks = dynamoHooks(t, 'a32OrphanNumber');

async function scenario(person: string, number: string, sameMs: boolean, comeback: string) {
  const id = `u-${person}`;
  const x = `${person}@example.com`;
  const x2 = `${person}-2@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: x, phone: number } });
  await later(60_000);
  await t.api.sendAndSettle({ type: 'track', userId: id, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'email' } });
  await later(60_000);
  const held = holdConsumer(t.engine, (event) => event.messageId === `${person}-move`);
  await t.api.send([{ type: 'identify', userId: id, messageId: `${person}-move`, traits: { email: x2, consent: { sms: false } } }]);
  let erased: number | undefined;
  let failed = false;
  hooks.set(
    {
      // The consumer's pointer to P (its SMS denial follows): the account is erased just before.
      match: (op, input) => erased === undefined && input.includes(`"AP#${addressHash(number)}"`),
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
  for (let i = 0; i < 2000 && erased === undefined; i++) await new Promise((r) => setImmediate(r));
  for (let i = 0; i < 200; i++) await new Promise((r) => setImmediate(r));
  hooks.clear();
  expect(failed).toBe(true);
  {
    clock.advance(clock.now().getTime() + 1);
    await t.api.send([{ type: 'identify', userId: id, messageId: `${person}-back`, traits: { email: x2, phone: comeback } }]);
  }
  for (let minute = 0; minute < 10 && !done; minute++) await later(60_000);
  await released;
  await later(60_000);
  expect(erased).toBe(200);
  return { pHolds: (await addressItems(number)).length };
}

describe("an erased life's SMS denial, the record's number P written after the erasure, the account back with P2", () => {
  it("control: received a millisecond before the erasure: dropped, P's denial taken back", async () => {
    expect(await scenario('a32kept-c', '+447700900301', false, '+447700900302')).toEqual({ pHolds: 0 });
  }, 60_000);

  it("received in the erasure's completing millisecond (reduced to its SMS denial): P's denial taken back", async () => {
    expect(await scenario('a32kept-x', '+447700900303', true, '+447700900304')).toEqual({ pHolds: 0 });
  }, 60_000);
});
