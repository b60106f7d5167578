/**
 * A one-click unsubscribe racing the erasure of its customer, whose per-customer denial hold lands after the erasure read
 * the partition and whose check then fails: nothing ever checks it again, and the hold names the erased id for 30 days
 * (in the embedded engine's files for good: dynalite never deletes an expired item).
 *
 * Promise (issue 10: erasure is complete while events race it): "after DELETE answers, nothing of the person remains
 * once writes in flight end, in every table and file of the data folder". 758badf took up this very case for the
 * address's hold ("a one-click POST racing the erasure, its check failing, is never retried": the daily sweep checks
 * the write left open), but the page writes the customer's own denial hold first (`C#<id>` / `K#email`, ingest's
 * `putConsentHold`, write then check), and that write has no open record: nothing re-checks it.
 *
 * Scenario: the account `u-<p>` has X. Its one-click link is clicked; the page records the denial (`recordHolds`): the
 * account is erased just before the put of its consent hold (the erasure's query of the partition misses it), the hold
 * lands, and its check (the tombstone read) fails once: the page answers 503 and publishes nothing. A mail client's
 * one-click POST is not retried. A day later the daily sweep runs: the item `C#u-<p>` / `K#email` (itemType
 * `consent-hold`, the id in its key) is still in the table, as it is 29 days later.
 * Control: the check does not fail: the write's own check deletes the hold; nothing names the account.
 * Found by the thirty-fourth hostile audit. Now: a hold in the customer's partition is an open write too (`#putCustomerHold`): the
 * sweep checks it again as `#undoHoldIfErased` would and deletes it.
 */
import { describe, expect, it } from 'vitest';
import { DEV_UNSUBSCRIBE_KEY } from '../../functions/journeys';
import { unsubscribeUrl } from '../../functions/journeys/unsubscribe';
import { emailAddressHash } from '../../shared';
import { offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';
import { profileItemsNaming } from '../helpers/engine';

const { t, later, clickOneClick } = offerScenario({ name: 'a34-oneclick-hold' });

const hooks = dynamoHooks(t, 'a34OneClickHold');

const DAY = 86_400_000;

async function scenario(person: string, failCheck: boolean, days: number) {
  const id = `u-${person}`;
  const x = `${person}@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: x } });
  await later(60_000);
  const link = unsubscribeUrl(t.engine.url, DEV_UNSUBSCRIBE_KEY, id, 'email', emailAddressHash(x));
  let erased: number | undefined;
  let failed = false;
  hooks.set(
    {
      // The page's put of the account's consent hold: the account is erased just before.
      match: (op, input) => erased === undefined && op === 'PutItem' && input.includes(`"C#${id}"`) && input.includes('"K#email"') && input.includes('"consent-hold"'),
      before: async () => {
        erased = (await t.api.del(`/v1/customers/${id}`)).status;
      },
    },
    {
      match: (op, input) => failCheck && op === 'GetItem' && input.includes('"SK":"X"') && erased !== undefined && !failed,
      before: () => {
        failed = true;
        return Promise.reject(new Error('throttled'));
      },
    },
  );
  const clicked = await clickOneClick(link);
  hooks.clear();
  expect(erased).toBe(200);
  expect(failed).toBe(failCheck);
  expect(clicked.status).toBe(failCheck ? 503 : 200);
  // The daily sweep, as EventBridge Scheduler runs it (this engine's own timer is off).
  for (let day = 0; day < days; day++) {
    await later(DAY);
    await t.engine.sweep();
  }
  return (await profileItemsNaming(t.engine, [`"${id}"`, `"C#${id}"`, x])).map((text) => JSON.parse(text) as { SK: { S: string }; itemType?: { S: string } }).map((item) => `${item.SK.S} ${item.itemType?.S ?? ''}`);
}

describe("a one-click unsubscribe whose consent hold lands after its customer's erasure, its check failing", () => {
  it("control: the write's check deletes the hold: after the next sweep nothing names the account", async () => {
    expect(await scenario('a34ch-c', false, 1)).toEqual([]);
  }, 120_000);

  it('the check fails once, no retry: after the next sweep nothing names the account', async () => {
    expect(await scenario('a34ch-x', true, 1)).toEqual([]);
  }, 120_000);

  it('the check fails once, no retry: 29 days later nothing names the account', async () => {
    expect(await scenario('a34ch-y', true, 29)).toEqual([]);
  }, 120_000);
});
