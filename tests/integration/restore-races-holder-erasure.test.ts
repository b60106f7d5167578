/**
 * The holds an erasure puts back for a late holder do not outlive that holder's own erasure, run meanwhile.
 *
 * Promise (issue 10, erasure per address): an address's holds go when its last live holder is erased (no item keeps
 * the address's hash once no live record has it). The account has X and unsubscribed (X denied). The account is
 * erased; between its holder check and its deletes the guest gets X (as erasure-rechecks-late-holder.test.ts), so
 * `#freeAddress` finds the guest, points it to X, and puts X's denial back. Before that put lands (a
 * DynamoDB middleware), the guest is erased: its erasure finds no other holder and deletes X's partition (empty by
 * then). Then the account's erasure puts the denial back (attribute_not_exists): nothing checks the holder it put
 * it back for after the put (write, then check), so X's denial stays with no live record having X.
 * Control: the guest erased after the account's erasure is done: X's items go.
 * Found by the 21st hostile audit, where it broke.
 * Now: the put-back is written first, then the holder pointed to and checked, else taken back (`#freeAddress`).
 */
import { describe, expect, it } from 'vitest';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, later, addressItems, accountUnsubscribed, erasureBefore } = offerScenario({ name: 'a21-restore-race' });

const hooks = dynamoHooks(t, 'a21RestoreRace');

async function scenario(person: string, racing: boolean) {
  const { address, account, guest } = await accountUnsubscribed(person);
  const hash = addressHash(address);
  // The put-back of X's denial for the guest (`#freeAddress`): the guest is erased first.
  const guestErasure = erasureBefore(guest, (o, i) => o === 'PutItem' && i.includes(`"AH#${hash}"`) && i.includes('"ConditionExpression":"attribute_not_exists(#pk)"'));
  hooks.set({
    // The account's erasure's deletes, X's denial among them (its holders were checked): the guest gets X first.
    match: (op, input) => op === 'BatchWriteItem' && input.includes(`"AH#${hash}"`) && input.includes('DeleteRequest'),
    before: async () => {
      await hooks.untilProfileWritten(guest, () => t.api.send([{ type: 'identify', userId: guest, messageId: `${person}-guest`, traits: { email: address } }]));
      if (racing) hooks.add(guestErasure);
    },
  });
  expect((await t.api.del(`/v1/customers/${account}`)).status).toBe(200);
  hooks.clear();
  await t.engine.settle();
  await later(60_000);
  const guestErased = racing ? guestErasure.status : (await t.api.del(`/v1/customers/${guest}`)).status;
  await t.engine.settle();
  await later(60_000);
  return { guestErased, addressItems: (await addressItems(address, undefined, true)).map((text) => JSON.parse(text) as { SK: { S: string }; status?: { S: string } }).map((i) => `${i.SK.S} ${i.status?.S ?? ''}`.trim()) };
}

describe("the guest's erasure while the account's erasure puts X's denial back for it", () => {
  it("control: the guest erased after the account's erasure: X's items go", async () => {
    expect(await scenario('a21rr-ctl', false)).toEqual({ guestErased: 200, addressItems: [] });
  }, 60_000);

  it("the guest is erased before the put-back lands: X's items go", async () => {
    expect(await scenario('a21rr', true)).toEqual({ guestErased: 200, addressItems: [] });
  }, 60_000);
});
