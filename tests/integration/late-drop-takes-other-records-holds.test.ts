/**
 * A late event of an erased life, dropped after the customer came back with the same address X, deletes the denial
 * or the suppression of X that ANOTHER record (the guest checkout sharing X) gave before the erasure.
 *
 * Promise (issue 10: consent is law, per address; one person's two records sharing an address never let a denial be
 * lost; an address's suppression is never lifted): the guest `guest-<p>` and the account `u-<p>` share X; the GUEST
 * unsubscribes (or X hard-bounces for it): X is denied (`AH#<X>`/`K#email`) or suppressed (`S#email`). An event of
 * the account is held by EventBridge (received before the erasure). The ACCOUNT is erased: the guest still has X, so
 * X's holds are kept for it. The account comes back with X (a new life; X still denied/suppressed: correct). Then the
 * guest is joined into the account by an alias (or moves to Y, or is erased itself: the erasure keeps X's holds for the
 * account's new life). Now the held event reaches the consumer, which drops it (`undoErasedLifeWrites`, new life
 * branch, the 3fc5382 rule): every hold of X received before the account's erasure completed is taken as the erased
 * life's and deleted, as no other live record has X (the guest is frozen, moved or erased). None of them was the erased
 * life's: the guest's. The account (moved, erased) or a newcomer with X (all three) is mailed.
 * Control: no late event, X stays denied/suppressed; or the guest is still live with X: the late drop keeps it.
 * Found by the 27th hostile audit. Now: an address's hold records the events that put
 * it or rely on it (`causes`); the undo of a dropped event takes back only holds it caused, so the guest's stays.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';

const { t, later, offer, latestOffer, addressItems, guestAndAccount, newcomerOffer, lateEventThenErasure } = offerScenario({ name: 'a27-drop-other-holds' });

type Hold = 'denial' | 'bounce';
type Guest = 'joined' | 'moved' | 'erased' | 'live';

async function scenario(person: string, hold: Hold, guestThen: Guest, lateEvent: boolean) {
  const { address: x, account, guest } = await guestAndAccount(person);
  // The guest's choice (or report) of X, before the account's erasure.
  await t.api.sendAndSettle(
    hold === 'denial'
      ? { type: 'track', userId: guest, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'email' } }
      : { type: 'track', userId: guest, event: 'Message Bounced', messageId: `${person}-bounce`, properties: { channel: 'email', bounceType: 'hard' } },
  );
  await later(60_000);
  const held = await lateEventThenErasure(person, account, lateEvent);
  await t.api.sendAndSettle({ type: 'identify', userId: account, messageId: `${person}-back`, traits: { email: x } });
  await later(60_000);
  if (guestThen === 'joined') await t.api.sendAndSettle({ type: 'alias', userId: account, previousId: guest, messageId: `${person}-join` });
  if (guestThen === 'moved') await t.api.sendAndSettle({ type: 'identify', userId: guest, messageId: `${person}-move`, traits: { email: `${person}-y@example.org` } });
  if (guestThen === 'erased') expect((await t.api.del(`/v1/customers/${guest}`)).status).toBe(200);
  await later(60_000);
  const kind = hold === 'denial' ? '"denied"' : 'address-suppression';
  const before = (await addressItems(x, kind)).length;
  await held.release();
  await later(60_000);
  await offer(account, 1);
  return { before, xHeld: (await addressItems(x, kind)).length, account: await latestOffer(account), newcomer: await newcomerOffer(person, x) };
}

const skipped = (hold: Hold) => (hold === 'denial' ? 'unsubscribed' : 'suppressed');

describe("a late drop of an erased life's event and another record's hold of the shared address", () => {
  for (const hold of ['denial', 'bounce'] as const) {
    const h = hold[0];
    it(`control (${hold}): no late event, the guest joined: X keeps it, nobody is mailed`, async () => {
      expect(await scenario(`a27oh-${h}cn`, hold, 'joined', false)).toEqual({ before: 1, xHeld: 1, account: skipped(hold), newcomer: skipped(hold) });
    }, 60_000);
    it(`control (${hold}): the guest still has X: the late drop keeps X's ${hold}`, async () => {
      expect(await scenario(`a27oh-${h}cl`, hold, 'live', true)).toEqual({ before: 1, xHeld: 1, account: skipped(hold), newcomer: skipped(hold) });
    }, 60_000);
    for (const guestThen of ['joined', 'moved', 'erased'] as const) {
      it(`${hold}, the guest ${guestThen}: the late drop keeps X's ${hold}`, async () => {
        expect(await scenario(`a27oh-${h}${guestThen[0]}`, hold, guestThen, true)).toEqual({ before: 1, xHeld: 1, account: skipped(hold), newcomer: skipped(hold) });
      }, 60_000);
    }
  }
});
