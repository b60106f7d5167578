/**
 * Two records' denials of one address X in ONE request lose the cause of the denial X already had: ingest writes
 * them at once (`mapLimit`), with equal keys (their receipt), so each carry-over put (`#addCauses`: a put conditioned
 * on the key) lands over the other's item and drops what the other carried. X's denial ends up standing for the two
 * new events only; once both are dropped as erased lives' events, it is deleted: the earlier record's denial is lost.
 *
 * Promise (issue 10: consent is law, per address; a denial is the address's: the record that gave it may move, X stays
 * denied): `h-<p>` unsubscribes from X (X's denial `{h}`). Then one request carries the account `u-<p>`'s and the
 * guest `guest-<p>`'s `Unsubscribed` (email), both records with X; their consumer deliveries are late (EventBridge).
 * Ingest leaves X's denial `{a, g}` (not `{h, a, g}`). The account is erased (the others keep X) and comes back with X;
 * the guest likewise; both then move to other addresses, and `h` moves to Y. The late `a` and `g` are dropped
 * (`undoErasedLifeWrites`, new life): the second takes X's denial with its last cause. A newcomer with X is mailed
 * although `h` denied X. No hook: the race is ingest's own.
 * Control: the account's and the guest's denials come in two requests: X keeps `h` and stays denied.
 * Found by the 29th hostile audit (the same put-over-put as carry-over-races-relied-denial, without any timing help). Now: each write reads X's denial and puts by version: the one that loses the race reads again and
 * keeps the other's causes with the earlier one's.
 */
import { describe, expect, it } from 'vitest';
import { eventMark } from '../../functions/profile';
import { offerScenario } from '../helpers/address-scenario';
import { lateDeliveries } from '../helpers/engine';

const { t, clock, later, addressItems, newcomerOffer } = offerScenario({ name: 'a29-one-request' });


async function scenario(person: string, oneRequest: boolean) {
  const [holder, account, guest] = [`h-${person}`, `u-${person}`, `guest-${person}`];
  const x = `${person}@example.com`;
  const [h, a, g] = [`${person}-h`, `${person}-a`, `${person}-g`];
  await t.api.send([holder, account, guest].map((userId) => ({ type: 'identify', userId, traits: { email: x } })));
  await later(60_000);
  await t.api.sendAndSettle({ type: 'track', userId: holder, event: 'Unsubscribed', messageId: h, properties: { channel: 'email' } });
  await later(60_000);
  const late = lateDeliveries(t.engine, [a, g]);
  const stops = [
    { type: 'track', userId: account, event: 'Unsubscribed', messageId: a, properties: { channel: 'email' } },
    { type: 'track', userId: guest, event: 'Unsubscribed', messageId: g, properties: { channel: 'email' } },
  ];
  if (oneRequest) await t.api.send(stops);
  else {
    await t.api.send([stops[0]]);
    await later(1_000);
    await t.api.send([stops[1]]);
  }
  await later(60_000);
  const [denial] = await addressItems(x, '"denied"');
  const keepsH = denial!.includes(eventMark({ sourceId: 'default', messageId: h }));
  for (const id of [account, guest]) {
    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
    await later(60_000);
    clock.advance(clock.now().getTime() + 1);
    await t.api.sendAndSettle({ type: 'identify', userId: id, messageId: `${id}-back`, traits: { email: x } });
    await later(60_000);
  }
  for (const id of [account, guest, holder]) await t.api.sendAndSettle({ type: 'identify', userId: id, messageId: `${id}-move`, traits: { email: `${id}-z@example.org` } });
  await later(60_000);
  await late.release();
  await later(60_000);
  return { keepsH, xDenied: (await addressItems(x, '"denied"')).length, newcomer: await newcomerOffer(person, x) };
}

describe("two records' denials of one address in one request", () => {
  it("control: two requests: X's denial keeps h's cause and stays after the erased lives' drops", async () => {
    expect(await scenario('a29or-c', false)).toEqual({ keepsH: true, xDenied: 1, newcomer: 'unsubscribed' });
  }, 60_000);
  it("one request: X's denial keeps h's cause and stays", async () => {
    expect(await scenario('a29or-r', true)).toEqual({ keepsH: true, xDenied: 1, newcomer: 'unsubscribed' });
  }, 60_000);
});
