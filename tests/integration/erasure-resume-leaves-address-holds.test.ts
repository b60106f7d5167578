/**
 * An erasure interrupted after its deletes but before it freed the customer's address leaves the address's holds (the
 * erased person's unsubscribe of it) for good: the retried DELETE resumes, but nothing leads it to the address any more.
 *
 * Promise (issue 10, erasure deletes every item of a customer, and is complete even when interrupted and retried; an
 * address's holds go with its last holder): the customer (address A) unsubscribed (A denied: `AH#<A>`/`K#email`). The
 * erasure reads A from the profile and the pointer (`#addressHoldsToErase`: nobody else has A, so A is to be freed),
 * deletes the customer's items (the profile, the pointer `AP#<A>`, the listing, the timeline), and only then frees A
 * (`#freeAddress`). Interrupted there (DynamoDB failing the query of A's holds past the SDK's retries; in AWS equally a
 * Lambda timeout), the DELETE answers 503; the operator retries and the erasure resumes from its start, but the items
 * naming A are gone: A is never freed. Its denial outlives the customer, and a newcomer with A gets no offer.
 * Control: the erasure is not interrupted: A keeps nothing.
 * Found by the 24th hostile audit. Now: the pointers to the addresses an erasure frees are deleted only once those
 * addresses are freed: an erasure interrupted before then finds them on its retry.
 */
import { describe, expect, it } from 'vitest';
import type { DynamoCall } from '../../infra/embedded/faults';
import { addressHash, offerScenario } from '../helpers/address-scenario';

let failing: string | undefined;
const { t, later, addressItems, newcomerOffer } = offerScenario({
  name: 'a24-resume-address',
  engine: {
    faults: {
      dynamo: (call: DynamoCall) => {
        const values = call.input.ExpressionAttributeValues as Record<string, { S?: string }> | undefined;
        // `#freeAddress`'s query of the address's partition (the holders' query has a `begins_with`).
        return failing !== undefined && call.operation === 'Query' && values?.[':pk']?.S === `AH#${failing}` && call.input.KeyConditionExpression === '#pk = :pk' ? 'InternalServerError' : undefined;
      },
    },
  },
});

async function scenario(person: string, interrupted: boolean) {
  const id = `u-${person}`;
  const a = `${person}@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: a } });
  await later(60_000);
  await t.api.sendAndSettle({ type: 'track', userId: id, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'email' } });
  await later(60_000);
  expect((await addressItems(a, '"denied"')).length).toBe(1);
  if (interrupted) failing = addressHash(a);
  const first = (await t.api.del(`/v1/customers/${id}`)).status;
  failing = undefined;
  const retry = interrupted ? (await t.api.del(`/v1/customers/${id}`)).status : undefined;
  await later(60_000);
  return { first, retry, aItems: (await addressItems(a, undefined, true)).length, newcomer: await newcomerOffer(person, a) };
}

describe('an erasure interrupted before it freed the address', () => {
  it('control: not interrupted: A keeps nothing', async () => {
    expect(await scenario('a24ra-ctl', false)).toEqual({ first: 200, retry: undefined, aItems: 0, newcomer: 'sent' });
  }, 60_000);

  it('interrupted and retried: A keeps nothing', async () => {
    expect(await scenario('a24ra', true)).toEqual({ first: 503, retry: 200, aItems: 0, newcomer: 'sent' });
  }, 60_000);
});
