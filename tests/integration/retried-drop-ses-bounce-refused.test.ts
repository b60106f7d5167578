/**
 * SES's hard bounce of the shared address X, refused over the erased life's late suppression of X (the address keeps
 * the earliest), leaves no cause on it: the retried drop of the erased life's bounce deletes X's suppression.
 *
 * Promise (issue 10: an address's suppression is never lifted; one person's two records sharing an address never let
 * a restriction be lost): the guest `guest-<p>` and the account `u-<p>` share X; the guest was mailed. A tool reports
 * a hard bounce of the account (`at` a1); the consumer applies it; just before its pointer `C#<id>`/`AP#<X>` the
 * account is erased (the guest is live with X), its address suppression (`AH#<X>`/`S#email`, `causes` = {that event})
 * lands and its check (the tombstone read) fails once. Then SES reports the guest's mail to X as a hard bounce (`at`
 * a2 > a1): the feedback function's `putSuppressionHold` is refused (an earlier suppression is there) and, having no
 * `causes` of its own, adds none: X's suppression still stands for the erased life's event alone. The account comes
 * back with X, the guest moves to Y; the retry drops the bounce (`undoErasedLifeWrites`): no other live record has X,
 * the suppression's only cause is the dropped event: deleted. A newcomer with X and the account's new life are mailed
 * though SES reported X as a hard bounce.
 * Control: SES's report comes after the retry: it writes X's suppression itself; nobody with X is mailed.
 * Found by the 28th hostile audit (the refused-write rule of e0da8c5 covered profile writers only). Now: the feedback function's write records its event; refused over the erased life's suppression it
 * joins that suppression's causes (read, then put), so the drop leaves it.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';
import { outboxFor } from '../helpers/journeys';

const { t, clock, offer, latestOffer, addressItems, guestAndAccount, newcomerOffer, failedCheckAfterErasure } = offerScenario({ name: 'a28-ses-refused' });

const hooks = dynamoHooks(t, 'a28SesRefused');

async function scenario(person: string, sesBeforeRetry: boolean) {
  const { address: x, account, guest } = await guestAndAccount(person);
  await offer(guest, 1);
  expect(await latestOffer(guest)).toBe('sent');
  const mail = outboxFor(t.engine, guest).find((m) => m.channel === 'email')!;
  // SES's report, the feedback function run and its event applied (no time let pass: the retry waits on the clock).
  const sesBounce = async () => {
    t.engine.feedback(mail.outboxId, { type: 'bounce', bounceType: 'Permanent' });
    await clock.idle();
  };
  // A tool's hard bounce of the account: its consumer write races the account's erasure.
  const attempt = await failedCheckAfterErasure(hooks, { id: account, address: x, messageId: `${person}-bounce`, send: () => t.api.send([{ type: 'track', userId: account, event: 'Message Bounced', messageId: `${person}-bounce`, properties: { channel: 'email', bounceType: 'hard' } }]) });
  // SES reports the guest's mail to X as a hard bounce (a later `at`), before the retry (or after it: the control).
  clock.advance(clock.now().getTime() + 1);
  if (sesBeforeRetry) await sesBounce();
  const beforeRetry = await addressItems(x, 'address-suppression');
  // Before the retry: the account comes back with X; the guest moves to Y.
  clock.advance(clock.now().getTime() + 1);
  await t.api.send([
    { type: 'identify', userId: account, messageId: `${person}-back`, traits: { email: x } },
    { type: 'identify', userId: guest, messageId: `${person}-move`, traits: { email: `${person}-y@example.org` } },
  ]);
  expect(await attempt.retried()).toBe(200);
  if (sesBeforeRetry) {
    // X's suppression is the erased life's (its event the only cause), SES's refused over it.
    expect(beforeRetry).toHaveLength(1);
    expect(beforeRetry[0]).toContain('causes');
  } else await sesBounce();
  await offer(account, 1);
  return { xSuppressed: (await addressItems(x, 'address-suppression')).length, account: await latestOffer(account), newcomer: await newcomerOffer(person, x) };
}

describe("SES's bounce of a shared address refused over an erased life's late suppression, then the retried drop", () => {
  it("control: SES's report comes after the retry: X suppressed, nobody with X is mailed", async () => {
    expect(await scenario('a28sr-c', false)).toEqual({ xSuppressed: 1, account: 'suppressed', newcomer: 'suppressed' });
  }, 60_000);

  it("SES's report comes before the retry: X stays suppressed, nobody with X is mailed", async () => {
    expect(await scenario('a28sr-x', true)).toEqual({ xSuppressed: 1, account: 'suppressed', newcomer: 'suppressed' });
  }, 60_000);
});
