/**
 * A write of the erased life that read the profile before the erasure lands on the new life's profile.
 *
 * Promise (issue 10, what a customer who comes back gets): events dated after the erasure start a new, clean profile;
 * nothing of the erased life reaches it, and the new life is not lost. The customer (version 1, address A) is moving
 * to X: the consumer read version 1; before its profile write (`#v = :v`, v = 1; a DynamoDB middleware) the customer is
 * erased and comes back (an identify dated after the erasure, address Y, applied by another instance of the consumer:
 * in AWS another Lambda container): the new life's profile is created at version 1. The erased life's write then
 * passes its condition (version 1 again) and replaces the new life's profile with the erased life's (X, no `rebornAfter`); its check after the write finds the tombstone and undoes the write by
 * deleting the profile: the new life's profile is gone (404), its address Y and everything it held with it.
 * With the new life's unsubscribe applied before the erased life's write lands, the undo takes its denial too (the
 * profile) and frees Y (`#unlistAddressHolder` settles every pointer, Y's with no other holder: its denial goes); a month
 * on (the 30-day consent hold expired) a routine identify with Y and an offer: sent to a person who unsubscribed.
 * Control: the comeback after the erased life's write has failed (its condition on a deleted profile).
 * Found by the 22nd hostile audit. Now: a profile write is conditioned on the life it read as well as its version
 * (`rebornAfter`, absent for the first life): the erased life's write fails on the new life's profile, and its retry
 * drops the event as the erased life's.
 */
import { describe, expect, it } from 'vitest';
import { createProfileConsumer, loadProfileConfig } from '../../functions/profile';
import type { NormalisedEvent } from '../../shared';
import { holdConsumer } from '../helpers/engine';
import { offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, clock, later, offer, latestOffer } = offerScenario({ name: 'a22-aba' });

const hooks = dynamoHooks(t, 'a22Aba');
const profileConfig = loadProfileConfig('workflows');

async function scenario(person: string, racing: boolean, unsubscribes = false) {
  const id = `u-${person}`;
  const y = `${person}-y@example.org`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: `${person}-a@example.org`, plan: 'old-life' } });
  // With `unsubscribes`, the erased life's profile is a few writes on: the new life's unsubscribe fits before its version.
  for (let n = 1; unsubscribes && n <= 3; n++) await t.api.sendAndSettle({ type: 'page', userId: id, name: 'Home', messageId: `${person}-old-page-${n}` });
  await later(60_000);
  const comeback = () => t.api.send([{ type: 'identify', userId: id, messageId: `${person}-back`, traits: { email: y } }]);
  let erased: number | undefined;
  let comebackResult: string | undefined;
  let expected = 0;
  let newLifeVersion: number | undefined;
  if (racing) {
    // The comeback reaches another instance of the consumer (in AWS, another Lambda container; in this process the
    // customer's events would queue behind the erased life's write).
    const held = holdConsumer(t.engine, (event) => event.messageId === `${person}-back` || event.messageId === `${person}-unsub`);
    const other = createProfileConsumer({ store: t.engine.profiles, segment: profileConfig.segmenter, putEvents: async (entries) => t.engine.bus.putEvents(entries), clock, timelineRetentionDays: 365 });
    hooks.set({
      // The erased life's profile write (version 1 read): the customer is erased and comes back first.
      match: (op, input) => {
        if (!(op === 'PutItem' && input.includes(`"C#${id}"`) && input.includes('"profile"') && input.includes('#v = :v'))) return false;
        expected = Number(/":v":(\d+)/.exec(input)![1]);
        return true;
      },
      before: async () => {
        erased = (await t.api.del(`/v1/customers/${id}`)).status;
        // A minute on (nothing is due meanwhile): the comeback is dated and received after the erasure.
        const at = clock.now().getTime() + 60_000;
        while (clock.advance(at));
        await comeback();
        const back = held.held[0]!.event.detail as NormalisedEvent;
        comebackResult = (await other.handleEvent(back)).status;
        if (unsubscribes) {
          // The new life unsubscribes (ingest records the holds; the other instance applies it).
          await t.api.send([{ type: 'track', userId: id, event: 'Unsubscribed', messageId: `${person}-unsub`, properties: { channel: 'email' } }]);
          await other.handleEvent(held.held[1]!.event.detail as NormalisedEvent);
        }
        // The new life's next events (a page view each) bring its profile to the version the erased life's write expects.
        for (let n = 1; ((await t.engine.profiles.get(id))?.version ?? expected) < expected && n < 10; n++) {
          await other.handleEvent({ ...back, type: 'page', name: 'Home', messageId: `${person}-page-${n}`, traits: {} } as NormalisedEvent);
        }
        newLifeVersion = (await t.engine.profiles.get(id))?.version;
      },
    });
    await t.api.send([{ type: 'identify', userId: id, messageId: `${person}-move`, traits: { email: `${person}@example.com` } }]);
    await t.engine.settle();
    // The comeback was delivered (to the other instance): it is not delivered again.
  } else {
    hooks.set({ match: (op, input) => op === 'PutItem' && input.includes(`"C#${id}"`) && input.includes('"profile"') && input.includes('#v = :v'), before: async () => void (erased = (await t.api.del(`/v1/customers/${id}`)).status) });
    await t.api.sendAndSettle({ type: 'identify', userId: id, messageId: `${person}-move`, traits: { email: `${person}@example.com` } });
    await later(60_000);
    await comeback();
    await t.engine.settle();
    if (unsubscribes) await t.api.sendAndSettle({ type: 'track', userId: id, event: 'Unsubscribed', messageId: `${person}-unsub`, properties: { channel: 'email' } });
  }
  hooks.clear();
  await later(60_000);
  expect(erased).toBe(200);
  if (unsubscribes) {
    // A month on (past the 30-day consent hold), a CRM's routine identify with Y, then an offer.
    await later(31 * 86_400_000);
    await t.api.sendAndSettle({ type: 'identify', userId: id, messageId: `${person}-crm`, traits: { email: y } });
    await later(60_000);
    await offer(id, 1);
    return { ...(racing && { sameVersion: newLifeVersion === expected }), offer: await latestOffer(id) };
  }
  const response = await t.api.get(`/v1/customers/${id}`);
  const traits = response.status === 200 ? (response.json.traits as unknown as Record<string, unknown>) : undefined;
  return { ...(racing && { comeback: comebackResult, sameVersion: newLifeVersion === expected }), status: response.status, email: traits?.email, plan: traits?.plan };
}

describe("the erased life's write, read before the erasure, and the comeback's first write", () => {
  it('control: the comeback after the erased life\'s write failed: the new life has Y only', async () => {
    expect(await scenario('a22aba-ctl', false)).toEqual({ status: 200, email: 'a22aba-ctl-y@example.org', plan: undefined });
  }, 60_000);

  it('the customer is erased and comes back between the read and the write: the new life has Y only', async () => {
    expect(await scenario('a22aba', true)).toEqual({ comeback: 'applied', sameVersion: true, status: 200, email: 'a22aba-y@example.org', plan: undefined });
  }, 60_000);

  it("control: the new life unsubscribes, the erased life's write fails: a month on, the new life's offer is skipped", async () => {
    expect(await scenario('a22abu-ctl', false, true)).toEqual({ offer: 'unsubscribed' });
  }, 60_000);

  it("the new life unsubscribes before the erased life's write lands: a month on, the new life's offer is skipped", async () => {
    expect(await scenario('a22abu', true, true)).toEqual({ sameVersion: true, offer: 'unsubscribed' });
  }, 60_000);
});
