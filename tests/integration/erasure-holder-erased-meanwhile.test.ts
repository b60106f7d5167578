/**
 * An erasure does not keep an address's denial for a holder whose own erasure begins meanwhile.
 *
 * Promise (issue 10, erasure per address): an address's holds go when its last live holder is erased. The account has
 * X and unsubscribed (X denied). The guest's identify moving it to X is in flight (listed under X, pointer `AP#<X>`
 * first; its profile write waits, a DynamoDB middleware). The account is erased: `#liveHolderOf` counts the guest (a
 * write bringing X in flight), and the erasure points the guest to X (`#pointToAddress`). The guest's erasure begins
 * just then: `#pointToAddress` sees it tombstoned and deletes the pointer `AP#<X>` (the guest's listing's too), and the
 * account's erasure, ignoring that answer, keeps X's denial (`continue`). The guest's erasure queries its partition
 * after that: X is found by nothing (its profile still has the old address), and it never judges X. The guest's write
 * then fails (its profile is gone) and takes its listing back. Nobody has X; its denial stays for ever and a newcomer
 * with X is never mailed. Control: the guest's write lands first; both are erased one after the other.
 * Found by the 20th hostile audit, where it broke.
 * Now: a holder whose pointer is refused (erased meanwhile) does not count; the next is tried, else the address is freed
 * (`#keepForLiveHolder` in `#addressHoldsToErase`).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, later, addressItems, accountUnsubscribed, newcomerOffer } = offerScenario({ name: 'a20-kept-erased-holder' });
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

const hooks = dynamoHooks(t, 'a20KeptErasedHolder');

const signal = () => {
  let fire!: () => void;
  const fired = new Promise<void>((resolve) => (fire = resolve));
  return { fire, fired };
};

async function scenario(person: string, racing: boolean) {
  const { address: x, account, guest } = await accountUnsubscribed(person, { guestHas: `${person}-old@example.com` });
  const statuses: number[] = [];
  if (racing) {
    const guestTombstoned = signal();
    const pointerDeleted = signal();
    let erasures: Promise<void> | undefined;
    hooks.set(
      {
        // The guest's profile write bringing X (listed under X): the account's erasure runs now, the guest's write after both erasures.
        match: (op, input) => op === 'PutItem' && input.includes(`"C#${guest}","SK":"P"`) && input.includes('#v = :v'),
        before: async () => {
          let guestErased: Promise<{ status: number }> | undefined;
          hooks.add(
            {
              // The account's erasure points the guest to X (`#pointToAddress`): the guest's erasure begins first.
              match: (op, input) => op === 'PutItem' && input.includes(`"C#${guest}","SK":"AP#${sha(x)}"`),
              before: async () => {
                guestErased = t.api.del(`/v1/customers/${guest}`);
                await guestTombstoned.fired;
              },
            },
            { match: (op, input) => op === 'PutItem' && input.includes(`"X#${sha(guest)}","SK":"X","itemType":"tombstone"`), after: () => guestTombstoned.fire() },
            { match: (op, input) => op === 'DeleteItem' && input.includes(`"C#${guest}","SK":"AP#${sha(x)}"`), after: () => pointerDeleted.fire() },
            // The guest's erasure queries its partition once the pointer is gone.
            { match: (op, input) => op === 'Query' && input.includes(`":pk":"C#${guest}"`) && input.includes('"KeyConditionExpression":"#pk = :pk"'), before: () => pointerDeleted.fired },
          );
          erasures = (async () => {
            statuses.push((await t.api.del(`/v1/customers/${account}`)).status);
            statuses.push((await guestErased!).status);
          })();
          await erasures;
        },
      },
    );
    await t.api.send([{ type: 'identify', userId: guest, messageId: `${person}-move`, traits: { email: x } }]);
    await t.engine.settle();
    await erasures;
  } else {
    await t.api.sendAndSettle({ type: 'identify', userId: guest, messageId: `${person}-move`, traits: { email: x } });
    await later(60_000);
    statuses.push((await t.api.del(`/v1/customers/${account}`)).status, (await t.api.del(`/v1/customers/${guest}`)).status);
  }
  hooks.clear();
  await t.engine.settle();
  await later(60_000);
  const left = (await addressItems(x, '"denied"')).length;
  return { statuses, deniedAfterErasures: left, newcomerOffer: await newcomerOffer(person, x) };
}

describe("the account's erasure keeps the address for a guest whose erasure begins meanwhile", () => {
  it('control: the guest has the address; both erased one after the other: the denial goes', async () => {
    expect(await scenario('a20ke-ctl', false)).toEqual({ statuses: [200, 200], deniedAfterErasures: 0, newcomerOffer: 'sent' });
  }, 60_000);

  it("the guest's erasure begins as the account's points it to the address: the denial goes", async () => {
    expect(await scenario('a20ke', true)).toEqual({ statuses: [200, 200], deniedAfterErasures: 0, newcomerOffer: 'sent' });
  }, 60_000);
});
