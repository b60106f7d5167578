/**
 * A profile write bringing a new email address (resp. phone number), racing the customer's erasure, leaves nothing
 * naming the erased id. The write lists the record under the address (`AH#<hash>` / `H#<sha256(id)>`, with the id)
 * and its pointer before the profile; a DynamoDB middleware lets the erasure read the partition before the pointer is
 * written and finish before the profile put, which then fails its version check: `ProfileStore.put` sees the customer
 * erased (write, then check) and takes its listing and pointer back. Control: the identify applied before the erasure.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';
import { profileItemsNaming } from '../helpers/engine';

const { t, later } = offerScenario({ name: 'a19-listing-left' });

const hooks = dynamoHooks(t, 'listingRaceErasure');

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

async function scenario(person: string, racing: boolean, trait: 'email' | 'phone' = 'email') {
  const account = `u-${person}`;
  const moved = trait === 'email' ? `${person}-b@example.com` : '+447700900352';
  await t.api.sendAndSettle({ type: 'identify', userId: account, traits: trait === 'email' ? { email: `${person}-a@example.com` } : { phone: '+447700900351' } });
  await later(60_000);
  let erasure: Promise<{ status: number }> | undefined;
  if (racing) {
    const read = deferred();
    hooks.set(
      {
        // The consumer lists the account under b@ (its pointer first): the erasure starts and reads the partition first.
        match: (op, input) => op === 'PutItem' && input.includes(`AP#${trait === 'email' ? addressHash(moved) : createHash('sha256').update(moved).digest('hex')}`),
        before: async () => {
          hooks.add({ match: (op, input) => op === 'Query' && input.includes(`"C#${account}"`) && input.includes('"#pk = :pk"'), after: () => read.resolve() });
          erasure = t.api.del(`/v1/customers/${account}`);
          await read.promise;
          // The profile put (after the listing) waits for the erasure to finish.
          hooks.add({ match: (op, input) => op === 'PutItem' && input.includes(`"C#${account}"`) && input.includes('#v = :v'), before: async () => void (await erasure) });
        },
      },
    );
    await t.api.send({ type: 'identify', userId: account, traits: { [trait]: moved } });
    await t.engine.settle();
    expect((await erasure!)?.status).toBe(200);
  } else {
    await t.api.sendAndSettle({ type: 'identify', userId: account, traits: { [trait]: moved } });
    expect((await t.api.del(`/v1/customers/${account}`)).status).toBe(200);
  }
  hooks.clear();
  await t.engine.settle();
  await later(3_600_000);
  return profileItemsNaming(t.engine, [`"${account}"`, `C#${account}`]);
}

describe('a profile write bringing a new address, racing the erasure', () => {
  it('control: the identify applied before the erasure: nothing names the erased id', async () => {
    expect(await scenario('a19ll-ctl', false)).toEqual([]);
  }, 60_000);

  it('the identify racing the erasure: nothing names the erased id', async () => {
    expect(await scenario('a19ll', true)).toEqual([]);
  }, 60_000);

  it('a new phone number racing the erasure: nothing names the erased id', async () => {
    expect(await scenario('a19ln', true, 'phone')).toEqual([]);
  }, 60_000);
});
