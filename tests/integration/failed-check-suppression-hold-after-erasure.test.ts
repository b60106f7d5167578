/**
 * The consumer's suppression hold of the erased life, written after the erasure and then failing before its check,
 * stays under the id: nothing on the drop path takes it back.
 *
 * Promise (issue 10, erasure is complete even while events race it): after DELETE answers, no item holds the
 * customer's id, and nothing of the erased life reaches a new one. The consumer applies a hard bounce (naming no
 * address) and, after its profile write, writes the suppression as the profile's own (`denyAddress` →
 * `putSuppressionHold`): the hold `C#<id>`/`S#email` (30 days), then its check (`#undoHoldIfErased`). Just before that
 * write (a DynamoDB middleware) the customer is erased (ingest's hold goes with the erasure, so this write lands). Break:
 * the write lands but its answer is lost (a timeout): the attempt fails before its check; every retry drops the event
 * as the erased life's, and `undoErasedLifeWrites` takes back the timeline item and address items, not the customer's
 * own holds: `C#<id>`/`S#email` stays (the id in its key) and the customer who comes back with another address is
 * suppressed. Control: the same with the write answered: its check takes it back (here, it is parked: see
 * consumer-suppression-parked-for-new-life; the control only counts items under the id).
 * Found by the 23rd hostile audit. Now: `undoErasedLifeWrites` also takes back the suppression hold a write put for
 * the event's bounce or complaint (as written: its `at`).
 */
import { describe, expect, it } from 'vitest';
import { holdConsumer, profileItems } from '../helpers/engine';
import { offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, later } = offerScenario({ name: 'a23-failed-sup-hold' });

const hooks = dynamoHooks(t, 'a23FailedSupHold');

async function scenario(person: string, lost: boolean) {
  const id = `u-${person}`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: `${person}-a@example.com` } });
  await later(60_000);
  const held = holdConsumer(t.engine, (event) => event.messageId === `${person}-bounce`);
  await t.api.send([{ type: 'track', userId: id, event: 'Message Bounced', messageId: `${person}-bounce`, properties: { channel: 'email', bounceType: 'hard' } }]);
  let erased: number | undefined;
  hooks.set({
    // The consumer's suppression hold (after its profile write): the customer is erased first; with `lost`, its answer is lost.
    match: (op, input) => op === 'PutItem' && input.includes(`"C#${id}"`) && input.includes('"S#email"'),
    before: async () => void (erased = (await t.api.del(`/v1/customers/${id}`)).status),
    ...(lost && { after: () => Promise.reject(new Error('timed out')) }),
  });
  // Released without waiting: a failed attempt's retry waits on the virtual clock, which `later` moves.
  let done = false;
  const released = held.release().then(() => void (done = true));
  for (let minute = 0; minute < 10 && !done; minute++) await later(60_000);
  await released;
  hooks.clear();
  expect(erased).toBe(200);
  return (await profileItems(t.engine, (text) => text.includes(`"C#${id}"`))).map((text) => (JSON.parse(text) as { SK: { S: string } }).SK.S);
}

describe("the consumer's suppression hold written after the erasure, its check not reached", () => {
  it("control: the hold's write is answered: nothing is left under the id", async () => {
    expect(await scenario('a23fs-ctl', false)).toEqual([]);
  }, 60_000);

  it("the hold's answer is lost: nothing is left under the id", async () => {
    expect(await scenario('a23fs', true)).toEqual([]);
  }, 60_000);
});
