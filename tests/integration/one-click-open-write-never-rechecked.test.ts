/**
 * A one-click unsubscribe racing the erasure of its customer, whose hold write's check fails: nothing ever checks the
 * open write again, and the address's denial outlives its last holder for good.
 *
 * Promise (issue 10: erasure is complete while events race it; an address-level denial never outlives its last holder
 * wrongly): "when DELETE answers ... a write still in flight then ... is undone by its writer when it finishes, so the
 * tables ... are clean once those have ended"; an address's denial goes with the last customer that has the address.
 * Since 55ae5fa a write "whose check failed, or whose writer died, after the erasure took its pointer is checked again
 * by the next hold write for the id or the retry that drops its event (an open record lives at most as long as a
 * tombstone)".
 *
 * Scenario: the account `u-<p>` alone has X. Its one-click link (as its email carries it, `a` = X's hash) is clicked;
 * the page records the denial (`recordHolds`): X's hold write is opened (`XW#`), its pointer written, and the account is
 * erased just before the put of X's denial (the erasure takes the pointer; nobody else has X, so it frees nothing
 * more). The denial lands; the write's check (the tombstone read) fails once: the page answers 503 and publishes
 * nothing. A mail client's one-click POST is not retried, and the erased account sends nothing more: no later hold write
 * of the id, no retry of a consumer to drop the event. Nothing checks the open write again; it expires with a
 * tombstone's life (47 days) and X's denial stays with no pointer, no listing and no expiry: a newcomer with X is
 * refused marketing email (`unsubscribed`), 48 days later as the next minute.
 * Control: the check does not fail: the write's own check takes X's denial back, and a newcomer with X is mailed. And
 * when the person clicks again (a hold write of the id), the open write is checked again and X's denial goes: the
 * mechanism works when, and only when, something of the erased id comes back.
 * Found by the thirty-third hostile audit. Now: the open record names the id while it is open, in GSI1 by the time it
 * was opened; the daily sweep checks every write left open longer than a write may take (15 minutes) and closes it: X's
 * denial goes with the next sweep, and nothing names the account once it ran.
 */
import { describe, expect, it } from 'vitest';
import { DEV_UNSUBSCRIBE_KEY } from '../../functions/journeys';
import { unsubscribeUrl } from '../../functions/journeys/unsubscribe';
import { emailAddressHash } from '../../shared';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';
import { profileItemsNaming } from '../helpers/engine';

const { t, later, addressItems, newcomerOffer, clickOneClick, eraseThenFailCheck } = offerScenario({ name: 'a33-oneclick-open' });

const hooks = dynamoHooks(t, 'a33OneClickOpen');

const DAY = 86_400_000;

async function scenario(person: string, o: { failCheck: boolean; clickAgain?: boolean; days: number }) {
  const id = `u-${person}`;
  const x = `${person}@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: x } });
  await later(60_000);
  const link = unsubscribeUrl(t.engine.url, DEV_UNSUBSCRIBE_KEY, id, 'email', emailAddressHash(x));
  // The page's put of X's denial (its open record and pointer written): the account is erased just before.
  const race = eraseThenFailCheck(hooks, {
    id,
    at: (op, input) => op === 'PutItem' && input.includes(`"AH#${addressHash(x)}"`) && input.includes('"K#email"') && input.includes('"denied"'),
    failCheck: o.failCheck,
    advance: false,
  });
  const clicked = await clickOneClick(link);
  hooks.clear();
  expect(race.erased()).toBe(200);
  expect(race.failed()).toBe(o.failCheck);
  expect(clicked.status).toBe(o.failCheck ? 503 : 200);
  await later(60_000);
  if (o.clickAgain === true) expect((await clickOneClick(link)).status).toBe(200);
  // The daily sweep, as EventBridge Scheduler runs it (this engine's own timer is off).
  for (let day = 0; day < o.days; day++) {
    await later(DAY);
    await t.engine.sweep();
  }
  // Open hold writes naming the account (the id is in one only while it is open).
  const open = (await profileItemsNaming(t.engine, [`"${id}"`])).filter((text) => text.includes('open-hold-write')).length;
  return { xHolds: (await addressItems(x)).length, newcomer: await newcomerOffer(person, x), open };
}

describe("a one-click unsubscribe whose hold of X lands after its customer's erasure, its check failing", () => {
  it("control: the write's check takes X's denial back: a newcomer with X is mailed", async () => {
    expect(await scenario('a33oc-c', { failCheck: false, days: 0 })).toEqual({ xHolds: 0, newcomer: 'sent', open: 0 });
  }, 120_000);

  it('control: the check fails once, the person clicks again: the open write is checked again (not closed, its writer may be in flight), a newcomer is mailed', async () => {
    expect(await scenario('a33oc-r', { failCheck: true, clickAgain: true, days: 0 })).toEqual({ xHolds: 0, newcomer: 'sent', open: 1 });
  }, 120_000);

  it('the check fails once, no retry: after the next sweep (a day) a newcomer with X is mailed', async () => {
    expect(await scenario('a33oc-x', { failCheck: true, days: 1 })).toEqual({ xHolds: 0, newcomer: 'sent', open: 0 });
  }, 120_000);

  it('the check fails once, no retry: a newcomer with X is mailed 48 days later', async () => {
    expect(await scenario('a33oc-y', { failCheck: true, days: 48 })).toEqual({ xHolds: 0, newcomer: 'sent', open: 0 });
  }, 120_000);
});
