/**
 * An erasure running between a record's listing under an address and its profile write keeps the address's denial
 * for it. The account has X and unsubscribed (X denied). A guest's identify bringing X is applied: `put` lists the
 * guest under X, then (a DynamoDB middleware) its profile write waits while the account is erased to completion.
 * A new guest: the erasure finds the listing with no profile yet and counts it as X's holder (a record listed and not
 * erased is about to have X). An existing guest moving to X from another address: its profile still lacks X, but its
 * listing is fresh (younger than any write can take: a write in flight), so it counts too. Either way X's denial
 * stays and the guest's offer to X is skipped `unsubscribed`. Control: the guest's write applied before the erasure.
 * Bound: a write that never lands (each attempt fails; the event is dead-lettered) stops counting once its listing is
 * older than any write can take (15 minutes): an erasure then frees the address.
 * One suite per channel with an address hold: `erasure-races-address-write.test.ts` (email), `erasure-races-number-write.test.ts`
 * (SMS: the same races over a phone number).
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/profile';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import { offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

/** The suite on `channel`: the person's address is `addressOf(person)` (their email address, or a phone number). */
export function erasureRacesAddressWrite(channel: 'email' | 'sms', addressOf: (person: string) => string) {
  const { t, later, offer, latestOffer, addressItems, accountUnsubscribed, erasureBefore } = offerScenario({ name: `a19-erasure-races-${channel}`, channel });
  const trait = channel === 'email' ? 'email' : 'phone';

  const hooks = dynamoHooks(t, `erasureRacesAddressWrite-${channel}`);

  async function scenario(person: string, racing: boolean, guestExists = false) {
    const { address, account, guest } = await accountUnsubscribed(person, { address: addressOf(person), guestHas: guestExists ? addressOf(`${person}-old`) : undefined, wait: 86_400_000 });
    if (racing) {
      // The guest's profile write (its listing under X is written): the account is erased first.
      const erasure = erasureBefore(account, (op, input) => op === 'PutItem' && input.includes(`"C#${guest}"`) && input.includes(guestExists ? '#v = :v' : 'attribute_not_exists(#pk)'));
      hooks.set(erasure);
      await t.api.sendAndSettle({ type: 'identify', userId: guest, traits: { [trait]: address } });
      expect(erasure.status).toBe(200);
    } else {
      await t.api.sendAndSettle({ type: 'identify', userId: guest, traits: { [trait]: address } });
      expect((await t.api.del(`/v1/customers/${account}`)).status).toBe(200);
    }
    hooks.clear();
    await t.engine.settle();
    await later(60_000);
    await offer(guest, 1);
    return { addressDenied: (await addressItems(address, '"denied"')).length, guestOffer: await latestOffer(guest) };
  }

  describe("the account's erasure between the guest's listing under the address and its profile write", () => {
    it('control: the guest got the address before the erasure: the address stays denied', async () => {
      expect(await scenario('a19er-ctl', false)).toEqual({ addressDenied: 1, guestOffer: 'unsubscribed' });
    }, 60_000);

    it('the erasure runs between the listing and the profile write: the address stays denied', async () => {
      expect(await scenario('a19er', true)).toEqual({ addressDenied: 1, guestOffer: 'unsubscribed' });
    }, 60_000);

    it('control: an existing guest moved to the address before the erasure: the address stays denied', async () => {
      expect(await scenario('erx-ctl', false, true)).toEqual({ addressDenied: 1, guestOffer: 'unsubscribed' });
    }, 60_000);

    it("the erasure runs between an existing guest's listing under the address and its profile write: the address stays denied", async () => {
      expect(await scenario('erx', true, true)).toEqual({ addressDenied: 1, guestOffer: 'unsubscribed' });
    }, 60_000);

    it('a write that never lands: its listing counts while a write could still land, not after', async () => {
      const erasureAfter = async (person: string, ms: number) => {
        const { address, account, guest } = await accountUnsubscribed(person, { address: addressOf(person), guestHas: addressOf(`${person}-old`) });
        // Every attempt of the guest's write bringing X fails after its listing under X (the event is dead-lettered).
        hooks.set({ keep: true, match: (op, input) => op === 'PutItem' && input.includes(`"C#${guest}"`) && input.includes('#v = :v'), before: () => Promise.reject(new Error('write lost')) });
        await t.api.sendAndSettle({ type: 'identify', userId: guest, messageId: `${person}-move`, traits: { [trait]: address } });
        await later(5 * 60_000);
        hooks.clear();
        expect((await addressItems(address, '"address-holder"', true)).length).toBe(2);
        await later(ms);
        expect((await t.api.del(`/v1/customers/${account}`)).status).toBe(200);
        return (await addressItems(address, '"denied"')).length;
      };
      expect({ within: await erasureAfter('erl-in', 60_000), after: await erasureAfter('erl-out', 11 * 60_000) }).toEqual({ within: 1, after: 0 });
    }, 60_000);

    it('the write bringing the address loses a race to another write of the guest, and the erasure runs before its retry', async () => {
      const { address, account, guest } = await accountUnsubscribed('erc', { address: addressOf('erc'), guestHas: addressOf('erc-old') });
      let listings = 0;
      // The retry of the guest's write bringing X lists it under X again (the second listing): the account is erased first.
      const erasure = erasureBefore(account, (op, input) => op === 'PutItem' && input.includes('"address-holder"') && input.includes(`"${guest}"`) && ++listings === 2);
      hooks.set(
        {
          // The guest's write bringing X (listed under X for this version): another writer's write of that version lands first.
          match: (op, input) => op === 'PutItem' && input.includes(`"C#${guest}"`) && input.includes('#v = :v'),
          before: () =>
            documentClient(t.engine.dynamo.client).send(
              new UpdateCommand({ TableName: PROFILE_TABLE, Key: { PK: `C#${guest}`, SK: 'P' }, UpdateExpression: 'SET #v = #v + :one', ExpressionAttributeNames: { '#v': 'version' }, ExpressionAttributeValues: { ':one': 1 } }),
            ),
        },
        erasure,
      );
      await t.api.sendAndSettle({ type: 'identify', userId: guest, traits: { [trait]: address } });
      expect(erasure.status).toBe(200);
      hooks.clear();
      await t.engine.settle();
      await later(60_000);
      await offer(guest, 1);
      expect({ addressDenied: (await addressItems(address, '"denied"')).length, guestOffer: await latestOffer(guest) }).toEqual({ addressDenied: 1, guestOffer: 'unsubscribed' });
    }, 60_000);
  });
}
