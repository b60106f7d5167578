/**
 * A write of the erased life that lists the customer under an address after their erasure read it, then fails for good,
 * leaves its listing (with the id in clear) behind.
 *
 * Promise (issue 10, erasure is complete even while events race it): after DELETE answers, no item holds the customer's
 * id. The customer (address A) is moving to X: `put` writes their pointer `AP#<X>`, then (a DynamoDB middleware) before
 * their listing under X the customer is erased (the erasure finds the pointer, finds no listing under X yet, and deletes
 * the pointer); the listing then lands. Control: the profile write then fails its condition (the profile is gone): the
 * writer finds the customer erased and settles the listing (`#unlistAddressHolder`). Break: the profile write fails with
 * another error every attempt (a throttle, a timeout; the event is dead-lettered): every retry drops the event as the
 * erased life's and nothing settles the listing. The listing `AH#<X>`/`H#<sha256(id)>` keeps the id (its `id`); with no
 * pointer left, no later erasure finds it either, not even the erasure of the customer's new life.
 * Found by the 22nd hostile audit. Now: a consumer that drops an erased life's event (no new life has a profile) undoes what an earlier attempt may
 * have written after the erasure read the partition (`undoErasedLifeWrites`): the listing under the address the event
 * brings goes with its pointer (a listing now says which life it is for: a new life's on its way is spared).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { profileItems } from '../helpers/engine';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, later } = offerScenario({ name: 'a22-failed-listing' });

const hooks = dynamoHooks(t, 'a22FailedListing');
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

async function scenario(person: string, options: { failing: boolean; comeback: boolean }) {
  const id = `u-${person}`;
  const x = `${person}@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: `${person}-a@example.org` } });
  await later(60_000);
  let erased: number | undefined;
  hooks.set(
    {
      // The move's listing under X (its pointer is written): the customer is erased first.
      match: (op, input) => op === 'PutItem' && input.includes(`"AH#${addressHash(x)}"`) && input.includes('"address-holder"') && input.includes(`"${id}"`),
      before: async () => void (erased = (await t.api.del(`/v1/customers/${id}`)).status),
    },
    ...(options.failing
      ? [{ keep: true, match: (op: string, input: string) => op === 'PutItem' && input.includes(`"C#${id}"`) && input.includes('"profile"') && input.includes('#v = :v'), before: () => Promise.reject(new Error('write lost')) }]
      : []),
  );
  await t.api.sendAndSettle({ type: 'identify', userId: id, messageId: `${person}-move`, traits: { email: x } });
  await later(5 * 60_000);
  hooks.clear();
  expect(erased).toBe(200);
  if (options.comeback) {
    // The customer comes back (events dated after the erasure) with another address, and is erased again.
    await t.api.sendAndSettle({ type: 'identify', userId: id, messageId: `${person}-back`, traits: { email: `${person}-y@example.org` } });
    await later(60_000);
    expect((await t.api.get(`/v1/customers/${id}`)).status).toBe(200);
    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
    await t.engine.settle();
  }
  const listing = `H#${sha(id)}`;
  return profileItems(t.engine, (text) => text.includes(`"${id}"`) || text.includes(listing));
}

describe("the erased life's write listed under an address after the erasure read it", () => {
  it('control: the profile write then fails its condition: the writer takes the listing back', async () => {
    expect(await scenario('a22fl-ctl', { failing: false, comeback: false })).toEqual([]);
  }, 60_000);

  it('the profile write fails every attempt: nothing names the id', async () => {
    expect(await scenario('a22fl', { failing: true, comeback: false })).toEqual([]);
  }, 60_000);

  it("the profile write fails every attempt, the customer comes back and is erased again: nothing names the id", async () => {
    expect(await scenario('a22fl-back', { failing: true, comeback: true })).toEqual([]);
  }, 60_000);
});
