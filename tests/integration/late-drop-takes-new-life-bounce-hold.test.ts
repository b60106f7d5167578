/**
 * The erased life's bounce, delivered to the consumer after the customer came back, is dropped; its undo deletes the
 * new life's suppression hold of the same bounce reported again (same date) while that report waits for the consumer.
 *
 * Promise (issue 10, consent is law; a suppression ingest answered for holds from its answer on; nothing of the new
 * life is lost to an erased life's late event): a tool reports the customer's hard bounce (dated T) before the erasure;
 * EventBridge is late to deliver it to the consumer. The customer is erased and comes back. The tool reports the same
 * bounce again (another messageId, still dated T): received after the erasure, it is the new life's; ingest records
 * the suppression hold before it answers (`putSuppressionHold`: `S#email`, `at` T). The first report then reaches the
 * consumer and is dropped (`undoErasedLifeWrites`): its delete of the suppression hold is conditioned only on `at`
 * (T), so the new life's hold goes. Until the consumer applies the second report, the customer is emailed the offer.
 * Control: the first report reaches the consumer before the erasure: the new life's hold stands, the offer is skipped.
 * Found by the 24th hostile audit. Now: the drop takes back a suppression hold only as written for the event and
 * received before the erasure completed (its expiry counts from its receipt): the new life's report keeps ingest's
 * hold.
 */
import { describe, expect, it } from 'vitest';
import { holdConsumer } from '../helpers/engine';
import { offerScenario } from '../helpers/address-scenario';

const { t, clock, later, offer, latestOffer } = offerScenario({ name: 'a24-late-drop-bounce' });

async function scenario(person: string, firstLate: boolean) {
  const id = `u-${person}`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: `${person}-a@example.com` } });
  await later(60_000);
  const bouncedAt = clock.now().toISOString();
  await later(60_000);
  const bounce = (n: number) => ({ type: 'track', userId: id, event: 'Message Bounced', messageId: `${person}-bounce-${n}`, timestamp: bouncedAt, properties: { channel: 'email', bounceType: 'hard' } });
  const first = holdConsumer(t.engine, (event) => event.messageId === `${person}-bounce-1`);
  await t.api.send([bounce(1)]);
  if (!firstLate) await first.release();
  await later(60_000);
  expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
  await later(60_000);
  // The new life: no address yet when the bounce is reported again (no address hold), its address after.
  await t.api.sendAndSettle({ type: 'identify', userId: id, messageId: `${person}-back`, traits: { firstName: 'Back' } });
  await later(60_000);
  const second = holdConsumer(t.engine, (event) => event.messageId === `${person}-bounce-2`);
  await t.api.send([bounce(2)]);
  if (firstLate) await first.release();
  await later(60_000);
  await t.api.sendAndSettle({ type: 'identify', userId: id, messageId: `${person}-a`, traits: { email: `${person}-a@example.com` } });
  await later(60_000);
  await offer(id, 1);
  const result = await latestOffer(id);
  await second.release();
  return result;
}

describe("the erased life's late bounce and the new life's report of it", () => {
  it('control: the first report applied before the erasure: the offer is skipped', async () => {
    expect(await scenario('a24ld-ctl', false)).toBe('suppressed');
  }, 60_000);

  it('the first report reaches the consumer after the comeback: the offer is skipped', async () => {
    expect(await scenario('a24ld', true)).toBe('suppressed');
  }, 60_000);
});
