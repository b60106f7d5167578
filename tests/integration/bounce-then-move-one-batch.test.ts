/**
 * A tool's hard bounce naming no address, then an identify moving the record to B, in one request: ingest suppresses
 * A (the address in force at the bounce); the profile consumer, applying both in one write, does not suppress B (a
 * write that moves the record leaves its bounce to ingest). Control: the same in two requests.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';

const { t, later, offer, latestOffer, addressItems } = offerScenario({ name: 'a19-bounce-move' });

async function scenario(person: string, oneRequest: boolean) {
  const account = `u-${person}`;
  const spouse = `spouse-${person}`;
  const first = `${person}-a@example.com`;
  const other = `${person}-b@example.com`;
  await t.api.send([
    { type: 'identify', userId: account, traits: { email: first } },
    { type: 'identify', userId: spouse, traits: { email: other } },
  ]);
  await later(60_000);
  const bounce = { type: 'track' as const, userId: account, event: 'Message Bounced', messageId: `${person}-bounce`, properties: { channel: 'email', bounceType: 'hard' } };
  const move = { type: 'identify' as const, userId: account, messageId: `${person}-move`, traits: { email: other } };
  if (oneRequest) {
    await t.api.sendAndSettle([bounce, move]);
  } else {
    await t.api.sendAndSettle(bounce);
    await later(1_000);
    await t.api.sendAndSettle(move);
  }
  await later(60_000);
  await offer(spouse, 1);
  return { firstSuppressed: (await addressItems(first, 'address-suppression')).length, otherSuppressed: (await addressItems(other, 'address-suppression')).length, spouseOffer: await latestOffer(spouse) };
}

describe("a tool's bounce and a move to another address in one request", () => {
  it('control: in two requests: A suppressed, B (the spouse) mailed', async () => {
    expect(await scenario('a19bm-ctl', false)).toEqual({ firstSuppressed: 1, otherSuppressed: 0, spouseOffer: 'sent' });
  }, 60_000);

  it('in one request: A suppressed, B (the spouse) mailed', async () => {
    expect(await scenario('a19bm', true)).toEqual({ firstSuppressed: 1, otherSuppressed: 0, spouseOffer: 'sent' });
  }, 60_000);
});
