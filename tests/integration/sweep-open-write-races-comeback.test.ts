/**
 * The daily sweep's check of an erased life's open hold write races the customer's comeback: having read no new life,
 * it frees the address and takes the new life's denial of it, received meanwhile.
 *
 * Promise (issue 10: a comeback starts a new life; consent is law): a denial the new life receives wins, per address,
 * and the erased life's holds never take the new life's with them ("a new life's are left alone"; audit 23's
 * erased-drop-frees-new-life-hold: an undo looks again whether the customer has come back). Since 758badf "the daily
 * sweep checks writes open over 15 minutes" as their own check would have (`recheckOpenHoldWrites`).
 *
 * Scenario: the account `u-<p>` alone has X. Its one-click link is clicked; the account is erased just before the
 * page's put of X's denial, the denial lands and the write's check fails (503, never retried): its write stays open.
 * A day later the sweep checks it: the account is erased with no new life (read once, `#checkAddressHold`), so the
 * denial's cause is taken (the denial goes). Just then the customer comes back (an identify with Y, on another instance
 * of the consumer) and unsubscribes from a mail sent to X (the event names X, as a one-click or the preference page of
 * a former address does): ingest holds X's denial for the new life, with its pointer. The sweep then settles X as the
 * erased life's (`#settleAddressOfGone`, the id excluded as a holder): no live holder, so X is freed: the new life's
 * denial of X goes, and its pointer. A newcomer with X is mailed although X's owner unsubscribed after coming back.
 * Control: the comeback and its unsubscribe come after the sweep: X stays denied, the newcomer is skipped.
 * Found by the thirty-fourth hostile audit. Now: the check reads the new life again after its undo, before it frees the address.
 */
import { describe, expect, it } from 'vitest';
import { DEV_UNSUBSCRIBE_KEY } from '../../functions/journeys';
import { unsubscribeUrl } from '../../functions/journeys/unsubscribe';
import { createProfileConsumer, loadProfileConfig } from '../../functions/profile';
import { emailAddressHash, type NormalisedEvent } from '../../shared';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';
import { holdConsumer, profileItems } from '../helpers/engine';

const { t, clock, later, addressItems, newcomerOffer, clickOneClick } = offerScenario({ name: 'a34-sweep-comeback' });

const hooks = dynamoHooks(t, 'a34SweepComeback');
const profileConfig = loadProfileConfig('workflows');
const DAY = 86_400_000;

async function scenario(person: string, racing: boolean) {
  const id = `u-${person}`;
  const x = `${person}@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: x } });
  await later(60_000);
  const link = unsubscribeUrl(t.engine.url, DEV_UNSUBSCRIBE_KEY, id, 'email', emailAddressHash(x));
  let erased: number | undefined;
  let failed = false;
  hooks.set(
    {
      // The page's put of X's denial (its open record and pointer written): the account is erased just before.
      match: (op, input) => erased === undefined && op === 'PutItem' && input.includes(`"AH#${addressHash(x)}"`) && input.includes('"K#email"') && input.includes('"denied"'),
      before: async () => {
        erased = (await t.api.del(`/v1/customers/${id}`)).status;
      },
    },
    {
      match: (op, input) => op === 'GetItem' && input.includes('"SK":"X"') && erased !== undefined && !failed,
      before: () => {
        failed = true;
        return Promise.reject(new Error('throttled'));
      },
    },
  );
  expect((await clickOneClick(link)).status).toBe(503);
  hooks.clear();
  expect(erased).toBe(200);
  await later(DAY);
  const other = createProfileConsumer({ store: t.engine.profiles, segment: profileConfig.segmenter, putEvents: async (entries) => t.engine.bus.putEvents(entries), clock, timelineRetentionDays: 365 });
  /** The comeback (identify with Y) and its unsubscribe naming X, each applied by the other instance of the consumer. */
  const comeback = async () => {
    const held = holdConsumer(t.engine, (event) => event.messageId === `${person}-back` || event.messageId === `${person}-unsub`);
    await t.api.send([{ type: 'identify', userId: id, messageId: `${person}-back`, traits: { email: `${person}-y@example.com` } }]);
    await other.handleEvent(held.held[0]!.event.detail as NormalisedEvent);
    await t.api.send([{ type: 'track', userId: id, event: 'Unsubscribed', messageId: `${person}-unsub`, properties: { channel: 'email' }, context: { traits: { email: x } } }]);
    await other.handleEvent(held.held[1]!.event.detail as NormalisedEvent);
    held.held.splice(0);
    return held;
  };
  let raced = false;
  let held: Awaited<ReturnType<typeof comeback>> | undefined;
  if (racing) {
    hooks.set({
      // The sweep's check of the open write takes the erased life's cause from X's denial (its last: deleted); then the comeback.
      match: (op, input) => op === 'DeleteItem' && input.includes(`"AH#${addressHash(x)}"`) && input.includes('"K#email"'),
      after: async () => {
        held = await comeback();
        raced = true;
      },
    });
    await t.engine.sweep();
  } else {
    await t.engine.sweep();
    held = await comeback();
  }
  hooks.clear();
  await held?.release();
  await later(60_000);
  return {
    ...(racing && { raced }),
    xDenied: (await addressItems(x, '"denied"')).length,
    xPointer: (await profileItems(t.engine, (text) => text.includes(`"C#${id}"`) && text.includes(`"AP#${addressHash(x)}"`))).length,
    newcomer: await newcomerOffer(person, x),
  };
}

describe("the sweep's check of an erased life's open hold write, and the customer's comeback", () => {
  it('control: the comeback and its unsubscribe naming X come after the sweep: X stays denied', async () => {
    expect(await scenario('a34sc-c', false)).toEqual({ xDenied: 1, xPointer: 1, newcomer: 'unsubscribed' });
  }, 120_000);

  it('the comeback and its unsubscribe naming X land during the sweep’s check: X stays denied', async () => {
    expect(await scenario('a34sc-x', true)).toEqual({ raced: true, xDenied: 1, xPointer: 1, newcomer: 'unsubscribed' });
  }, 120_000);
});
