/**
 * The holds an erasure puts back for a late holder do not undo that holder's later grant of the address.
 *
 * Promise (issue 10, consent is law per address, in consent order): a later grant of the address by a record that
 * has it (received after the denial) lifts the address's denial. The account has X and unsubscribed (X denied). The
 * account is erased; between its holder check and its deletes (a DynamoDB middleware) the guest sends one request:
 * an identify bringing X and `Subscribed {channel: email}`. Ingest lifts X's denial with the guest's grant (the
 * batch's address); the erasure's deletes then take the grant (its key was read at the check), and
 * `#freeAddress`, finding the guest, puts back the account's denial as read at the check
 * (attribute_not_exists): X is denied again. The guest is still mailed (its own grant is later), but another record
 * of the person's that gets X afterwards is not: the address's latest change, the guest's grant, is lost.
 * Control: the guest's request before the erasure starts: its grant lifts X's denial and stays (both are mailed).
 * Found by the 21st hostile audit, where it broke.
 * Now: holds are deleted only as read (their `key`/`at` unchanged), so the later grant stays and nothing is put over it.
 */
import { describe, expect, it } from 'vitest';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, later, offer, latestOffer, addressItems, accountUnsubscribed, guestLandsFirst } = offerScenario({ name: 'a21-restore-grant' });

const hooks = dynamoHooks(t, 'a21RestoreGrant');

async function scenario(person: string, racing: boolean) {
  const { address, account, guest } = await accountUnsubscribed(person);
  const request = [
    { type: 'identify', userId: guest, messageId: `${person}-guest`, traits: { email: address } },
    { type: 'track', userId: guest, event: 'Subscribed', messageId: `${person}-grant`, properties: { channel: 'email' } },
  ];
  // Racing: the erasure's deletes, X's denial among them (its holders were checked); the guest's request lands first.
  const deletes = (op: string, input: string) => op === 'BatchWriteItem' && input.includes(`"AH#${addressHash(address)}"`) && input.includes('DeleteRequest');
  const raced = await guestLandsFirst(hooks, guest, request, racing ? deletes : undefined);
  expect((await t.api.del(`/v1/customers/${account}`)).status).toBe(200);
  hooks.clear();
  await t.engine.settle();
  await later(60_000);
  await offer(guest, 1);
  // Another record of the person's with X (a second guest checkout), after all that: X's latest change is the grant.
  const other = `guest2-${person}`;
  await t.api.sendAndSettle({ type: 'identify', userId: other, messageId: `${person}-guest2`, traits: { email: address } });
  await later(60_000);
  await offer(other, 1);
  return { raced: raced(), addressDenied: (await addressItems(address, '"denied"')).length, guestOffer: await latestOffer(guest), otherOffer: await latestOffer(other) };
}

describe("the guest brings X and subscribes while the account's erasure deletes X's denial", () => {
  it('control: the guest subscribed before the erasure: its grant stands, both mailed', async () => {
    expect(await scenario('a21rg-ctl', false)).toEqual({ raced: false, addressDenied: 0, guestOffer: 'sent', otherOffer: 'sent' });
  }, 60_000);

  it("the guest's request lands between the erasure's check and its deletes: its grant stands, both mailed", async () => {
    expect(await scenario('a21rg', true)).toEqual({ raced: true, addressDenied: 0, guestOffer: 'sent', otherOffer: 'sent' });
  }, 60_000);
});
