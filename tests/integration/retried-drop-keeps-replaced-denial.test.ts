/**
 * A retried drop of an erased life's denial that REPLACED another record's denial of the shared address X takes back
 * only its own part: the other record's denial stays, also one written before holds recorded their causes.
 *
 * Promise (issue 10: consent is law, per address; one person's two records sharing an address never let a denial be
 * lost): the guest `guest-<p>` and the account `u-<p>` share X. The guest unsubscribes: X denied (`AH#<X>`/`K#email`).
 * Then the account unsubscribes too; the consumer's write of X's denial (the account's later key replaces the guest's)
 * lands just after the account's erasure, and its check after the write fails once. Before the retry the account
 * comes back with X and the guest moves to Y, so no other live record has X. The retry drops the account's
 * unsubscribe (`undoErasedLifeWrites`): the hold it wrote goes only if it stood for that event alone. It also stood
 * for the guest's denial it replaced (its `causes` carried over), so X stays denied: a newcomer with X is not mailed.
 * Legacy: the guest's denial names no `causes` (put here by hand, as a store deployed before 4d57b5d left it); the
 * write over it carries `*` (unknown events) over, so no undo takes X's denial back (found by the 29th hostile audit:
 * nothing was carried over, and the retry deleted the guest's denial with the account's).
 * Control: the guest does not unsubscribe: the account's denial of X was its erased life's alone and goes; the
 * account's new life and a newcomer with X are offered.
 * Written reviewing the 27th audit's fixes (an address's hold records the events it stands for).
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/profile';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, clock, later, offer, latestOffer, addressItems, guestAndAccount, newcomerOffer, failedCheckAfterErasure } = offerScenario({ name: 'r27-replaced-denial' });

const hooks = dynamoHooks(t, 'r27ReplacedDenial');

/** `guestDenial`: none; the guest's, with its causes; the guest's as a store before causes wrote it (none). */
async function scenario(person: string, guestDenial: 'none' | 'causes' | 'legacy') {
  const { address: x, account, guest } = await guestAndAccount(person);
  if (guestDenial !== 'none') {
    await t.api.sendAndSettle({ type: 'track', userId: guest, event: 'Unsubscribed', messageId: `${person}-guest-stop`, properties: { channel: 'email' } });
    await later(60_000);
    const [held] = await addressItems(x, '"denied"');
    expect(held).toContain('"causes"');
    if (guestDenial === 'legacy') {
      const item = JSON.parse(held!) as Record<string, { S?: string; N?: string }>;
      const plain = Object.fromEntries(Object.entries(item).filter(([k]) => k !== 'causes').map(([k, v]) => [k, v.S ?? Number(v.N)]));
      expect(plain.PK).toBe(`AH#${addressHash(x)}`);
      await documentClient(t.engine.dynamo.client).send(new PutCommand({ TableName: PROFILE_TABLE, Item: plain }));
    }
  }
  const attempt = await failedCheckAfterErasure(hooks, {
    id: account,
    address: x,
    messageId: `${person}-stop`,
    send: () => t.api.send([{ type: 'track', userId: account, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'email' } }]),
  });
  // Before the retry: the account comes back with X, the guest moves to Y.
  clock.advance(clock.now().getTime() + 1);
  await t.api.send([
    { type: 'identify', userId: account, messageId: `${person}-back`, traits: { email: x } },
    { type: 'identify', userId: guest, messageId: `${person}-move`, traits: { email: `${person}-y@example.org` } },
  ]);
  expect(await attempt.retried()).toBe(200);
  await offer(account, 1);
  return { xDenied: (await addressItems(x, '"denied"')).length, account: await latestOffer(account), newcomer: await newcomerOffer(person, x) };
}

describe("a retried drop of an erased life's denial that replaced another record's", () => {
  it("control: the guest never unsubscribed: the erased life's denial of X goes, X's holders are offered", async () => {
    expect(await scenario('r27rd-c', 'none')).toEqual({ xDenied: 0, account: 'sent', newcomer: 'sent' });
  }, 60_000);
  it("the guest's denial was replaced: X stays denied, nobody with X is mailed", async () => {
    expect(await scenario('r27rd-g', 'causes')).toEqual({ xDenied: 1, account: 'unsubscribed', newcomer: 'unsubscribed' });
  }, 60_000);
  it("the guest's denial had no causes (a store before causes): X stays denied, nobody with X is mailed", async () => {
    expect(await scenario('r27rd-l', 'legacy')).toEqual({ xDenied: 1, account: 'unsubscribed', newcomer: 'unsubscribed' });
  }, 60_000);
});
