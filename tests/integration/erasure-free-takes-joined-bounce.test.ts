/**
 * The erasure frees an address nobody live has by deleting its holds as it read them (`#deleteAsRead`: by `at`, not by
 * version): a tool's bounce of another record naming the address, received while the erasure runs, finds the earlier
 * suppression there, joins its causes (same `at`, v 2), and the erasure's delete, by `at`, takes it with the erased
 * record's. The same bounce received just after the erasure suppresses the address for good.
 *
 * Promise (issue 10: erasure removes everything even while events race it, and never lets a denial be lost; a
 * suppression is the address's, never lifted): the guest `guest-<p>` has X and bounced (X suppressed). The lead `l-<p>`
 * (address Y) gets a tool's hard bounce naming X (`context.traits.email`; the consumer never writes a named bounce's
 * address again). The guest is erased; nobody live has X. Break: the lead's bounce lands as the erasure is about to
 * delete X's suppression: X ends unsuppressed, a newcomer with X is mailed. Control: the lead's bounce lands after the
 * erasure: X stays suppressed, the newcomer is not mailed. Written in the 30th audit.
 * Found by the 30th hostile audit. Now: the erasure deletes an address's hold by version: the bounce that joined it made another
 * version, so the delete is refused and X stays suppressed.
 */
import { describe, expect, it } from 'vitest';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, clock, later, addressItems, newcomerOffer } = offerScenario({ name: 'a30-free-bounce' });
const hooks = dynamoHooks(t, 'a30FreeBounce');

async function scenario(person: string, during: boolean) {
  const x = `${person}@example.com`;
  const guest = `guest-${person}`;
  const lead = `l-${person}`;
  await t.api.sendAndSettle([
    { type: 'identify', userId: guest, messageId: `${person}-g-x`, traits: { email: x } },
    { type: 'identify', userId: lead, messageId: `${person}-l-y`, traits: { email: `${person}-y@example.org` } },
  ]);
  await later(60_000);
  await t.api.sendAndSettle({ type: 'track', userId: guest, event: 'Message Bounced', messageId: `${person}-g-bounce`, properties: { channel: 'email', bounceType: 'hard' } });
  await later(60_000);
  const before = (await addressItems(x, 'address-suppression')).length;
  const versionOf = (text: string) => JSON.stringify((JSON.parse(text) as { v?: unknown }).v);
  const firstVersion = (await addressItems(x, 'address-suppression')).map(versionOf)[0];
  const leadBounce = () =>
    t.api.send({ type: 'track', userId: lead, event: 'Message Bounced', messageId: `${person}-l-bounce`, properties: { channel: 'email', bounceType: 'hard' }, context: { traits: { email: x } } });
  let raced = false;
  if (during) {
    hooks.set({
      match: (op, input) => op === 'DeleteItem' && input.includes(`AH#${addressHash(x)}`) && input.includes('"S#email"'),
      before: async () => {
        clock.advance(clock.now().getTime() + 1);
        await leadBounce();
        // The lead's bounce joined X's suppression (a new version) before the erasure's delete goes out.
        raced = (await addressItems(x, 'address-suppression')).some((text) => versionOf(text) !== firstVersion);
      },
    });
  }
  expect((await t.api.del(`/v1/customers/${guest}`)).status).toBe(200);
  hooks.clear();
  if (!during) {
    clock.advance(clock.now().getTime() + 1);
    await leadBounce();
  }
  await t.engine.settle();
  await later(60_000);
  return { before, raced, xSuppressed: (await addressItems(x, 'address-suppression')).length, newcomer: await newcomerOffer(person, x) };
}

describe("an erasure freeing an address races another record's bounce naming it", () => {
  it("control: the lead's bounce lands after the erasure: X stays suppressed", async () => {
    expect(await scenario('a30fb-c', false)).toEqual({ before: 1, raced: false, xSuppressed: 1, newcomer: 'suppressed' });
  }, 60_000);

  it("the lead's bounce lands as the erasure deletes X's suppression: X stays suppressed", async () => {
    expect(await scenario('a30fb-g', true)).toEqual({ before: 1, raced: true, xSuppressed: 1, newcomer: 'suppressed' });
  }, 60_000);
});
