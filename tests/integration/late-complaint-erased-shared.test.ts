/**
 * A hard bounce or a complaint of email suppresses the address for every record with it (README "Consent"), whatever
 * became of the record the complained message was sent for by the time SES's report arrives (feedback loops report
 * days later). The guest and the account share X; the guest is mailed an offer at X and erased (the account still has
 * X). SES's complaint (resp. hard bounce) of the guest's offer arrives after the erasure completed: the feedback
 * function's suppression of X, written for the erased id, is kept for the account (`#keepForLiveHolder`: the email
 * index lists it with X; the pointer goes under it), not taken back: the account's offer is skipped `suppressed`.
 * Control: the complaint before the erasure.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';
import { outboxFor } from '../helpers/journeys';

const { t, clock, later, offer, latestOffer, addressItems, guestAndAccount } = offerScenario({ name: 'complaint' });

const suppressed = async (address: string) => (await addressItems(address, 'address-suppression')).length === 1;

async function scenario(person: string, kind: 'complaint' | 'hard-bounce', afterErasure: boolean) {
  const { address, account, guest } = await guestAndAccount(person);
  await offer(guest, 1);
  const [mail] = outboxFor(t.engine, guest);
  // SES reports it; with `afterErasure`, EventBridge delivers it to the feedback function only after the erasure.
  const rule = t.engine.bus.rules.find((r) => r.name === 'ses-feedback')!;
  const deliver = rule.target;
  const held: Array<Parameters<typeof deliver>> = [];
  if (afterErasure) rule.target = (...args) => void held.push(args);
  t.engine.feedback(mail!.outboxId, kind === 'complaint' ? { type: 'complaint' } : { type: 'bounce', bounceType: 'Permanent' });
  await clock.idle();
  rule.target = deliver;
  expect(held).toHaveLength(afterErasure ? 1 : 0);
  await later(60_000);
  expect((await t.api.del(`/v1/customers/${guest}`)).status).toBe(200);
  await t.engine.settle();
  await later(3_600_000);
  await Promise.all(held.map((args) => Promise.resolve(deliver(...args))));
  await clock.idle();
  await t.engine.settle();
  await later(60_000);
  await offer(account, 1);
  return { addressSuppressed: await suppressed(address), accountOffer: await latestOffer(account) };
}

describe('a late SES complaint about mail to an erased record whose address a live record shares', () => {
  it('control: the complaint before the erasure suppresses the address for the account', async () => {
    expect(await scenario('a17c-ctl', 'complaint', false)).toEqual({ addressSuppressed: true, accountOffer: 'suppressed' });
  }, 60_000);

  it('a complaint after the erasure still suppresses the address the live account has', async () => {
    expect(await scenario('a17c', 'complaint', true)).toEqual({ addressSuppressed: true, accountOffer: 'suppressed' });
  }, 60_000);

  it('a hard bounce after the erasure still suppresses the address the live account has', async () => {
    expect(await scenario('a17b', 'hard-bounce', true)).toEqual({ addressSuppressed: true, accountOffer: 'suppressed' });
  }, 60_000);
});
