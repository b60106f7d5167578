/**
 * Variant of retried-drop-takes-link-denial.test.ts (audit 28) with no failure at all: a plain redelivery of the erased
 * life's unsubscribe deletes the one-click denial of the shared address X that inherited its cause.
 *
 * Promise (issue 10: consent is law, per address; a one-click link denies the address its mail went to, whatever became
 * of the record since): the guest `guest-<p>` and the account `u-<p>` share X; the guest was mailed at X. The account
 * unsubscribes (X denied, `causes` = {that event}) and is erased (the guest has X: X's holds stay). The guest moves to
 * Y, then clicks the one-click link of its old mail to X: `denyAddressOfLink` replaces X's denial (a later key, no
 * causes of its own: the consumer writes the guest's denial for Y) and carries the causes over: {the account's event}.
 * The account comes back with X; EventBridge delivers its old unsubscribe a second time: the consumer drops it
 * (`undoErasedLifeWrites`): X's denial has that event as its only cause, no other live record has X: deleted. The new
 * life and a newcomer with X are mailed though the guest's click on mail to X denied it.
 * Control: no redelivery: X stays denied, nobody with X is mailed.
 * Found by the 28th hostile audit. Now: ingest records the click's event as a cause of the denial it writes: the
 * redelivered unsubscribe's drop takes only its own mark out.
 */
import { describe, expect, it } from 'vitest';
import { holdConsumer } from '../helpers/engine';
import { offerScenario } from '../helpers/address-scenario';
import { PROFILE_CONSUMER_RULE } from '../../infra/topology';

const { t, clock, later, offer, latestOffer, addressItems, guestAndAccount, newcomerOffer, unsubscribeLink, clickOneClick } = offerScenario({ name: 'a28-redelivered-unsub' });

async function scenario(person: string, redelivered: boolean) {
  const { address: x, account, guest } = await guestAndAccount(person);
  await offer(guest, 1);
  expect(await latestOffer(guest)).toBe('sent');
  const link = unsubscribeLink(guest);
  // The account's unsubscribe, delivered now; a copy of the delivery is kept for the second one.
  const held = holdConsumer(t.engine, (event) => event.messageId === `${person}-stop`);
  await t.api.send([{ type: 'track', userId: account, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'email' } }]);
  const copy = { ...held.held[0]! };
  await held.release();
  await later(60_000);
  expect((await t.api.del(`/v1/customers/${account}`)).status).toBe(200);
  await later(60_000);
  await t.api.sendAndSettle({ type: 'identify', userId: guest, messageId: `${person}-move`, traits: { email: `${person}-y@example.org` } });
  clock.advance(clock.now().getTime() + 1);
  expect((await clickOneClick(link)).status).toBe(200);
  await t.engine.settle();
  await later(60_000);
  const clicked = await addressItems(x, '"denied"');
  expect(clicked).toHaveLength(1);
  await t.api.sendAndSettle({ type: 'identify', userId: account, messageId: `${person}-back`, traits: { email: x } });
  await later(60_000);
  if (redelivered) {
    const rule = t.engine.bus.rules.find((r) => r.name === PROFILE_CONSUMER_RULE.engineName)!;
    await rule.target(copy.event, copy.delivery as never);
    await t.engine.settle();
    await later(60_000);
  }
  await offer(account, 1);
  return { xDenied: (await addressItems(x, '"denied"')).length, account: await latestOffer(account), newcomer: await newcomerOffer(person, x) };
}

describe("a redelivery of an erased life's unsubscribe after a one-click denial of the shared address replaced it", () => {
  it('control: no redelivery: X stays denied, nobody with X is mailed', async () => {
    expect(await scenario('a28ru-c', false)).toEqual({ xDenied: 1, account: 'unsubscribed', newcomer: 'unsubscribed' });
  }, 60_000);

  it('the unsubscribe is delivered again after the comeback: X stays denied, nobody with X is mailed', async () => {
    expect(await scenario('a28ru-x', true)).toEqual({ xDenied: 1, account: 'unsubscribed', newcomer: 'unsubscribed' });
  }, 60_000);
});
