/**
 * A write of the customer whose check after the write fails once leaves its timeline event (the traits in clear)
 * behind the erasure that ran between its profile write and its timeline write.
 *
 * Promise (issue 10, erasure is complete even while events race it): after DELETE answers, no item holds the customer's
 * id, email or traits. An identify of the customer (a new trait) is applied: the profile is written, then (a DynamoDB
 * middleware) before its timeline event is written the customer is erased; the event then lands on the timeline
 * (`C#<id>`/`E#…`, the identify with its traits). Control: the writer's check after the write (`undoneIfErased`) reads
 * the tombstone and undoes the write, the timeline event with it. Break: that check's read fails once (a throttle; the
 * delivery is retried): the retry finds no profile and a tombstone and drops the event as the erased customer's; the
 * timeline event stays, with the id, the email and the traits, for the timeline's retention (365 days).
 * Found by the 22nd hostile audit. Now: a consumer that drops an erased life's event deletes that event's timeline item (`undoErasedLifeWrites`).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { holdConsumer, profileItems } from '../helpers/engine';
import { offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, later } = offerScenario({ name: 'a22-failed-check' });

const hooks = dynamoHooks(t, 'a22FailedCheck');
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

async function scenario(person: string, failing: boolean) {
  const id = `u-${person}`;
  const x = `${person}@example.com`;
  const secret = `secret-${person}`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: x } });
  await later(60_000);
  const held = holdConsumer(t.engine, (event) => event.messageId === `${person}-trait`);
  await t.api.send([{ type: 'identify', userId: id, messageId: `${person}-trait`, traits: { email: x, favourite: secret } }]);
  let erased: number | undefined;
  hooks.set(
    {
      // The identify's timeline event (its profile is written): the customer is erased first.
      match: (op, input) => op === 'PutItem' && input.includes(`"C#${id}"`) && input.includes('"itemType":"event"'),
      before: async () => void (erased = (await t.api.del(`/v1/customers/${id}`)).status),
    },
    ...(failing
      ? [{ match: (op: string, input: string) => op === 'GetItem' && input.includes(`"X#${sha(id)}"`) && input.includes('"SK":"X"') && erased !== undefined, before: () => Promise.reject(new Error('throttled')) }]
      : []),
  );
  // Released without waiting: a failed attempt's retry waits on the virtual clock, which `later` moves.
  let done = false;
  const released = held.release().then(() => void (done = true));
  for (let minute = 0; minute < 10 && !done; minute++) await later(60_000);
  await released;
  hooks.clear();
  expect(erased).toBe(200);
  return (await profileItems(t.engine, (text) => text.includes(`"C#${id}"`) || text.includes(`"${id}"`) || text.includes(secret) || text.includes(x))).map((text) => {
    const item = JSON.parse(text) as { PK: { S: string }; SK: { S: string } };
    return `${item.PK.S} ${item.SK.S.slice(0, 2)}`;
  });
}

describe("an erasure between the customer's profile write and its timeline write", () => {
  it("control: the writer's check finds the tombstone and undoes the write: nothing names the customer", async () => {
    expect(await scenario('a22fc-ctl', false)).toEqual([]);
  }, 60_000);

  it("the writer's check fails once: nothing names the customer", async () => {
    expect(await scenario('a22fc', true)).toEqual([]);
  }, 60_000);
});
