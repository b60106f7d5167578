/**
 * A retried drop of an erased life's denial that REPLACED another record's denial of the shared address X written
 * before holds recorded their causes (a legacy hold: no `causes`) deletes that denial with its own.
 *
 * Promise (issue 10: consent is law, per address; one person's two records sharing an address never let a denial be
 * lost): the guest `guest-<p>` and the account `u-<p>` share X. The guest unsubscribed before causes were kept: X's
 * denial (`AH#<X>`/`K#email`) names no `causes` (put here by hand, as a store deployed before 4d57b5d left it). The
 * account unsubscribes too; ingest's and the consumer's writes of X's denial (the account's later key) replace the
 * guest's. Its old item has no causes, so nothing is carried over: the hold now stands for the account's event alone.
 * The consumer's write lands just after the account's erasure and its check fails once; before the retry the account
 * comes back with X and the guest moves to Y. The retry drops the account's unsubscribe (`undoErasedLifeWrites`):
 * `#takeCause` deletes X's denial with its last cause. The guest's denial is lost; a newcomer with X is mailed.
 * A legacy restriction is one "no undo takes back" (`#relyOn`), yet replacing it makes it undoable.
 * Control: the guest's denial has its causes (written by this store): carried over, X stays denied.
 * Found by the 29th hostile audit. Now: a write over a restriction without causes carries `*` (unknown events) over: no undo
 * takes that restriction back.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/profile';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, clock, later, offer, latestOffer, addressItems, guestAndAccount, newcomerOffer, failedCheckAfterErasure } = offerScenario({ name: 'a29-legacy-replaced' });

const hooks = dynamoHooks(t, 'a29LegacyReplaced');

async function scenario(person: string, legacy: boolean) {
  const { address: x, account, guest } = await guestAndAccount(person);
  await t.api.sendAndSettle({ type: 'track', userId: guest, event: 'Unsubscribed', messageId: `${person}-guest-stop`, properties: { channel: 'email' } });
  await later(60_000);
  const [held] = await addressItems(x, '"denied"');
  expect(held).toContain('"causes"');
  if (legacy) {
    // The same denial as a store before causes wrote it: no `causes`.
    const doc = documentClient(t.engine.dynamo.client);
    const item = JSON.parse(held!) as Record<string, { S?: string; N?: string }>;
    const plain = Object.fromEntries(Object.entries(item).filter(([k]) => k !== 'causes').map(([k, v]) => [k, v.S ?? Number(v.N)]));
    expect(plain.PK).toBe(`AH#${addressHash(x)}`);
    await doc.send(new PutCommand({ TableName: PROFILE_TABLE, Item: plain }));
  }
  const attempt = await failedCheckAfterErasure(hooks, {
    id: account,
    address: x,
    messageId: `${person}-stop`,
    send: () => t.api.send([{ type: 'track', userId: account, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'email' } }]),
  });
  clock.advance(clock.now().getTime() + 1);
  await t.api.send([
    { type: 'identify', userId: account, messageId: `${person}-back`, traits: { email: x } },
    { type: 'identify', userId: guest, messageId: `${person}-move`, traits: { email: `${person}-y@example.org` } },
  ]);
  expect(await attempt.retried()).toBe(200);
  await offer(account, 1);
  return { xDenied: (await addressItems(x, '"denied"')).length, account: await latestOffer(account), newcomer: await newcomerOffer(person, x) };
}

describe("a retried drop of an erased life's denial that replaced another record's legacy denial", () => {
  it("control: the guest's denial names its causes: carried over, X stays denied", async () => {
    expect(await scenario('a29lr-c', false)).toEqual({ xDenied: 1, account: 'unsubscribed', newcomer: 'unsubscribed' });
  }, 60_000);
  it("the guest's denial had no causes: X stays denied, nobody with X is mailed", async () => {
    expect(await scenario('a29lr-l', true)).toEqual({ xDenied: 1, account: 'unsubscribed', newcomer: 'unsubscribed' });
  }, 60_000);
});
