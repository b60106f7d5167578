/**
 * The erased life's write that fails its condition unlists the customer's new life, whose first write is in flight,
 * from the number they share: the new life's STOP is later lost with another record's erasure.
 *
 * Promise (issue 10, one person's two records sharing a number never let a denial be lost; consent is law): while a
 * live record has the number, its STOP stands. The guest (number N) and the customer (number M) are one person. The
 * customer moves to N: the consumer read the profile (version 1) and lists them under N; before its profile write (a
 * DynamoDB middleware) the customer is erased and comes back at once (an identify with N dated after the erasure,
 * applied by another instance of the consumer), whose first write lists the new life under N (the same listing item,
 * now with `life`) and waits before its profile write. The erased life's write then fails its condition (no profile):
 * `put` finds the customer erased (`erasedNow`: no new life has a profile yet) and unlists them
 * (`#unlistAddressHolder`: every pointer of the partition settled with no erasure given, so no listing of a new life on
 * its way is spared): the new life's listing under N goes. Its profile then lands with N (and `heldNumber` N: it is never
 * listed again). The customer texts STOP (N denied, for the guest too); the guest is erased: N's live holders are found by
 * their listings only (no index for numbers): none, so N's denial is freed. A newcomer with N is texted the offer.
 * Control: the comeback after the erased life's write failed: the new life stays listed, N stays denied.
 * Found by the 23rd hostile audit. Now: a write that fails its condition for an erased customer unlists them with the
 * erasure given (`#unlistAddressHolder` reads the tombstone): a new life's listing on its way is spared.
 */
import { describe, expect, it } from 'vitest';
import { createProfileConsumer, loadProfileConfig } from '../../functions/profile';
import type { NormalisedEvent } from '../../shared';
import { holdConsumer } from '../helpers/engine';
import { offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, clock, later, addressItems, newcomerOffer } = offerScenario({ name: 'a23-unlists-new-life', channel: 'sms' });

const hooks = dynamoHooks(t, 'a23UnlistsNewLife');
const profileConfig = loadProfileConfig('workflows');

async function scenario(person: string, n: string, racing: boolean) {
  const id = `u-${person}`;
  const guest = `guest-${person}`;
  await t.api.sendAndSettle({ type: 'identify', userId: guest, traits: { phone: n } });
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { phone: `${n.slice(0, -1)}9` } });
  await later(60_000);
  const other = createProfileConsumer({ store: t.engine.profiles, segment: profileConfig.segmenter, putEvents: async (entries) => t.engine.bus.putEvents(entries), clock, timelineRetentionDays: 365 });
  const back = holdConsumer(t.engine, (event) => event.messageId === `${person}-back`);
  const comeback = async () => {
    const at = clock.now().getTime() + 60_000;
    while (clock.advance(at));
    await t.api.send([{ type: 'identify', userId: id, messageId: `${person}-back`, traits: { phone: n } }]);
    return other.handleEvent(back.held.splice(0)[0]!.event.detail as NormalisedEvent);
  };
  let erased: number | undefined;
  let newLife: Promise<unknown> | undefined;
  let releaseNewLife = () => undefined as void;
  if (racing) {
    hooks.set({
      // The erased life's profile write (version 1 read): the customer is erased and comes back first.
      match: (op, input) => op === 'PutItem' && input.includes(`"C#${id}"`) && input.includes('"profile"') && input.includes('#v = :v'),
      before: async () => {
        erased = (await t.api.del(`/v1/customers/${id}`)).status;
        // The new life's first write waits before its profile write (its listing under N written).
        let atProfile = () => undefined as void;
        const reached = new Promise<void>((then) => (atProfile = then));
        const released = new Promise<void>((then) => (releaseNewLife = then));
        hooks.add({
          match: (op, input) => op === 'PutItem' && input.includes(`"C#${id}"`) && input.includes('"profile"') && input.includes('attribute_not_exists'),
          before: async () => {
            atProfile();
            await released;
          },
        });
        newLife = comeback();
        await reached;
      },
    });
    await t.api.sendAndSettle({ type: 'identify', userId: id, messageId: `${person}-move`, traits: { phone: n } });
    releaseNewLife();
    await newLife;
    hooks.clear();
  } else {
    hooks.set({ match: (op, input) => op === 'PutItem' && input.includes(`"C#${id}"`) && input.includes('"profile"') && input.includes('#v = :v'), before: async () => void (erased = (await t.api.del(`/v1/customers/${id}`)).status) });
    await t.api.sendAndSettle({ type: 'identify', userId: id, messageId: `${person}-move`, traits: { phone: n } });
    hooks.clear();
    await comeback();
  }
  await back.release();
  await later(60_000);
  expect(erased).toBe(200);
  const listed = (await addressItems(n, `"${id}"`, true)).length;
  // The customer texts STOP; then the guest is erased.
  await t.api.sendAndSettle({ type: 'track', userId: id, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'sms' } });
  await later(60_000);
  expect((await t.api.del(`/v1/customers/${guest}`)).status).toBe(200);
  await later(60_000);
  return { listed, denied: (await addressItems(n, '"denied"')).length, newcomer: await newcomerOffer(person, n) };
}

describe("the erased life's failed write and the new life's first write in flight, one number", () => {
  it("control: the comeback after the erased life's write failed: N stays denied", async () => {
    expect(await scenario('a23un-ctl', '+447700900311', false)).toEqual({ listed: 1, denied: 1, newcomer: 'unsubscribed' });
  }, 60_000);

  it("the comeback's first write in flight as the erased life's write fails: N stays denied", async () => {
    expect(await scenario('a23un', '+447700900322', true)).toEqual({ listed: 1, denied: 1, newcomer: 'unsubscribed' });
  }, 60_000);
});
