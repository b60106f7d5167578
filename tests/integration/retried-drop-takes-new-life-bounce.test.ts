/**
 * The new life's hard bounce of X is swallowed by the erased life's earlier suppression of X (the address keeps the
 * earliest), which the retried drop then deletes: X is left unsuppressed though the new life's mail to it bounced.
 *
 * Promise (issue 10: an address's suppression is never lifted; erasure is complete even while events race it, and
 * what the new life reports stands): X hard-bounces for the account; the consumer applies it; just before its pointer
 * `C#<id>`/`AP#<X>` the customer is erased, the address suppression (`AH#<X>`/`S#email`, `at` a1, received before the
 * erasure) lands after it and its check (the tombstone read) fails once (as retried-drop-bounce-comeback-same-address).
 * Before the retry the customer comes back with X and X hard-bounces again (`at` a2 > a1, received in the new life):
 * `putSuppressionHold` writes X's suppression only over a later one (`#at > :at`), so the new life's is not written;
 * the erased life's stands for both. The retry drops the first bounce (`undoErasedLifeWrites`, the 3fc5382 rule): X's
 * suppression was received before the erasure completed and no other live record has X: deleted. A newcomer with X is
 * mailed (the account is still suppressed by its profile).
 * Control: the new life's bounce comes after the retry: X is suppressed, the newcomer is not mailed.
 * Found by the 27th hostile audit. Now: the new life's bounce, refused over the earlier
 * suppression, adds its event to that suppression's `causes`; the retried drop takes only its own cause out, and X
 * stays suppressed for the new life.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, clock, later, offer, latestOffer, addressItems, newcomerOffer, failedCheckAfterErasure } = offerScenario({ name: 'a27-retried-drop-new-bounce' });

const hooks = dynamoHooks(t, 'a27RetriedDropNewBounce');

async function scenario(person: string, newBounceBeforeRetry: boolean) {
  const id = `u-${person}`;
  const x = `${person}@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: x } });
  await later(60_000);
  const attempt = await failedCheckAfterErasure(hooks, {
    id,
    address: x,
    messageId: `${person}-bounce1`,
    send: () => t.api.send([{ type: 'track', userId: id, event: 'Message Bounced', messageId: `${person}-bounce1`, properties: { channel: 'email', bounceType: 'hard' } }]),
  });
  clock.advance(clock.now().getTime() + 1);
  await hooks.untilProfileWritten(id, () => t.api.send([{ type: 'identify', userId: id, messageId: `${person}-back`, traits: { email: x } }]));
  const bounce2 = { type: 'track', userId: id, event: 'Message Bounced', messageId: `${person}-bounce2`, properties: { channel: 'email', bounceType: 'hard' } };
  if (newBounceBeforeRetry) {
    clock.advance(clock.now().getTime() + 1);
    await hooks.untilProfileWritten(id, () => t.api.send([bounce2]));
    for (let i = 0; i < 200; i++) await new Promise((r) => setImmediate(r));
    expect(attempt.done()).toBe(false);
  }
  expect(await attempt.retried()).toBe(200);
  if (!newBounceBeforeRetry) {
    await t.api.sendAndSettle(bounce2);
    await later(60_000);
  }
  await offer(id, 1);
  return { account: await latestOffer(id), xSuppressed: (await addressItems(x, 'address-suppression')).length, newcomer: await newcomerOffer(person, x) };
}

describe("the new life's bounce of X and the retried drop of the erased life's bounce of X", () => {
  it("control: the new life's bounce comes after the retry: X suppressed, the newcomer is not mailed", async () => {
    expect(await scenario('a27nb-c', false)).toEqual({ account: 'suppressed', xSuppressed: 1, newcomer: 'suppressed' });
  }, 60_000);

  it("the new life's bounce comes before the retry: X stays suppressed, the newcomer is not mailed", async () => {
    expect(await scenario('a27nb-x', true)).toEqual({ account: 'suppressed', xSuppressed: 1, newcomer: 'suppressed' });
  }, 60_000);
});
