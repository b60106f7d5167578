/**
 * The erased life's unchecked address hold (a channel or topic denial, or a hard bounce's suppression) outlives the
 * erasure when the customer comes back with the SAME address before the consumer's retry: the new life is denied or
 * suppressed by a choice or a report of the erased life.
 *
 * Promise (issue 10: erasure is complete even while events race it; a new life is clean): X unsubscribes (channel, or
 * topic `offers`) or hard-bounces; the consumer applies it (`denyAddress` → `#putAddressHold`). Just before its pointer
 * `C#<id>`/`AP#<X>` the customer is erased; the hold lands after the erasure and its check (the tombstone read) fails
 * once. Before the retry the customer comes back with X (no consent given). The retry drops the event
 * (`undoErasedLifeWrites`); with a new life it settled only pointers to addresses the new life does NOT have (the
 * audit-24 fix, whose test came back with Y): X is the new life's, so X's denial or suppression stayed.
 * Control: the comeback with X comes after the retry: the drop settles X, the new life is offered.
 * Found by the 26th hostile audit (a variant of retried-drop-leaves-hold-after-comeback.test.ts, with X for Y). Now: with
 * a new life, the drop's undo also takes back the holds of an address the new life has too that the dropped event
 * caused (an address's hold records its events, `causes`), unless another live record has the address.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, clock, later, offer, latestOffer, addressItems, failedCheckAfterErasure } = offerScenario({ name: 'a26-retried-drop-x', topic: 'offers' });

const hooks = dynamoHooks(t, 'a26RetriedDropX');

type Kind = 'channel' | 'topic' | 'bounce';

const eventOf = (kind: Kind, id: string, messageId: string) =>
  kind === 'bounce'
    ? { type: 'track', userId: id, event: 'Message Bounced', messageId, properties: { channel: 'email', bounceType: 'hard' } }
    : { type: 'track', userId: id, event: 'Unsubscribed', messageId, properties: { channel: 'email', ...(kind === 'topic' && { topic: 'offers' }) } };

async function scenario(person: string, comeback: 'x' | 'none', kind: Kind) {
  const id = `u-${person}`;
  const x = `${person}@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: x } });
  await later(60_000);
  const attempt = await failedCheckAfterErasure(hooks, { id, address: x, messageId: `${person}-stop`, send: () => t.api.send([eventOf(kind, id, `${person}-stop`)]) });
  if (comeback === 'x') {
    clock.advance(clock.now().getTime() + 1);
    await t.api.send([{ type: 'identify', userId: id, messageId: `${person}-back`, traits: { email: x } }]);
  }
  expect(await attempt.retried()).toBe(200);
  if (comeback === 'none') {
    await t.api.sendAndSettle({ type: 'identify', userId: id, messageId: `${person}-back`, traits: { email: x } });
    await later(60_000);
  }
  await offer(id, 1);
  const held = kind === 'bounce' ? (await addressItems(x)).join(' ') : (await addressItems(x, '"denied"')).length;
  return { offer: await latestOffer(id), held };
}

describe("the erased life's unchecked hold and a comeback with the same address before the retry", () => {
  for (const kind of ['channel', 'topic', 'bounce'] as const) {
    // A denial: X is not denied (its other items may stay); a bounce: X keeps nothing.
    const clean = kind === 'bounce' ? '' : 0;
    it(`control (${kind}): comeback with X after the retry: offered, X ${kind === 'bounce' ? 'keeps nothing' : 'not denied'}`, async () => {
      expect(await scenario(`a26rx-c${kind[0]}`, 'none', kind)).toEqual({ offer: 'sent', held: clean });
    }, 60_000);
    it(`${kind}: comeback with X before the retry: offered, X ${kind === 'bounce' ? 'keeps nothing' : 'not denied'}`, async () => {
      expect(await scenario(`a26rx-x${kind[0]}`, 'x', kind)).toEqual({ offer: 'sent', held: clean });
    }, 60_000);
  }
});
