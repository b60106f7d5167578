/**
 * Variant with a known record of retried-drop-keeps-folded-visitor-denial.test.ts (audit 28): the guest `guest-<p>` is
 * erased; its `Unsubscribed` (email), received after, is parked beside its tombstone. The account `u-<p>` (X) then sends
 * `alias {previousId: guest}`: the join makes the account the guest's new life and folds the parked denial in; the
 * consumer writes X's denial (`causes` = {the alias, the folded denial}). Just before that write the account is erased,
 * and the write's check fails once. The account comes back with X; the retry drops the alias and takes only its mark
 * out: X stays denied for the clean new life; a newcomer with X is not mailed either.
 * Control: the account is erased after the join's write completed: X freed, the new life and a newcomer are offered.
 * Found by the 28th hostile audit. Now: a consumer's hold stands for the delivered events of its write only, not the
 * parked denials folded in: the retried drop of the alias takes the hold back.
 */
import { describe, expect, it } from 'vitest';
import { holdConsumer } from '../helpers/engine';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, clock, later, offer, latestOffer, addressItems, newcomerOffer } = offerScenario({ name: 'a28-folded-guest' });

const hooks = dynamoHooks(t, 'a28FoldedGuest');

async function scenario(person: string, race: boolean) {
  const id = `u-${person}`;
  const g = `guest-${person}`;
  const x = `${person}@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: x } });
  await t.api.sendAndSettle({ type: 'identify', userId: g, messageId: `${person}-g`, traits: { plan: 'guest' } });
  await later(60_000);
  expect((await t.api.del(`/v1/customers/${g}`)).status).toBe(200);
  await later(60_000);
  // The guest's unsubscribe, received after its erasure: parked for its new life.
  await t.api.sendAndSettle({ type: 'track', userId: g, event: 'Unsubscribed', messageId: `${person}-gstop`, properties: { channel: 'email' } });
  await later(60_000);
  const held = holdConsumer(t.engine, (event) => event.messageId === `${person}-link`);
  await t.api.send([{ type: 'alias', userId: id, previousId: g, messageId: `${person}-link` }]);
  let erased: number | undefined;
  let failed = false;
  if (race) {
    hooks.set(
      {
        // The consumer's denial of X (the folded denial): the account is erased just before.
        match: (op, input) => op === 'PutItem' && input.includes(`"AH#${addressHash(x)}"`) && input.includes('"K#email"'),
        before: async () => {
          clock.advance(clock.now().getTime() + 1);
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
  }
  let done = false;
  const released = held.release().then(() => void (done = true));
  if (race) {
    for (let i = 0; i < 2000 && !failed; i++) await new Promise((r) => setImmediate(r));
    expect(failed).toBe(true);
    hooks.clear();
  } else {
    await released;
    expect((await addressItems(x, '"denied"')).length).toBe(1);
    clock.advance(clock.now().getTime() + 1);
    erased = (await t.api.del(`/v1/customers/${id}`)).status;
  }
  // The account comes back with X (before the retry).
  clock.advance(clock.now().getTime() + 1);
  await t.api.send([{ type: 'identify', userId: id, messageId: `${person}-back`, traits: { email: x } }]);
  for (let minute = 0; minute < 10 && !done; minute++) await later(60_000);
  await released;
  await later(60_000);
  expect(erased).toBe(200);
  await offer(id, 1);
  return { xDenied: (await addressItems(x, '"denied"')).length, account: await latestOffer(id), newcomer: await newcomerOffer(person, x) };
}

describe("a guest's parked denial folded by an erased life's link, and the alias's retried drop", () => {
  it("control: the account is erased after the link's write: X freed, the new life and a newcomer are offered", async () => {
    expect(await scenario('a28fg-c', false)).toEqual({ xDenied: 0, account: 'sent', newcomer: 'sent' });
  }, 60_000);

  it('erased as the link writes, its check failed: X is not left denied, the new life and a newcomer are offered', async () => {
    expect(await scenario('a28fg-x', true)).toEqual({ xDenied: 0, account: 'sent', newcomer: 'sent' });
  }, 60_000);
});
