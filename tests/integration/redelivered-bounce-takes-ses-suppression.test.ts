/**
 * Variant of retried-drop-takes-ses-suppression.test.ts (audit 28) with no failure at all: a plain redelivery
 * (EventBridge delivers at least once) of the erased life's bounce deletes SES's suppression of the shared address X.
 *
 * Promise (issue 10: an address's suppression is never lifted; one person's two records sharing an address never let
 * a restriction be lost): the guest `guest-<p>` and the account `u-<p>` share X. The guest's mail to X hard-bounces
 * and SES reports it: the feedback function suppresses X (`AH#<X>`/`S#email`, no `causes`). A tool then reports a hard
 * bounce of the account (a later `at`); the consumer applies it: its address suppression is refused (an earlier one is
 * there) and ADDs its event's mark to SES's suppression: `causes` = {that event}. Later the account is erased (the
 * guest has X: X's holds stay), comes back with X, and the guest moves to Y. EventBridge delivers the account's bounce
 * a second time: the consumer drops it as the erased life's (`undoErasedLifeWrites`): X's suppression has that event
 * as its only cause, no other live record has X: deleted. The new life and a newcomer with X are mailed.
 * Control: no redelivery: X stays suppressed, nobody with X is mailed.
 * Found by the 28th hostile audit. Now: the feedback function's suppression records its event (`causes`): the
 * redelivered bounce's drop takes only its own mark out.
 */
import { describe, expect, it } from 'vitest';
import { holdConsumer } from '../helpers/engine';
import { offerScenario } from '../helpers/address-scenario';
import { outboxFor } from '../helpers/journeys';
import { PROFILE_CONSUMER_RULE } from '../../infra/topology';

const { t, later, offer, latestOffer, addressItems, guestAndAccount, newcomerOffer } = offerScenario({ name: 'a28-redelivered-bounce' });

async function scenario(person: string, redelivered: boolean) {
  const { address: x, account, guest } = await guestAndAccount(person);
  await offer(guest, 1);
  expect(await latestOffer(guest)).toBe('sent');
  const mail = outboxFor(t.engine, guest).find((m) => m.channel === 'email')!;
  t.engine.feedback(mail.outboxId, { type: 'bounce', bounceType: 'Permanent' });
  await later(60_000);
  // The account's bounce (a tool's report), delivered now; a copy of the delivery is kept for the second one.
  const held = holdConsumer(t.engine, (event) => event.messageId === `${person}-bounce`);
  await t.api.send([{ type: 'track', userId: account, event: 'Message Bounced', messageId: `${person}-bounce`, properties: { channel: 'email', bounceType: 'hard' } }]);
  const copy = { ...held.held[0]! };
  await held.release();
  await later(60_000);
  const tagged = await addressItems(x, 'address-suppression');
  expect(tagged).toHaveLength(1);
  expect(tagged[0]).toContain('causes');
  expect((await t.api.del(`/v1/customers/${account}`)).status).toBe(200);
  await later(60_000);
  await t.api.sendAndSettle([
    { type: 'identify', userId: account, messageId: `${person}-back`, traits: { email: x } },
    { type: 'identify', userId: guest, messageId: `${person}-move`, traits: { email: `${person}-y@example.org` } },
  ]);
  await later(60_000);
  if (redelivered) {
    const rule = t.engine.bus.rules.find((r) => r.name === PROFILE_CONSUMER_RULE.engineName)!;
    await rule.target(copy.event, copy.delivery as never);
    await t.engine.settle();
    await later(60_000);
  }
  await offer(account, 1);
  return { xSuppressed: (await addressItems(x, 'address-suppression')).length, account: await latestOffer(account), newcomer: await newcomerOffer(person, x) };
}

describe("a redelivery of an erased life's bounce that was refused over SES's suppression of a shared address", () => {
  it('control: no redelivery: X stays suppressed, nobody with X is mailed', async () => {
    expect(await scenario('a28rb-c', false)).toEqual({ xSuppressed: 1, account: 'suppressed', newcomer: 'suppressed' });
  }, 60_000);

  it('the bounce is delivered again after the comeback: X stays suppressed, nobody with X is mailed', async () => {
    expect(await scenario('a28rb-x', true)).toEqual({ xSuppressed: 1, account: 'suppressed', newcomer: 'suppressed' });
  }, 60_000);
});
