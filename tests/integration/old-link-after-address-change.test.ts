/**
 * A click on an old email's one-click link denies the address that email went to (the hash `a` signed into the link),
 * for every record with it, whatever became of the record since (ProfileStore.denyAddressOfLink). The guest and the
 * account share X; the account is mailed an offer at X, then moves to Y; the person clicks the old offer's link: X is
 * denied (the guest's offer is skipped `unsubscribed`), as well as the record's own consent. The same when the mail
 * went to a guest record since erased that came back at another address (a new life): X is denied for the account.
 * Control: the click before the move.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';
import { outboxFor } from '../helpers/journeys';

const { t, later, offer, latestOffer, guestAndAccount, unsubscribeLink, clickOneClick } = offerScenario({ name: 'old-link' });

async function scenario(person: string, changesAddressFirst: boolean) {
  const { address, account, guest } = await guestAndAccount(person);
  await offer(account, 1);
  const mail = outboxFor(t.engine, account).find((m) => m.channel === 'email' && 'headers' in m && m.headers['List-Unsubscribe']) as { to: unknown; headers: Record<string, string> } | undefined;
  const link = /^<(.+)>$/.exec(mail!.headers['List-Unsubscribe']!)![1]!;
  const wentTo = JSON.stringify(mail!.to).includes(address) && new URL(link).searchParams.has('a');
  if (changesAddressFirst) {
    await t.api.sendAndSettle({ type: 'identify', userId: account, traits: { email: `${person}-new@example.org` } });
    await later(60_000);
  }
  const page = await clickOneClick(link);
  const answer = { status: page.status, promised: (await page.text()).includes('no longer receive marketing email') };
  await t.engine.settle();
  await later(3_600_000);
  await offer(guest, 1);
  return { wentTo, answer, guestOffer: await latestOffer(guest) };
}

/** The guest, mailed at X, is erased and comes back (a new life) at Z; the account keeps X. Then the old link is clicked. */
async function comebackScenario(person: string) {
  const { account, guest } = await guestAndAccount(person);
  await offer(guest, 1);
  const link = unsubscribeLink(guest);
  await later(60_000);
  expect((await t.api.del(`/v1/customers/${guest}`)).status).toBe(200);
  await t.engine.settle();
  await later(3_600_000);
  await t.api.sendAndSettle({ type: 'identify', userId: guest, traits: { email: `${person}-z@example.org` } });
  await later(60_000);
  const page = await clickOneClick(link);
  await t.engine.settle();
  await later(3_600_000);
  await offer(account, 1);
  return { click: page.status, accountOffer: await latestOffer(account) };
}

describe("a click on an old email's one-click link after the record changed its address", () => {
  it('control: the click before the change denies the address the mail went to', async () => {
    expect(await scenario('a17l-ctl', false)).toEqual({ wentTo: true, answer: { status: 200, promised: true }, guestOffer: 'unsubscribed' });
  }, 60_000);

  it('the click after the change still denies the address the mail went to', async () => {
    expect(await scenario('a17l', true)).toEqual({ wentTo: true, answer: { status: 200, promised: true }, guestOffer: 'unsubscribed' });
  }, 60_000);

  it("the click of an erased guest's old link after its comeback at another address still denies the address", async () => {
    expect(await comebackScenario('a17lc')).toEqual({ click: 200, accountOffer: 'unsubscribed' });
  }, 60_000);
});
