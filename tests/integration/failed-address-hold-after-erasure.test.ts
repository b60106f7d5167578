/**
 * The profile consumer's address hold, interrupted by one failed write after its pointer, leaves the pointer (the id in
 * its key) and the address's denial behind an erasure.
 *
 * Promise (issue 10, erasure is complete even while events race it; an address's holds go with its last holder):
 * after DELETE answers, no item holds the customer's id, and nobody's address stays denied once no record has it. The
 * customer (address X) unsubscribes; ingest records the holds, then the consumer applies the event and, after its
 * profile write, writes the address's denial as the profile's own (`denyAddresses` → `#putAddressHold`): the pointer
 * `C#<id>`/`AP#<X>` first. Just before that pointer is written (a DynamoDB middleware) the customer is erased. Control:
 * the hold's write then succeeds and its check finds the customer erased: the hold is taken back and the pointer goes
 * (`#settleAddressOfGone`). Break: the hold's write fails once (a throttle; the delivery is retried): the retry drops the
 * event as the erased customer's and settles nothing. The pointer `C#<id>`/`AP#<X>` names the id for ever; the hold
 * write that failed did not land, but the consumer's retry of a hold write that did land (the check failing instead)
 * would leave X denied the same way.
 * Found by the 22nd hostile audit. Now: a consumer that drops an erased life's event settles every address its partition's pointers name
 * (`undoErasedLifeWrites`): the pointer goes, and X's denial with no live holder.
 */
import { describe, expect, it } from 'vitest';
import { holdConsumer, profileItems } from '../helpers/engine';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, later, addressItems } = offerScenario({ name: 'a22-failed-hold' });

const hooks = dynamoHooks(t, 'a22FailedHold');

async function scenario(person: string, failure: 'none' | 'hold' | 'check') {
  const id = `u-${person}`;
  const x = `${person}@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: x } });
  await later(60_000);
  // Ingest records the holds (and answers); the consumer applies the event after the hooks are armed.
  const held = holdConsumer(t.engine, (event) => event.messageId === `${person}-stop`);
  await t.api.send([{ type: 'track', userId: id, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'email' } }]);
  let erased: number | undefined;
  hooks.set(
    {
      // The consumer's pointer to X (its address hold's first write): the customer is erased first.
      match: (op, input) => op === 'PutItem' && input.includes(`"C#${id}"`) && input.includes(`"AP#${addressHash(x)}"`),
      before: async () => void (erased = (await t.api.del(`/v1/customers/${id}`)).status),
    },
    ...(failure === 'hold'
      ? [{ match: (op: string, input: string) => op === 'PutItem' && input.includes(`"AH#${addressHash(x)}"`) && input.includes('"K#email"'), before: () => Promise.reject(new Error('throttled')) }]
      : failure === 'check'
        ? [{ match: (op: string, input: string) => op === 'GetItem' && input.includes('"SK":"X"') && erased !== undefined, before: () => Promise.reject(new Error('throttled')) }]
        : []),
  );
  // Released without waiting: a failed attempt's retry waits on the virtual clock, which `later` moves.
  let done = false;
  const released = held.release().then(() => void (done = true));
  for (let minute = 0; minute < 10 && !done; minute++) await later(60_000);
  await released;
  hooks.clear();
  expect(erased).toBe(200);
  return {
    // What names the id, as `<PK> <SK>` (the hash of an address shortened).
    naming: (await profileItems(t.engine, (text) => text.includes(`"C#${id}"`) || text.includes(`"${id}"`))).map((text) => {
      const item = JSON.parse(text) as { PK: { S: string }; SK: { S: string } };
      return `${item.PK.S} ${item.SK.S.slice(0, 10)}`;
    }),
    addressItems: (await addressItems(x, undefined, true)).length,
  };
}

describe("the consumer's address hold, interrupted by an erasure and one failed write", () => {
  it('control: the hold is written and checked: nothing names the id, X keeps nothing', async () => {
    expect(await scenario('a22fh-ctl', 'none')).toEqual({ naming: [], addressItems: 0 });
  }, 60_000);

  it("the hold's write fails once: nothing names the id, X keeps nothing", async () => {
    expect(await scenario('a22fh', 'hold')).toEqual({ naming: [], addressItems: 0 });
  }, 60_000);

  it("the hold's check fails once: nothing names the id, X keeps nothing", async () => {
    expect(await scenario('a22fh-chk', 'check')).toEqual({ naming: [], addressItems: 0 });
  }, 60_000);
});
