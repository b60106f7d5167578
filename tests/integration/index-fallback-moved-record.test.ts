/**
 * Erasure's email-index fallback confirms each record the index lists by its profile: with the index lagging (the
 * twin's 120 s, here on the engine through the same option), a guest that moved away from X two seconds before the
 * last holder's erasure is not counted as X's holder, so X's denial goes with the erasure and a newcomer at X a week
 * later is mailed. Control: the guest moved ten minutes before.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';

const SECOND = 1000;
const { t, later, offer, latestOffer, addressItems, guestAndAccount } = offerScenario({
  name: 'a19-index-fallback',
  engine: { twin: { seed: 19, maxDelayMs: SECOND, duplicateProbability: 0, indexLagMs: 120_000 } },
});

async function scenario(person: string, movedAgoMs: number) {
  const { address, account, guest } = await guestAndAccount(person);
  await later(600_000);
  await t.api.sendAndSettle({ type: 'track', userId: account, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'email' } });
  await later(86_400_000);
  await t.api.sendAndSettle({ type: 'identify', userId: guest, traits: { email: `${person}-new@example.org` } });
  await later(movedAgoMs);
  expect((await t.api.del(`/v1/customers/${account}`)).status).toBe(200);
  await t.engine.settle();
  await later(600_000);
  const kept = (await addressItems(address, 'address-consent')).length;
  // A week on, a new account signs up with X.
  await later(7 * 86_400_000);
  const newcomer = `new-${person}`;
  await t.api.sendAndSettle({ type: 'identify', userId: newcomer, traits: { email: address } });
  await later(60_000);
  await offer(newcomer, 1);
  return { kept, newcomerOffer: await latestOffer(newcomer) };
}

describe('an erasure right after the other record with the address moved away from it (indexes lag 120 s)', () => {
  it('control: the guest moved ten minutes before: the address is freed with the account', async () => {
    expect(await scenario('a19if-ctl', 600_000)).toEqual({ kept: 0, newcomerOffer: 'sent' });
  }, 60_000);

  it('the guest moved two seconds before: the address is freed with the account', async () => {
    expect(await scenario('a19if', 2 * SECOND)).toEqual({ kept: 0, newcomerOffer: 'sent' });
  }, 60_000);
});
