/**
 * A one-click denial of the shared address X, given from the guest's old mail after the guest moved away, replaces the
 * erased life's late denial of X and inherits its cause: the retried drop of the erased life's unsubscribe deletes it.
 *
 * Promise (issue 10: consent is law, per address; a one-click link denies the address its mail went to, whatever became
 * of the record since; a denial received after a grant wins): the guest `guest-<p>` and the account `u-<p>` share X,
 * and the guest was mailed at X. The account unsubscribes; the consumer's write of X's denial (`AH#<X>`/`K#email`,
 * `causes` = {that event}) lands just after the account's erasure and its check (the tombstone read) fails once. The
 * guest moves to Y, then clicks the one-click link of its old mail to X: `denyAddressOfLink` puts X's denial (a later
 * key, no causes of its own) and carries the replaced denial's causes over: {the account's event}. The consumer writes
 * the guest's denial for Y only (its address now). The account comes back with X; the retry drops the account's
 * unsubscribe (`undoErasedLifeWrites`): X's denial has that event as its only cause and no other live record has X:
 * `#takeCause` deletes the guest's click. The account's new life and a newcomer with X are mailed.
 * Control: the guest clicks while it still has X (the consumer's write adds the click's cause), then moves to Y: X
 * stays denied.
 * Found by the 28th hostile audit. Now: ingest records the click's event as a cause of the denial it writes (`causes` carried over
 * with it): the drop takes only the erased life's mark out.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, clock, offer, latestOffer, addressItems, guestAndAccount, newcomerOffer, unsubscribeLink, clickOneClick, failedCheckAfterErasure } = offerScenario({ name: 'a28-link-denial' });

const hooks = dynamoHooks(t, 'a28LinkDenial');

async function scenario(person: string, movesBeforeClick: boolean) {
  const { address: x, account, guest } = await guestAndAccount(person);
  await offer(guest, 1);
  expect(await latestOffer(guest)).toBe('sent');
  const link = unsubscribeLink(guest);
  const attempt = await failedCheckAfterErasure(hooks, { id: account, address: x, messageId: `${person}-stop`, send: () => t.api.send([{ type: 'track', userId: account, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'email' } }]) });
  // No time let pass until the comeback (the retry waits on the clock).
  const move = async () => {
    await t.api.send([{ type: 'identify', userId: guest, messageId: `${person}-move`, traits: { email: `${person}-y@example.org` } }]);
    await clock.idle();
  };
  if (movesBeforeClick) await move();
  clock.advance(clock.now().getTime() + 1);
  expect((await clickOneClick(link)).status).toBe(200);
  await clock.idle();
  if (!movesBeforeClick) await move();
  const beforeRetry = await addressItems(x, '"denied"');
  // Before the retry: the account comes back with X.
  clock.advance(clock.now().getTime() + 1);
  await t.api.send([{ type: 'identify', userId: account, messageId: `${person}-back`, traits: { email: x } }]);
  expect(await attempt.retried()).toBe(200);
  expect(beforeRetry).toHaveLength(1);
  await offer(account, 1);
  return { xDenied: (await addressItems(x, '"denied"')).length, account: await latestOffer(account), newcomer: await newcomerOffer(person, x) };
}

describe("a one-click denial replacing an erased life's late denial of a shared address, then the retried drop", () => {
  it('control: the guest clicks while it has X, then moves: X stays denied, nobody with X is mailed', async () => {
    expect(await scenario('a28ld-c', false)).toEqual({ xDenied: 1, account: 'unsubscribed', newcomer: 'unsubscribed' });
  }, 60_000);

  it('the guest moved before clicking: X stays denied, nobody with X is mailed', async () => {
    expect(await scenario('a28ld-m', true)).toEqual({ xDenied: 1, account: 'unsubscribed', newcomer: 'unsubscribed' });
  }, 60_000);
});
