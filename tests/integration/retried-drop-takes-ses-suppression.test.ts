/**
 * A retried drop of an erased life's bounce deletes the SES suppression of the shared address X that another record's
 * mail earned: the erased life's refused write made SES's cause-less suppression look like its own.
 *
 * Promise (issue 10: an address's suppression is never lifted; one person's two records sharing an address never let
 * a restriction be lost): the guest `guest-<p>` and the account `u-<p>` share X. The guest's offer to X hard-bounces
 * and SES reports it: the feedback function suppresses X (`AH#<X>`/`S#email`, no `causes`: the consumer never writes
 * an address hold for SES's feedback). Later a tool reports a hard bounce of the account (a later `at`). The consumer
 * applies it; just before its pointer `C#<id>`/`AP#<X>` the account is erased (the guest is live with X: X's holds
 * stay). Its address suppression is refused (X holds an earlier one), so `#putAddressHold` ADDs the event's mark to
 * SES's suppression: `causes` = {that event}. The check (tombstone read) fails once. Before the retry the account comes
 * back with X and the guest moves to Y. The retry drops the bounce (`undoErasedLifeWrites`): X's suppression has this
 * event as its only cause and no other live record has X: `#takeCause` deletes it. The account's new life and a
 * newcomer with X are mailed though SES reported X as a hard bounce.
 * Control: the guest keeps X (a live holder): the suppression stays, nobody with X is mailed.
 * Found by the 28th hostile audit. Now: the feedback function's suppression records its event (`causes`), so the refused write
 * relies on a restriction with a cause of its own: the drop takes only its own mark out.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';
import { outboxFor } from '../helpers/journeys';

const { t, clock, later, offer, latestOffer, addressItems, guestAndAccount, newcomerOffer, failedCheckAfterErasure } = offerScenario({ name: 'a28-ses-suppression' });

const hooks = dynamoHooks(t, 'a28SesSuppression');

async function scenario(person: string, guestMoves: boolean) {
  const { address: x, account, guest } = await guestAndAccount(person);
  // The guest's mail to X hard-bounces; SES's report reaches the feedback function.
  await offer(guest, 1);
  expect(await latestOffer(guest)).toBe('sent');
  const mail = outboxFor(t.engine, guest).find((m) => m.channel === 'email')!;
  t.engine.feedback(mail.outboxId, { type: 'bounce', bounceType: 'Permanent' });
  await later(60_000);
  const ses = await addressItems(x, 'address-suppression');
  expect(ses).toHaveLength(1);
  // A tool's hard bounce of the account (a later `at`): its consumer write races the account's erasure.
  const attempt = await failedCheckAfterErasure(hooks, { id: account, address: x, messageId: `${person}-bounce`, send: () => t.api.send([{ type: 'track', userId: account, event: 'Message Bounced', messageId: `${person}-bounce`, properties: { channel: 'email', bounceType: 'hard' } }]) });
  const beforeRetry = await addressItems(x, 'address-suppression');
  // Before the retry: the account comes back with X; the guest moves to Y (or keeps X).
  clock.advance(clock.now().getTime() + 1);
  await t.api.send([
    { type: 'identify', userId: account, messageId: `${person}-back`, traits: { email: x } },
    ...(guestMoves ? [{ type: 'identify', userId: guest, messageId: `${person}-move`, traits: { email: `${person}-y@example.org` } }] : []),
  ]);
  expect(await attempt.retried()).toBe(200);
  expect(beforeRetry).toHaveLength(1);
  // The refused write's mark is SES's suppression's only cause now.
  expect(beforeRetry[0]).toContain('causes');
  await offer(account, 1);
  return { xSuppressed: (await addressItems(x, 'address-suppression')).length, account: await latestOffer(account), newcomer: await newcomerOffer(person, x) };
}

describe("a retried drop of an erased life's bounce refused over SES's suppression of a shared address", () => {
  it('control: the guest keeps X: X stays suppressed, nobody with X is mailed', async () => {
    expect(await scenario('a28ses-c', false)).toEqual({ xSuppressed: 1, account: 'suppressed', newcomer: 'suppressed' });
  }, 60_000);

  it("the guest moved away: X stays suppressed, nobody with X is mailed", async () => {
    expect(await scenario('a28ses-m', true)).toEqual({ xSuppressed: 1, account: 'suppressed', newcomer: 'suppressed' });
  }, 60_000);
});
