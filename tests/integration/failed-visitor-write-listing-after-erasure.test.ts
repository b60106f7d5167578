/**
 * A visitor's event applied to the customer it is linked to lists the customer under the address it names after their
 * erasure read it, then fails for good: its retries drop it under the visitor's id, and the customer's listing stays.
 *
 * Promise (issue 10, erasure is complete even while events race it): after DELETE answers, no item holds the
 * customer's id. The customer's visitor id (linked by an earlier identify) sends an identify of its own naming address
 * X (analytics.js before the user id is known on that device): the consumer resolves it to the customer and `put`
 * writes the customer's pointer `AP#<X>`, then (a DynamoDB middleware) before their listing under X the customer is
 * erased, with their visitor (the erasure finds the pointer and no listing yet, deletes the pointer); the listing lands;
 * the profile write then fails every attempt (a throttle). Every retry resolves the visitor anew: its alias is gone, so
 * the event is the erased visitor's (`anon:<visitor>`), dropped, and `undoErasedLifeWrites` undoes under that id:
 * X is settled for the visitor, never for the customer, whose listing `AH#<X>`/`H#<sha256(id)>` keeps their id.
 * The same for an event sent under an id joined into the customer by an alias (its forwarding record erased with them).
 * Control (the 22nd audit's failed-write-listing-after-erasure): the same event sent with the customer's user id.
 * Found by the 23rd hostile audit. Now: a listing is written, then checked (`#listAddressHolder`): a listing of an
 * erased customer's life is settled at once, whichever id the event came under.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { profileItems } from '../helpers/engine';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, later } = offerScenario({ name: 'a23-failed-visitor-listing' });

const hooks = dynamoHooks(t, 'a23FailedVisitorListing');
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

async function scenario(person: string, by: 'customer' | 'visitor' | 'joined') {
  const id = `u-${person}`;
  const visitor = `v-${person}`;
  const joined = `j-${person}`;
  const x = `${person}@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, anonymousId: visitor, traits: { plan: 'pro' } });
  if (by === 'joined') {
    await t.api.sendAndSettle({ type: 'identify', userId: joined, traits: { plan: 'free' } });
    await t.api.sendAndSettle({ type: 'alias', userId: id, previousId: joined });
  }
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
  const sender = by === 'visitor' ? { anonymousId: visitor } : { userId: by === 'joined' ? joined : id };
  await t.api.sendAndSettle({ type: 'identify', ...sender, messageId: `${person}-x`, traits: { email: x } });
  await later(5 * 60_000);
  hooks.clear();
  expect(erased).toBe(200);
  const listing = `H#${sha(id)}`;
  return (await profileItems(t.engine, (text) => text.includes(`"${id}"`) || text.includes(listing))).map((text) => (JSON.parse(text) as { SK: { S: string } }).SK.S.slice(0, 2));
}

describe("a visitor's event written for its customer after the erasure read them, then failed for good", () => {
  it("control: the event sent with the customer's id: nothing names the id", async () => {
    expect(await scenario('a23fvl-ctl', 'customer')).toEqual([]);
  }, 60_000);

  it("the event sent by the customer's visitor: nothing names the id", async () => {
    expect(await scenario('a23fvl', 'visitor')).toEqual([]);
  }, 60_000);

  it("the event sent under an id joined into the customer: nothing names the id", async () => {
    expect(await scenario('a23fjl', 'joined')).toEqual([]);
  }, 60_000);
});
