/**
 * A late denial naming a former address, arriving while the erasure runs, does not hide that address from it.
 *
 * Promise (issue 10, erasure is complete even with events racing it): after DELETE answers, no item holds the
 * customer's id (nor `H#<sha256(id)>`, their listing under an address). The customer had X, moved to Y; the timeline
 * naming X passed retention (AWS's TTL, emulated): the erasure finds X only by the pointer `AP#<X>` in their partition.
 * DELETE: the ids are tombstoned, and before the erasure queries the partition (a DynamoDB middleware) a late
 * `Unsubscribed` naming X arrives at ingest. Its address hold (`#putAddressHold`) finds the id tombstoned (no new
 * life) and deletes the pointer `AP#<X>` (its own, it thinks; it is also the listing's), then takes its hold back. The
 * erasure's query no longer finds X: the customer's listing under X, their id in it, outlives the erasure. Control:
 * the same erasure without the late denial.
 * Found by the 20th hostile audit, where it broke.
 * Now: the take-back settles the address as the erasure would (`#settleAddressOfGone`: the listing goes, then the
 * pointer), instead of deleting only the pointer.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { profileItems } from '../helpers/engine';
import { offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, later, expireTimelines } = offerScenario({ name: 'a20-late-former', engine: { env: { ...process.env, RAPPORT_TIMELINE_RETENTION_DAYS: '30' } } });
const DAY = 86_400_000;

const hooks = dynamoHooks(t, 'a20LateFormer');

async function scenario(person: string, lateDenial: boolean) {
  const id = `u-${person}`;
  const x = `${person}@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: x } });
  await later(60_000);
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: `${person}-new@example.org` } });
  await later(31 * DAY);
  await expireTimelines();
  let late = false;
  if (lateDenial) {
    hooks.set({
      // The erasure's query of the customer's partition (the ids are tombstoned): an email tool's late unsubscribe naming X.
      match: (op, input) => op === 'Query' && input.includes(`":pk":"C#${id}"`) && input.includes('"KeyConditionExpression":"#pk = :pk"'),
      before: async () => {
        await t.api.send([{ type: 'track', userId: id, event: 'Unsubscribed', messageId: `${person}-late`, properties: { channel: 'email' }, context: { traits: { email: x } } }]);
        late = true;
      },
    });
  }
  expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
  hooks.clear();
  await t.engine.settle();
  await later(60_000);
  const listing = `H#${createHash('sha256').update(id).digest('hex')}`;
  return { late, left: await profileItems(t.engine, (text) => text.includes(`"${id}"`) || text.includes(listing)) };
}

describe("an erasure raced by a late denial naming the customer's former address", () => {
  it('control: no late denial: nothing names the id after the erasure', async () => {
    expect(await scenario('a20lf-ctl', false)).toEqual({ late: false, left: [] });
  }, 60_000);

  it('a late denial arrives before the erasure reads the partition: nothing names the id after the erasure', async () => {
    expect(await scenario('a20lf', true)).toEqual({ late: true, left: [] });
  }, 60_000);
});
