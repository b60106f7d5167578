/**
 * A late event of an erased life, dropped after the customer came back, frees the suppression of an address a bounce
 * of the new life named, because the bounce is dated before the erasure.
 *
 * Promise (issue 10, consent is law; an address's suppression is the address's, never lifted): the customer is
 * erased and comes back (a new life, address A2). A hard bounce of a message sent before the erasure is reported
 * after the comeback naming the address it went to, B (`context.traits.email`): ingest suppresses B (`AH#<B>`/`S#email`,
 * `at` the message's date) and points the new life's partition to B (`AP#<B>`). Then an event of the erased life held
 * by EventBridge (received before the erasure) reaches the consumer, which drops it (`undoErasedLifeWrites`, new life
 * branch): B is a pointed address the new life does not have nor is listed under, and its holds are judged "all
 * received before the erasure completed" by `key ?? at`; a suppression's `at` is the bounce's date, not its receipt,
 * so B is settled as the erased life's and its suppression deleted. A newcomer with B is mailed.
 * Control: no late event: B stays suppressed.
 * Found by the 25th hostile audit.
 * Found by the 25th hostile audit. Now: an address suppression records its receipt (`receivedAt`); the drop's undo
 * judges a hold by its receipt (a consent's key, a suppression's `receivedAt`) and keeps a hold that has none.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';

const { t, clock, later, addressItems, newcomerOffer, lateEventThenErasure } = offerScenario({ name: 'a25-drop-named-bounce' });

async function scenario(person: string, lateEvent: boolean) {
  const id = `u-${person}`;
  const b = `${person}-b@example.org`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: `${person}-a@example.com` } });
  await later(60_000);
  const sentAt = clock.now().toISOString();
  const held = await lateEventThenErasure(person, id, lateEvent);
  await t.api.sendAndSettle({ type: 'identify', userId: id, messageId: `${person}-back`, traits: { email: `${person}-a2@example.com` } });
  await later(60_000);
  await t.api.sendAndSettle({ type: 'track', userId: id, event: 'Message Bounced', messageId: `${person}-bounce`, timestamp: sentAt, properties: { channel: 'email', bounceType: 'hard' }, context: { traits: { email: b } } });
  await later(60_000);
  const before = (await addressItems(b, 'address-suppression')).length;
  await held.release();
  await later(60_000);
  return { before, bSuppressed: (await addressItems(b, 'address-suppression')).length, newcomer: await newcomerOffer(person, b) };
}

describe("an erased life's late event dropped after a bounce of the new life named an address", () => {
  it('control: no late event: B stays suppressed', async () => {
    expect(await scenario('a25db-ctl', false)).toEqual({ before: 1, bSuppressed: 1, newcomer: 'suppressed' });
  }, 60_000);

  it('the late event is dropped: B stays suppressed', async () => {
    expect(await scenario('a25db', true)).toEqual({ before: 1, bSuppressed: 1, newcomer: 'suppressed' });
  }, 60_000);
});
