/**
 * A dropped event of the erased life, read before the customer came back, frees the new life's denial of an address.
 *
 * Promise (issue 10, consent is law; a customer who comes back starts a clean new life that is not lost): a denial the
 * new life receives after a grant wins, per address. The customer (address A) is erased. A late delivery of an event of
 * the erased life (an identify with A, dated before the erasure) reaches the consumer: it reads no profile (no new life
 * yet) and drops the event, then undoes what an earlier attempt of it may have left (`undoErasedLifeWrites`). Between
 * its read and that undo (a DynamoDB middleware on its first delete) the customer comes back on another instance of
 * the consumer (an identify with Y) and unsubscribes from a mail sent to Z (the event names Z: a one-click or a
 * preference page of a former address): ingest holds Z's denial with the new life's pointer `C#<id>`/`AP#<Z>` (the new
 * life is live: the hold stays). The undo then settles every pointer of the partition as the erased life's
 * (`#settleAddressesOfGone`, the id excluded as a holder): Z has no listing of the new life, so its denial is freed and
 * its pointer deleted. A newcomer with Z is offered mail: sent, although Z's owner unsubscribed after the grant.
 * Control: the erased life's event is redelivered (and dropped) before the comeback: Z stays denied.
 * Found by the 23rd hostile audit. Now: `undoErasedLifeWrites` looks again whether the customer has come back: if so
 * the partition's pointers and the address holds are the new life's and stay; only the erased life's listings under
 * the event's addresses and its timeline item go.
 */
import { describe, expect, it } from 'vitest';
import { createProfileConsumer, loadProfileConfig } from '../../functions/profile';
import type { NormalisedEvent } from '../../shared';
import { holdConsumer, profileItems } from '../helpers/engine';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, clock, later, addressItems, newcomerOffer } = offerScenario({ name: 'a23-drop-frees' });

const hooks = dynamoHooks(t, 'a23DropFrees');
const profileConfig = loadProfileConfig('workflows');

async function scenario(person: string, racing: boolean) {
  const id = `u-${person}`;
  const z = `${person}-z@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: `${person}-a@example.com` } });
  await later(60_000);
  // The erased life's late event: ingested before the erasure, its delivery to the consumer late.
  const late = holdConsumer(t.engine, (event) => event.messageId === `${person}-old`);
  await t.api.send([{ type: 'identify', userId: id, messageId: `${person}-old`, traits: { email: `${person}-a@example.com`, plan: 'old' } }]);
  expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
  await later(60_000);
  const other = createProfileConsumer({ store: t.engine.profiles, segment: profileConfig.segmenter, putEvents: async (entries) => t.engine.bus.putEvents(entries), clock, timelineRetentionDays: 365 });
  /** The comeback (identify with Y) and its unsubscribe naming Z, each applied by the other instance of the consumer. */
  const comeback = async () => {
    const held = holdConsumer(t.engine, (event) => event.messageId === `${person}-back` || event.messageId === `${person}-unsub`);
    await t.api.send([{ type: 'identify', userId: id, messageId: `${person}-back`, traits: { email: `${person}-y@example.com` } }]);
    await other.handleEvent(held.held[0]!.event.detail as NormalisedEvent);
    await t.api.send([{ type: 'track', userId: id, event: 'Unsubscribed', messageId: `${person}-unsub`, properties: { channel: 'email' }, context: { traits: { email: z } } }]);
    await other.handleEvent(held.held[1]!.event.detail as NormalisedEvent);
    // Delivered (to the other instance): not delivered again. Released once the race is over (it settles the engine).
    held.held.splice(0);
    return held;
  };
  let raced = false;
  let held: Awaited<ReturnType<typeof comeback>> | undefined;
  if (racing) {
    hooks.set({
      // The drop's undo, its first call (the event's timeline item): the customer comes back and unsubscribes first.
      match: (op, input) => op === 'DeleteItem' && input.includes(`"C#${id}"`) && input.includes(`${person}-old`),
      before: async () => {
        held = await comeback();
        raced = true;
      },
    });
    await late.release();
  } else {
    await late.release();
    held = await comeback();
  }
  hooks.clear();
  await held?.release();
  await later(60_000);
  return {
    ...(racing && { raced }),
    zDenied: (await addressItems(z, '"denied"')).length,
    zPointer: (await profileItems(t.engine, (text) => text.includes(`"C#${id}"`) && text.includes(`"AP#${addressHash(z)}"`))).length,
    newcomer: await newcomerOffer(person, z),
  };
}

describe("an erased life's dropped event and the new life's denial of an address", () => {
  it("control: the erased life's event is dropped before the comeback: Z stays denied", async () => {
    expect(await scenario('a23df-ctl', false)).toEqual({ zDenied: 1, zPointer: 1, newcomer: 'unsubscribed' });
  }, 60_000);

  it("the erased life's event is dropped while the customer comes back: Z stays denied", async () => {
    expect(await scenario('a23df', true)).toEqual({ raced: true, zDenied: 1, zPointer: 1, newcomer: 'unsubscribed' });
  }, 60_000);
});
