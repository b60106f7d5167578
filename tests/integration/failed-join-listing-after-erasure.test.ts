/**
 * A write of the erased life that brings an address by a join (an alias) or a visitor's link, not by naming it, lists
 * the customer under it after their erasure read it, then fails for good: its listing (with the id in clear) stays.
 *
 * Promise (issue 10, erasure is complete even while events race it): after DELETE answers, no item holds the
 * customer's id. The customer (no address) joins a guest record with address X (`alias`, previousId the guest) or
 * links a visitor whose profile has X (an identify with the visitor's anonymousId, naming no address): the merged
 * profile has X, so `put` writes the customer's pointer `AP#<X>`, then (a DynamoDB middleware) before their listing under
 * X the customer is erased (the erasure finds the pointer and no listing yet, deletes the pointer); the listing lands;
 * then the profile write fails every attempt (a throttle; the event is dead-lettered). Every retry drops the event as the
 * erased life's and undoes what it may have left (`undoErasedLifeWrites`): the partition's pointers (none left) and the
 * addresses the event names (none: the join brought X). The listing `AH#<X>`/`H#<sha256(id)>` keeps the id.
 * Control (as the 22nd audit's failed-write-listing-after-erasure): the same with an identify that names X: settled.
 * Found by the 23rd hostile audit. Now: a listing is written, then checked (`#listAddressHolder`): a listing of an
 * erased customer's life (not a new life's on its way, and none once they came back) is settled at once, whatever
 * brought the address.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { profileItems } from '../helpers/engine';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, later } = offerScenario({ name: 'a23-failed-join-listing' });

const hooks = dynamoHooks(t, 'a23FailedJoinListing');
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

async function scenario(person: string, how: 'names' | 'alias' | 'visitor') {
  const id = `u-${person}`;
  const guest = `guest-${person}`;
  const visitor = `v-${person}`;
  const x = `${person}@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { plan: 'pro' } });
  if (how === 'alias') await t.api.sendAndSettle({ type: 'identify', userId: guest, traits: { email: x } });
  if (how === 'visitor') await t.api.sendAndSettle({ type: 'identify', anonymousId: visitor, traits: { email: x } });
  await later(60_000);
  let erased: number | undefined;
  hooks.set(
    {
      // The customer's listing under X (its pointer is written): the customer is erased first.
      match: (op, input) => op === 'PutItem' && input.includes(`"AH#${addressHash(x)}"`) && input.includes('"address-holder"') && input.includes(`"${id}"`),
      before: async () => void (erased = (await t.api.del(`/v1/customers/${id}`)).status),
    },
    { keep: true, match: (op, input) => op === 'PutItem' && input.includes(`"C#${id}"`) && input.includes('"profile"') && input.includes('#v = :v'), before: () => Promise.reject(new Error('write lost')) },
  );
  const event =
    how === 'names'
      ? { type: 'identify', userId: id, messageId: `${person}-join`, traits: { email: x } }
      : how === 'alias'
        ? { type: 'alias', userId: id, previousId: guest, messageId: `${person}-join` }
        : { type: 'identify', userId: id, anonymousId: visitor, messageId: `${person}-join`, traits: { plan: 'pro' } };
  await t.api.sendAndSettle(event);
  await later(5 * 60_000);
  hooks.clear();
  expect(erased).toBe(200);
  const listing = `H#${sha(id)}`;
  return (await profileItems(t.engine, (text) => text.includes(`"${id}"`) || text.includes(listing))).map((text) => (JSON.parse(text) as { SK: { S: string } }).SK.S.slice(0, 2));
}

describe("the erased life's join listed under the address it brings after the erasure read it, then failed for good", () => {
  it('control: an identify naming X: nothing names the id', async () => {
    expect(await scenario('a23fj-ctl', 'names')).toEqual([]);
  }, 60_000);

  it('an alias joining a guest with X: nothing names the id', async () => {
    expect(await scenario('a23fj', 'alias')).toEqual([]);
  }, 60_000);

  it("an identify linking a visitor with X: nothing names the id", async () => {
    expect(await scenario('a23fv', 'visitor')).toEqual([]);
  }, 60_000);
});
