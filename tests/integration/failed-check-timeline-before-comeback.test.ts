/**
 * A write of the erased life whose check after the write fails, retried once the customer came back, leaves its
 * timeline event (the erased life's traits in clear) on the new life's timeline.
 *
 * Promise (issue 10, erasure is complete even while events race it; a customer who comes back starts a clean profile):
 * nothing of the erased life reaches the new one. An identify of the customer (address X, a secret trait) is applied:
 * the profile is written, then (a DynamoDB middleware) before its timeline event is written the customer is erased; the
 * event then lands on the timeline (`C#<id>`/`E#…`); the writer's check (`undoneIfErased`) fails once (a throttle; the
 * delivery is retried). Before the retry, the customer comes back (an identify dated after the erasure, address Y,
 * applied by another instance of the consumer). The retry finds the new life's profile and drops the event as the
 * erased life's, but undoes nothing: `undoErasedLifeWrites` runs only when no new life has a profile. The erased
 * life's identify, with X and the secret, stays under the id and is listed as the new life's event
 * (`GET /v1/customers/<id>/events`) for the timeline's retention (365 days).
 * Control (the 22nd audit's failed-check-timeline-after-erasure): the retry before the comeback: nothing is left.
 * Found by the 23rd hostile audit. Now: a consumer dropping an erased life's event once the customer came back undoes
 * its late writes too (`undoErasedLifeWrites`): the timeline item goes.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createProfileConsumer, loadProfileConfig } from '../../functions/profile';
import type { NormalisedEvent } from '../../shared';
import { holdConsumer, profileItems } from '../helpers/engine';
import { offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, clock, later } = offerScenario({ name: 'a23-failed-check-back' });

const hooks = dynamoHooks(t, 'a23FailedCheckBack');
const profileConfig = loadProfileConfig('workflows');
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

async function scenario(person: string, backBeforeRetry: boolean) {
  const id = `u-${person}`;
  const x = `${person}@example.com`;
  const secret = `secret-${person}`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: x } });
  await later(60_000);
  const held = holdConsumer(t.engine, (event) => event.messageId === `${person}-trait`);
  await t.api.send([{ type: 'identify', userId: id, messageId: `${person}-trait`, traits: { email: x, favourite: secret } }]);
  const other = createProfileConsumer({ store: t.engine.profiles, segment: profileConfig.segmenter, putEvents: async (entries) => t.engine.bus.putEvents(entries), clock, timelineRetentionDays: 365 });
  /** The comeback (a minute on, address Y), applied by another instance of the consumer. */
  const comeback = async () => {
    const at = clock.now().getTime() + 60_000;
    while (clock.advance(at));
    const back = holdConsumer(t.engine, (event) => event.messageId === `${person}-back`);
    await t.api.send([{ type: 'identify', userId: id, messageId: `${person}-back`, traits: { email: `${person}-y@example.org` } }]);
    const status = (await other.handleEvent(back.held.splice(0)[0]!.event.detail as NormalisedEvent)).status;
    return { back, status };
  };
  let erased: number | undefined;
  let came: Awaited<ReturnType<typeof comeback>> | undefined;
  hooks.set(
    {
      // The identify's timeline event (its profile is written): the customer is erased first.
      match: (op, input) => op === 'PutItem' && input.includes(`"C#${id}"`) && input.includes('"itemType":"event"'),
      before: async () => void (erased = (await t.api.del(`/v1/customers/${id}`)).status),
    },
    {
      // The writer's check (its tombstone read) fails once; with `backBeforeRetry` the customer comes back first.
      match: (op: string, input: string) => op === 'GetItem' && input.includes(`"X#${sha(id)}"`) && input.includes('"SK":"X"') && erased !== undefined,
      before: async () => {
        if (backBeforeRetry) came = await comeback();
        throw new Error('throttled');
      },
    },
  );
  // Released without waiting: a failed attempt's retry waits on the virtual clock, which `later` moves.
  let done = false;
  const released = held.release().then(() => void (done = true));
  for (let minute = 0; minute < 10 && !done; minute++) await later(60_000);
  await released;
  hooks.clear();
  if (!backBeforeRetry) came = await comeback();
  await came?.back.release();
  await later(60_000);
  expect(erased).toBe(200);
  const events = await t.api.get(`/v1/customers/${id}/events`);
  return {
    comeback: came?.status,
    newLife: (events.json as unknown as { events: Array<{ messageId: string }> }).events.map((e) => e.messageId),
    naming: (await profileItems(t.engine, (text) => text.includes(secret) || text.includes(x))).length,
  };
}

describe("the erased life's write, its check failed, retried after the customer came back", () => {
  it('control: retried before the comeback: the new life has its own event only', async () => {
    expect(await scenario('a23fcb-ctl', false)).toEqual({ comeback: 'applied', newLife: ['a23fcb-ctl-back'], naming: 0 });
  }, 60_000);

  it('retried after the comeback: the new life has its own event only', async () => {
    expect(await scenario('a23fcb', true)).toEqual({ comeback: 'applied', newLife: ['a23fcb-back'], naming: 0 });
  }, 60_000);
});
