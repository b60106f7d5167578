/**
 * A late denial of the erased life, racing the comeback's first write, leaves the new life's listing and pointer.
 *
 * Promise (issue 10, erasure is complete even with events racing it): after DELETE answers, no item holds the
 * customer's id (nor `H#<sha256(id)>`, their listing under an address). The customer (address X) is erased. They come
 * back: the new life's identify brings X; `put` lists them under X, pointer `AP#<X>` first, then (a DynamoDB middleware)
 * before their profile's create, a late `Unsubscribed` of the erased life naming X arrives at ingest. Its address hold
 * (`#putAddressHold`) finds the id tombstoned with no new life yet (the profile is not written) and deletes the pointer
 * `AP#<X>`: the one the new life's listing under X relies on. The new life moves to Y before the consumer applies the
 * late denial (it then writes Y's pointer, not X's); X's timeline passes retention (AWS's TTL, emulated); the customer
 * is erased again. The erasure finds X by nothing (no pointer, no event, not the
 * profile's address) and the listing under X, with the id in it, stays for ever. Control: no late denial.
 * Found by the 20th hostile audit, where it broke.
 * Now: the take-back leaves a pointer whose listing was written after the erasure and may be in flight (a new
 * life's), and the new life stays listed under X; its own erasure finds and removes both.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { holdConsumer, profileItems } from '../helpers/engine';
import { offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, clock, later, expireTimelines, addressItems } = offerScenario({ name: 'a20-nl-pointer', engine: { env: { ...process.env, RAPPORT_TIMELINE_RETENTION_DAYS: '30' } } });
const DAY = 86_400_000;

const hooks = dynamoHooks(t, 'a20NewLifePointer');

async function scenario(person: string, lateDenial: boolean) {
  const id = `u-${person}`;
  const x = `${person}@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: x } });
  await later(60_000);
  const oldLife = clock.now().toISOString();
  expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
  await later(60_000);
  let late: boolean | undefined;
  // The late denial reaches the profile consumer only after the move (EventBridge delivers in no order).
  const held = holdConsumer(t.engine, (event) => event.messageId === `${person}-late`);
  if (lateDenial) {
    hooks.set({
      // The new life's profile create (its listing under X is written): the erased life's late unsubscribe arrives.
      match: (op, input) => op === 'PutItem' && input.includes(`"C#${id}"`) && input.includes('"profile"') && input.includes('rebornAfter'),
      before: async () => {
        await t.api.send([{ type: 'track', userId: id, event: 'Unsubscribed', messageId: `${person}-late`, timestamp: oldLife, properties: { channel: 'email' }, context: { traits: { email: x } } }]);
        late = true;
      },
    });
  }
  await t.api.sendAndSettle({ type: 'identify', userId: id, messageId: `${person}-back`, traits: { email: x } });
  hooks.clear();
  await later(60_000);
  const comeback = (await t.api.get(`/v1/customers/${id}`)).status;
  // The new life has X: it is listed under X (an erasure of another record with X finds it there).
  const listedUnderX = (await addressItems(x, '"address-holder"', true)).length;
  await t.api.sendAndSettle({ type: 'identify', userId: id, messageId: `${person}-move`, traits: { email: `${person}-new@example.org` } });
  await held.release();
  await later(31 * DAY);
  await expireTimelines();
  expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
  await t.engine.settle();
  const listing = `H#${createHash('sha256').update(id).digest('hex')}`;
  return { late, comeback, listedUnderX, left: await profileItems(t.engine, (text) => text.includes(`"${id}"`) || text.includes(listing)) };
}

describe("the comeback's first write, raced by a late denial of the erased life", () => {
  it('control: no late denial: the second erasure leaves nothing naming the id', async () => {
    expect(await scenario('a20nlp-ctl', false)).toEqual({ comeback: 200, listedUnderX: 1, left: [] });
  }, 60_000);

  it('a late denial arrives between the listing and the profile write: the second erasure leaves nothing naming the id', async () => {
    expect(await scenario('a20nlp', true)).toEqual({ late: true, comeback: 200, listedUnderX: 1, left: [] });
  }, 60_000);
});
