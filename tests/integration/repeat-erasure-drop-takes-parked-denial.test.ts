/**
 * After a repeated erasure (a DSAR tool's retry), a late event of the erased life, dropped after the comeback, deletes
 * the address denial of the new life: the unsubscribe received between the two erasures, parked for the comeback.
 *
 * Promise (issue 10: consent is law; a denial received after the erasure completed is the next life's, whatever
 * erasures repeat it: `Tombstone.erasedSince`, `receivedAfterErasure`): the account has X; an event of it is held by
 * EventBridge (received before the erasure). It is erased (completes C1); an unsubscribe of the account is received
 * (R > C1: parked); the DSAR tool repeats the erasure (`erasedSince` = C1, completes C2 > R). The customer comes back
 * with X: the parked denial is folded in (the profile denied, X denied with key R). Then the held event is dropped
 * (`undoErasedLifeWrites`, new life branch): it judges X's holds by `completedAt` (C2), not by `erasedSince`: R < C2,
 * so the new life's denial of X is taken as the erased life's and deleted (no other record has X). A newcomer with X
 * is mailed. Control: no late event; or one erasure only (then `completedAt` is C1 < R): X stays denied.
 * Found by the 27th hostile audit. Now: the undo takes back only holds the dropped event
 * caused (`causes`), not holds judged by receipt: the denial the new life folded in is another event's.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';

const { t, clock, later, offer, latestOffer, addressItems, newcomerOffer, lateEventThenErasure } = offerScenario({ name: 'a27-repeat-erasure-drop' });

async function scenario(person: string, lateEvent: boolean, repeated: boolean) {
  const id = `u-${person}`;
  const x = `${person}@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: x } });
  await later(60_000);
  const held = await lateEventThenErasure(person, id, lateEvent);
  await t.api.sendAndSettle({ type: 'track', userId: id, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'email' } });
  await later(60_000);
  if (repeated) expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
  await later(60_000);
  clock.advance(clock.now().getTime() + 1);
  await t.api.sendAndSettle({ type: 'identify', userId: id, messageId: `${person}-back`, traits: { email: x } });
  await later(60_000);
  const before = (await addressItems(x, '"denied"')).length;
  await held.release();
  await later(60_000);
  const c = (await t.api.customer(id)) as { consent: Record<string, { status: string } | undefined> };
  await offer(id, 1);
  return { before, consent: c.consent.email?.status, xDenied: (await addressItems(x, '"denied"')).length, account: await latestOffer(id), newcomer: await newcomerOffer(person, x) };
}

const denied = { before: 1, consent: 'denied', xDenied: 1, account: 'unsubscribed', newcomer: 'unsubscribed' };

describe("a late drop after a repeated erasure and the new life's parked denial of X", () => {
  it('control: repeated erasure, no late event: X stays denied', async () => {
    expect(await scenario('a27re-cn', false, true)).toEqual(denied);
  }, 60_000);

  it('control: one erasure, a late event: X stays denied', async () => {
    expect(await scenario('a27re-c1', true, false)).toEqual(denied);
  }, 60_000);

  it('repeated erasure, a late event: X stays denied', async () => {
    expect(await scenario('a27re-rl', true, true)).toEqual(denied);
  }, 60_000);
});
