/**
 * Variant for SMS (the number X, `K#sms`; a STOP as `Unsubscribed {channel: sms}`) of
 * retried-drop-takes-new-life-fresh-denial.test.ts (audit 28): the same break and control.
 *
 * The new life's unsubscribe, received (ingest answered "unsubscribed") but not yet applied by the consumer, is deleted
 * from the address X by the retried drop of the erased life's unsubscribe: X is mailed after the new life's denial.
 *
 * Promise (issue 10: consent is law: a denial holds from ingest's answer, per address; no marketing send happens after
 * a denial's receipt): the account `u-<p>` has X and unsubscribes; the consumer's write of X's denial (`AH#<X>`/`K#email`,
 * `causes` = {that event}) lands just after the account's erasure and its check (the tombstone read) fails once. The
 * account comes back with X (a clean new life) and unsubscribes again: ingest puts X's denial (a later key, no causes of
 * its own) and carries the replaced denial's causes over: {the erased life's event}. Before the consumer applies the new
 * unsubscribe (its delivery is late), the retry drops the erased life's (`undoErasedLifeWrites`): X's denial has that
 * event as its only cause and no other live record has X: `#takeCause` deletes the new life's denial. A newcomer with
 * X is mailed until the consumer gets to the new unsubscribe (which writes X's denial again).
 * Control: the new life unsubscribes after the retry: the newcomer is not mailed.
 * Found by the 28th hostile audit. Now: ingest records its event as a cause of the denial it writes: the drop takes only the erased
 * life's mark out.
 */
import { describe, expect, it } from 'vitest';
import { holdConsumer } from '../helpers/engine';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, clock, later, addressItems, newcomerOffer } = offerScenario({ name: 'a28-fresh-denial-sms', channel: 'sms' });

const hooks = dynamoHooks(t, 'a28FreshDenialSms');

async function scenario(person: string, againBeforeRetry: boolean) {
  const id = `u-${person}`;
  const x = person.endsWith('c') ? '+14155550101' : '+14155550102';
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { phone: x } });
  await later(60_000);
  const held = holdConsumer(t.engine, (event) => event.messageId === `${person}-stop1`);
  await t.api.send([{ type: 'track', userId: id, event: 'Unsubscribed', messageId: `${person}-stop1`, properties: { channel: 'sms' } }]);
  let erased: number | undefined;
  let failed = false;
  hooks.set(
    {
      match: (op, input) => op === 'PutItem' && input.includes(`"C#${id}"`) && input.includes(`"AP#${addressHash(x)}"`),
      before: async () => {
        clock.advance(clock.now().getTime() + 1);
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
  for (let i = 0; i < 100 && !failed; i++) await new Promise((r) => setImmediate(r));
  expect(failed).toBe(true);
  hooks.clear();
  // The account comes back with X (no time let pass: the retry waits on the clock).
  clock.advance(clock.now().getTime() + 1);
  await t.api.send([{ type: 'identify', userId: id, messageId: `${person}-back`, traits: { phone: x } }]);
  await clock.idle();
  // The new life unsubscribes again: ingest answers; the consumer's delivery of it is late.
  const late = holdConsumer(t.engine, (event) => event.messageId === `${person}-stop2`);
  const stop2 = async () => {
    clock.advance(clock.now().getTime() + 1);
    expect((await t.api.send([{ type: 'track', userId: id, event: 'Unsubscribed', messageId: `${person}-stop2`, properties: { channel: 'sms' } }])).accepted).toHaveLength(1);
  };
  if (againBeforeRetry) await stop2();
  for (let minute = 0; minute < 10 && !done; minute++) await later(60_000);
  await released;
  await later(60_000);
  expect(erased).toBe(200);
  if (!againBeforeRetry) await stop2();
  // Sent after the new life's unsubscribe was received, before the consumer applied it.
  const newcomer = await newcomerOffer(person, x);
  const xDenied = (await addressItems(x, '"denied"')).length;
  await late.release();
  await later(60_000);
  return { xDenied, newcomer, xDeniedOnceApplied: (await addressItems(x, '"denied"')).length };
}

describe("the new life's fresh denial of X and the retried drop of the erased life's denial of X", () => {
  it('control: the new life unsubscribes after the retry: X denied, the newcomer is not mailed', async () => {
    expect(await scenario('a28fd-c', false)).toEqual({ xDenied: 1, newcomer: 'unsubscribed', xDeniedOnceApplied: 1 });
  }, 60_000);

  it('the new life unsubscribes before the retry: X stays denied, the newcomer is not mailed', async () => {
    expect(await scenario('a28fd-x', true)).toEqual({ xDenied: 1, newcomer: 'unsubscribed', xDeniedOnceApplied: 1 });
  }, 60_000);
});
