/**
 * The erased life's bounce, applied as the erasure runs, is parked for the new life: the customer who comes back with
 * another address gets no email for 30 days.
 *
 * Promise (issue 10, a customer who comes back starts a clean new life; only a denial received after the erasure
 * completed applies to it): the erased life's suppression (a hard bounce of address A, received before the erasure) is
 * not the new life's. The consumer applies the bounce (naming no address) and, after its profile write, writes the
 * suppression as the profile's own (`denyAddress` → `putSuppressionHold(id, channel, suppression, clock.now(), A)`):
 * the consumer passed its clock as the hold's `receivedAt`. After its check after the profile write (a DynamoDB
 * middleware on its tombstone read) and before that hold, the customer is erased, a millisecond after the bounce's
 * receipt: the erasure deletes ingest's hold `C#<id>`/`S#email`, so the consumer's write lands, and its check
 * (`#undoHoldIfErased`) reads the consumer's now as the bounce's receipt: "received after the erasure completed", a
 * denial of the new life to come, kept under the id's hash (`XH#…`, 30 days) where a send to the new life reads it
 * (`holdsOf`). The customer comes back with address B and is offered mail: skipped as suppressed.
 * Control: the bounce applied before the erasure: the new life's offer is sent.
 * Found by the 23rd hostile audit. Now: the consumer gives the hold the receipt of the event that brought the
 * suppression (else its time) and judges it at its own now: an erased life's bounce is not parked for the new life.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { holdConsumer, profileItems } from '../helpers/engine';
import { offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, clock, later, offer, latestOffer } = offerScenario({ name: 'a23-bounce-parked' });

const hooks = dynamoHooks(t, 'a23BounceParked');

async function scenario(person: string, racing: boolean) {
  const id = `u-${person}`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: `${person}-a@example.com` } });
  await later(60_000);
  const held = holdConsumer(t.engine, (event) => event.messageId === `${person}-bounce`);
  await t.api.send([{ type: 'track', userId: id, event: 'Message Bounced', messageId: `${person}-bounce`, properties: { channel: 'email', bounceType: 'hard' } }]);
  let erased: number | undefined;
  if (racing) {
    hooks.set({
      // The consumer's check after its profile write (it finds the customer live), before its suppression hold: the
      // customer is erased, a millisecond after the bounce's receipt (the virtual clock stands still otherwise, and a
      // denial received in the erasure's own millisecond counts as received after it).
      match: (op, input) => op === 'GetItem' && input.includes(`"X#${createHash('sha256').update(id).digest('hex')}"`),
      after: async () => {
        clock.advance(clock.now().getTime() + 1);
        erased = (await t.api.del(`/v1/customers/${id}`)).status;
      },
    });
    await held.release();
    hooks.clear();
  } else {
    await held.release();
    erased = (await t.api.del(`/v1/customers/${id}`)).status;
  }
  expect(erased).toBe(200);
  await later(60_000);
  const parked = (await profileItems(t.engine, (text) => text.includes('"XH#'))).length;
  // The customer comes back with another address, a day on, and is offered mail.
  await later(86_400_000);
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: `${person}-b@example.com` } });
  await later(60_000);
  await offer(id, 1);
  return { parked, offer: await latestOffer(id) };
}

describe("the erased life's bounce, applied as the erasure runs, and the new life", () => {
  it("control: the bounce applied before the erasure: the new life's offer is sent", async () => {
    expect(await scenario('a23bp-ctl', false)).toEqual({ parked: 0, offer: 'sent' });
  }, 60_000);

  it("the bounce's hold is written as the erasure completes: the new life's offer is sent", async () => {
    expect(await scenario('a23bp', true)).toEqual({ parked: 0, offer: 'sent' });
  }, 60_000);
});
