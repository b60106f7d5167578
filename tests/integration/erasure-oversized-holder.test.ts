/**
 * An erasure of one record whose address a profile too large to unpack also has (stored before the profile limits).
 *
 * Promise (issue 10, erasure is complete; an address's holds stay while a live record has it): DELETE of a customer
 * erases them whatever other records hold; a profile too large to unpack "can still be erased, not shown" (README,
 * tests/integration/erasure-oversized.test.ts). The guest's profile was stored before the limits (5 MiB of traits) with
 * address X; the account gets X and unsubscribes (X denied); the account is erased. The erasure looks for X's live
 * holders (`#liveHolderOf`) and reads each listed profile in full (`get`), the guest's too: that read throws
 * (ProfileTooLargeError), so the erasure fails: DELETE answers 503 (retried, it fails the same) and the account's items stay. Control: the
 * same with a guest of ordinary size.
 * Found by the 22nd hostile audit. Now: a holder whose profile is too large to unpack is judged by its item's attributes
 * beside the body (`heldEmail`/`heldNumber`, its email index key): the erasure completes and X stays denied for it.
 */
import { describe, expect, it } from 'vitest';
import { emptyProfile } from '../../functions/profile';
import { profileItems } from '../helpers/engine';
import { offerScenario } from '../helpers/address-scenario';

const { t, clock, later, addressItems } = offerScenario({ name: 'a22-oversized-holder' });

async function scenario(person: string, oversized: boolean) {
  const x = `${person}@example.com`;
  const guest = `guest-${person}`;
  const account = `u-${person}`;
  // As written before the limits: the guest with X (listed under it), 5 MiB of traits when oversized.
  const profile = { ...emptyProfile(guest, clock.now().toISOString()), traits: { email: x, ...(oversized && { bio: 'x'.repeat(5 * 1024 * 1024) }) } };
  await t.engine.profiles.put({ profile, applied: [], outbox: [], version: 1 }, undefined, clock.now());
  await t.api.sendAndSettle({ type: 'identify', userId: account, traits: { email: x } });
  await later(60_000);
  await t.api.sendAndSettle({ type: 'track', userId: account, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'email' } });
  await later(60_000);
  const erased = (await t.api.del(`/v1/customers/${account}`)).status;
  await t.engine.settle();
  return {
    erased,
    accountItems: (await profileItems(t.engine, (text) => text.includes(`"C#${account}"`))).length,
    addressDenied: (await addressItems(x, '"denied"')).length,
  };
}

describe("an account's erasure, its address shared with a profile too large to unpack", () => {
  it('control: a guest of ordinary size: the account is erased, X stays denied for the guest', async () => {
    expect(await scenario('a22ovh-ctl', false)).toEqual({ erased: 200, accountItems: 0, addressDenied: 1 });
  }, 60_000);

  it('an oversized guest: the account is erased, X stays denied for the guest', async () => {
    expect(await scenario('a22ovh', true)).toEqual({ erased: 200, accountItems: 0, addressDenied: 1 });
  }, 60_000);
});
