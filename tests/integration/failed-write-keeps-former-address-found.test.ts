/**
 * A write that conflicts during an erasure does not take the pointers to the customer's former addresses with it.
 *
 * Promise (issue 10, erasure per address): an address's holds go when its last live holder is erased. The customer
 * had X and unsubscribed (X denied, pointer `AP#<X>` in their partition), then moved to Y; the timeline naming X passed
 * retention (AWS's TTL, emulated): the erasure finds X only by that pointer. An identify moving them to Z is being
 * applied: `put` lists them under Z, then (a DynamoDB middleware) another write of the profile lands first and the
 * customer is tombstoned. The put's conditional write fails; the customer is erased, so `#unlistAddressHolder`
 * deletes every `AP#` pointer in their partition, `AP#<X>` too (a hold's pointer, not a listing's). Only then does the
 * erasure query the partition: X is found by nothing, and its denial stays for ever though nobody has X; a newcomer
 * with X is never mailed. Control: the same erasure with no write racing it.
 * Found by the 20th hostile audit, where it broke.
 * Now: the failed write's unlisting settles each address as the erasure would (`#settleAddressOfGone`).
 */
import { createHash } from 'node:crypto';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/profile';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import { offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, later, addressItems, expireTimelines, accountUnsubscribed, newcomerOffer } = offerScenario({ name: 'a20-unlist', engine: { env: { ...process.env, RAPPORT_TIMELINE_RETENTION_DAYS: '30' } } });
const DAY = 86_400_000;
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

const hooks = dynamoHooks(t, 'a20Unlist');

async function scenario(person: string, racing: boolean) {
  const { address: x, account: id } = await accountUnsubscribed(person);
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: `${person}-y@example.org` } });
  await later(31 * DAY);
  await expireTimelines();
  const deniedBefore = (await addressItems(x, '"denied"')).length;
  let erasure: Promise<{ status: number }> | undefined;
  if (racing) {
    let tombstoned!: () => void;
    let unlisted!: () => void;
    const whenTombstoned = new Promise<void>((resolve) => (tombstoned = resolve));
    const whenUnlisted = new Promise<void>((resolve) => (unlisted = resolve));
    hooks.set(
      {
        // The profile write of the move to Z (listed under Z): another write lands first, and the erasure begins.
        match: (op, input) => op === 'PutItem' && input.includes(`"C#${id}"`) && input.includes('"profile"') && input.includes('#v = :v'),
        before: async () => {
          await documentClient(t.engine.dynamo.client).send(
            new UpdateCommand({ TableName: PROFILE_TABLE, Key: { PK: `C#${id}`, SK: 'P' }, UpdateExpression: 'SET #v = #v + :one', ExpressionAttributeNames: { '#v': 'version' }, ExpressionAttributeValues: { ':one': 1 } }),
          );
          erasure = t.api.del(`/v1/customers/${id}`);
          await whenTombstoned;
        },
      },
      { match: (op, input) => op === 'PutItem' && input.includes(`"X#${sha(id)}","SK":"X","itemType":"tombstone"`), after: () => tombstoned() },
      { match: (op, input) => op === 'DeleteItem' && input.includes(`"C#${id}","SK":"AP#${sha(x)}"`), after: () => unlisted() },
      // The erasure's query of the partition waits for the failed write's take-back.
      { match: (op, input) => op === 'Query' && input.includes(`":pk":"C#${id}"`) && input.includes('"KeyConditionExpression":"#pk = :pk"'), before: () => whenUnlisted },
    );
    await t.api.send([{ type: 'identify', userId: id, messageId: `${person}-z`, traits: { email: `${person}-z@example.org` } }]);
    await t.engine.settle();
    expect((await erasure)?.status).toBe(200);
  } else {
    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
  }
  hooks.clear();
  await t.engine.settle();
  await later(60_000);
  const left = (await addressItems(x, '"denied"')).length;
  return { deniedBefore, deniedAfterErasure: left, newcomerOffer: await newcomerOffer(person, x) };
}

describe("an erasure and a write of the customer's that conflicts meanwhile", () => {
  it("control: no write racing: the erasure finds the former address by its pointer and deletes its denial", async () => {
    expect(await scenario('a20un-ctl', false)).toEqual({ deniedBefore: 1, deniedAfterErasure: 0, newcomerOffer: 'sent' });
  }, 60_000);

  it("the failed write's take-back runs before the erasure's query: the former address's denial goes", async () => {
    expect(await scenario('a20un', true)).toEqual({ deniedBefore: 1, deniedAfterErasure: 0, newcomerOffer: 'sent' });
  }, 60_000);
});
