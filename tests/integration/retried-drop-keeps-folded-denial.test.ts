/**
 * A denial parked under an erased visitor and folded into the account by a link of the account's erased life keeps
 * the address X denied for the account's clean new life: the retried drop of the link takes back only the link's
 * cause, and nothing ever drops the folded denial's.
 *
 * Promise (issue 10: erasure removes everything; a customer who comes back starts clean): the visitor `anon:<v>` is
 * erased; its `Unsubscribed` (email), received after, is parked beside its tombstone. The account `u-<p>` (X) then
 * sends an identify naming the visitor: the link makes the account the visitor's new life and folds the parked denial
 * in; the consumer writes X's denial (`AH#<X>`/`K#email`, `causes` = {the identify, the folded denial}). Just before
 * that write the account is erased (the visitor with it); the write's check (the tombstone read) fails once. The
 * account comes back with X. The retry drops the identify (`undoErasedLifeWrites`): it takes only the identify's mark
 * out; the folded denial's mark stays, and the folded denial (unparked by the first attempt, erased with the account)
 * is never dropped again: X stays denied for the new life, which never chose it; a newcomer with X is not mailed
 * either. (The receipt rule before e0da8c5 took the hold: received before the erasure completed.)
 * The same with a known record: the guest `guest-<p>` erased, its unsubscribe parked, then `alias {previousId: guest}`
 * from the account folds it in (`causes` = {the alias, the folded denial}).
 * Control: the account is erased after the link's write completed: its erasure frees X (no other holder); the new life
 * and a newcomer with X are offered.
 * Found by the 28th hostile audit. Now: a consumer's hold stands for the delivered events of its write only, not the parked denials
 * folded in (never delivered again): the retried drop of the link takes the hold back.
 */
import { describe, expect, it } from 'vitest';
import { holdConsumer } from '../helpers/engine';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';

const { t, clock, later, offer, latestOffer, addressItems, newcomerOffer } = offerScenario({ name: 'a28-folded-visitor' });

const hooks = dynamoHooks(t, 'a28FoldedVisitor');

/** The linked record: a visitor (`anon:v-<p>`, linked by an identify) or a guest (`guest-<p>`, joined by an alias). */
const LINKED = {
  visitor: (person: string) => {
    const v = `v-${person}`;
    return {
      erasedAs: `anon:${v}`,
      before: { type: 'track', anonymousId: v, event: 'Page Viewed', messageId: `${person}-view` },
      stop: { type: 'track', anonymousId: v, event: 'Unsubscribed', messageId: `${person}-vstop`, properties: { channel: 'email' } },
      link: (id: string) => ({ type: 'identify', userId: id, anonymousId: v, messageId: `${person}-link`, traits: {} }),
    };
  },
  guest: (person: string) => {
    const g = `guest-${person}`;
    return {
      erasedAs: g,
      before: { type: 'identify', userId: g, messageId: `${person}-g`, traits: { plan: 'guest' } },
      stop: { type: 'track', userId: g, event: 'Unsubscribed', messageId: `${person}-gstop`, properties: { channel: 'email' } },
      link: (id: string) => ({ type: 'alias', userId: id, previousId: g, messageId: `${person}-link` }),
    };
  },
};

async function scenario(person: string, linked: keyof typeof LINKED, race: boolean) {
  const id = `u-${person}`;
  const other = LINKED[linked](person);
  const x = `${person}@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: x } });
  await t.api.sendAndSettle(other.before);
  await later(60_000);
  expect((await t.api.del(`/v1/customers/${other.erasedAs}`)).status).toBe(200);
  await later(60_000);
  // The linked record's unsubscribe, received after its erasure: parked for its new life.
  await t.api.sendAndSettle(other.stop);
  await later(60_000);
  const held = holdConsumer(t.engine, (event) => event.messageId === `${person}-link`);
  await t.api.send([other.link(id)]);
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

describe("a linked record's parked denial folded by an erased life's link, and the link's retried drop", () => {
  for (const linked of ['visitor', 'guest'] as const) {
    it(`control (${linked}): the account is erased after the link's write: X freed, the new life and a newcomer are offered`, async () => {
      expect(await scenario(`a28f${linked[0]}-c`, linked, false)).toEqual({ xDenied: 0, account: 'sent', newcomer: 'sent' });
    }, 60_000);
    it(`${linked}: erased as the link writes, its check failed: X is not left denied, the new life and a newcomer are offered`, async () => {
      expect(await scenario(`a28f${linked[0]}-x`, linked, true)).toEqual({ xDenied: 0, account: 'sent', newcomer: 'sent' });
    }, 60_000);
  }
});
