/**
 * The new life's unsubscribe, received (ingest answered "unsubscribed") but not yet applied by the consumer, is deleted
 * from the address X by the retried drop of the erased life's unsubscribe: X is mailed (texted) after the new life's
 * denial. For an email address (`K#email`), a phone number (`K#sms`, a STOP as `Unsubscribed {channel: sms}`) and a
 * subscription topic (`K#email#offers`, an `offers` journey).
 *
 * Promise (issue 10: consent is law: a denial holds from ingest's answer, per address; no marketing send happens after
 * a denial's receipt): the account `u-<p>` has X and unsubscribes; the consumer's write of X's denial (`causes` = {that
 * event}) lands just after the account's erasure and its check (the tombstone read) fails once. The account comes back
 * with X (a clean new life) and unsubscribes again: ingest puts X's denial (a later key) and carries the replaced
 * denial's causes over. Before the consumer applies the new unsubscribe (its delivery is late), the retry drops the
 * erased life's (`undoErasedLifeWrites`): X's denial had that event as its only cause (ingest recorded none of its own)
 * and no other live record has X: `#takeCause` deleted the new life's denial. A newcomer with X was mailed until the
 * consumer got to the new unsubscribe (which writes X's denial again).
 * Control: the new life unsubscribes after the retry: the newcomer is not mailed.
 * Found by the 28th hostile audit. Now: ingest records its event as a cause of the denial it writes: the drop takes
 * only the erased life's mark out.
 */
import { describe, expect, it } from 'vitest';
import { holdConsumer } from '../helpers/engine';
import { offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const KINDS = {
  email: { scenario: offerScenario({ name: 'a28-fresh-denial' }), trait: 'email', properties: { channel: 'email' }, skipped: 'unsubscribed' },
  sms: { scenario: offerScenario({ name: 'a28-fresh-denial-sms', channel: 'sms' }), trait: 'phone', properties: { channel: 'sms' }, skipped: 'unsubscribed' },
  topic: { scenario: offerScenario({ name: 'a28-fresh-denial-topic', topic: 'offers' }), trait: 'email', properties: { channel: 'email', topic: 'offers' }, skipped: 'topic-unsubscribed' },
} as const;
const HOOKS = { email: dynamoHooks(KINDS.email.scenario.t, 'a28FreshDenial'), sms: dynamoHooks(KINDS.sms.scenario.t, 'a28FreshDenialSms'), topic: dynamoHooks(KINDS.topic.scenario.t, 'a28FreshDenialTopic') };

async function scenario(kind: keyof typeof KINDS, person: string, againBeforeRetry: boolean) {
  const { scenario: s, trait, properties } = KINDS[kind];
  const { t, clock, later, addressItems, newcomerOffer, failedCheckAfterErasure } = s;
  const id = `u-${person}`;
  const x = trait === 'phone' ? (againBeforeRetry ? '+14155550102' : '+14155550101') : `${person}@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { [trait]: x } });
  await later(60_000);
  const attempt = await failedCheckAfterErasure(HOOKS[kind], {
    id,
    address: x,
    messageId: `${person}-stop1`,
    send: () => t.api.send([{ type: 'track', userId: id, event: 'Unsubscribed', messageId: `${person}-stop1`, properties }]),
  });
  // The account comes back with X (no time let pass: the retry waits on the clock).
  clock.advance(clock.now().getTime() + 1);
  await t.api.send([{ type: 'identify', userId: id, messageId: `${person}-back`, traits: { [trait]: x } }]);
  await clock.idle();
  // The new life unsubscribes again: ingest answers; the consumer's delivery of it is late.
  const late = holdConsumer(t.engine, (event) => event.messageId === `${person}-stop2`);
  const stop2 = async () => {
    clock.advance(clock.now().getTime() + 1);
    expect((await t.api.send([{ type: 'track', userId: id, event: 'Unsubscribed', messageId: `${person}-stop2`, properties }])).accepted).toHaveLength(1);
  };
  if (againBeforeRetry) await stop2();
  expect(await attempt.retried()).toBe(200);
  if (!againBeforeRetry) await stop2();
  // Sent after the new life's unsubscribe was received, before the consumer applied it.
  const newcomer = await newcomerOffer(person, x);
  const xDenied = (await addressItems(x, '"denied"')).length;
  await late.release();
  await later(60_000);
  return { xDenied, newcomer, xDeniedOnceApplied: (await addressItems(x, '"denied"')).length };
}

describe("the new life's fresh denial of X and the retried drop of the erased life's denial of X", () => {
  for (const kind of ['email', 'sms', 'topic'] as const) {
    const expected = { xDenied: 1, newcomer: KINDS[kind].skipped, xDeniedOnceApplied: 1 };
    it(`control (${kind}): the new life unsubscribes after the retry: X denied, the newcomer is not mailed`, async () => {
      expect(await scenario(kind, `a28fd-${kind[0]}c`, false)).toEqual(expected);
    }, 60_000);
    it(`${kind}: the new life unsubscribes before the retry: X stays denied, the newcomer is not mailed`, async () => {
      expect(await scenario(kind, `a28fd-${kind[0]}x`, true)).toEqual(expected);
    }, 60_000);
  }
});
