/**
 * A grant lifts an address's denial only for the address the granting record has.
 *
 * Promise (README "Consent", ARCHITECTURE decisions 8 and 9): a denial of an email address holds for every customer
 * record with it, until "a later grant of the address (a `Subscribed { channel: email }` or `consent: { email: true }`
 * of any record with it ...) lifts its denial"; and a sender can set only what its source is allowed to.
 *
 * One person, two records with one address (the guest checkout `guest-…` and the account `u-…`); the account clicks
 * the one-click unsubscribe, so the address is denied (`AH#<sha256>` `K#email`). A `forms` source, which may set email
 * consent (`consent.email`) but not the `email` trait, sends `Subscribed {channel: email}` for a lead of its own
 * (`lead-…`, no address) naming the person's address in `context.traits.email`: the lead's grant is its own; the
 * address stays denied and the guest record's offer is skipped `unsubscribed`.
 *
 * The fix (functions/ingest/consent.ts `recordHolds`): a grant is recorded for the address of the granting customer's
 * live profile only, never for one its event names; and an address an event names (`traits.email`,
 * `context.traits.email`) counts for a denial only from a source that may set `email` (service.ts), so the same
 * source's `Unsubscribed` naming the address denies the lead, not the address.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';
import { OTHER_SECRET, TEST_SECRET, TEST_WRITE_KEY } from '../helpers/engine';
import { post, signedRequest } from '../helpers/webhook';

const { t, later, offer, latestOffer, guestAndAccount, unsubscribeLink, clickOneClick } = offerScenario({
  name: 'audit15-grant',
  engine: {
    sources: [
      { id: 'default', webhookSecrets: [TEST_SECRET], writeKeys: [TEST_WRITE_KEY] },
      // A sign-up form tool: it may send Subscribed, Unsubscribed and Identify, set email consent, and no other trait (not `email`).
      { id: 'forms', webhookSecrets: [OTHER_SECRET], writeKeys: [], events: ['Subscribed', 'Unsubscribed', 'Identify'], traits: ['consent.email'] },
    ],
  },
});
const fromForms = (event: unknown) => post(`${t.engine.url}/v1/events`, signedRequest(OTHER_SECRET, event));

async function scenario(person: string, strangerNamesTheAddress: boolean) {
  const { address, account, guest } = await guestAndAccount(person);
  const lead = `lead-${person}`;
  await offer(account, 1);
  // The account's one-click unsubscribe.
  const link = unsubscribeLink(account);
  const page = await clickOneClick(link);
  const promised = page.status === 200 && (await page.text()).includes('You will no longer receive marketing email messages from us');
  await later(3_600_000);

  // The forms source may not set the address as a trait: refused, naming the field.
  const identify = await fromForms({ type: 'identify', userId: lead, traits: { email: address, consent: { email: true } } });
  // Its own lead's grant, the lead's context naming the person's address (or not).
  const grant = await fromForms({
    type: 'track',
    userId: lead,
    event: 'Subscribed',
    properties: { channel: 'email' },
    ...(strangerNamesTheAddress && { context: { traits: { email: address } } }),
  });
  await t.engine.settle();
  await later(60_000);
  const leadEmail = (await t.api.customer(lead)).traits.email;

  await offer(guest, 2);
  return { promised, identify: identify.status, grant: grant.status, leadEmail, guestOffer: await latestOffer(guest) };
}

describe('a grant naming an address in its context, from a record without the address', () => {
  it("control: the lead's grant without the address leaves the address denied; the guest's offer is skipped", async () => {
    expect(await scenario('a15-grant-ctl', false)).toEqual({ promised: true, identify: 400, grant: 202, leadEmail: undefined, guestOffer: 'unsubscribed' });
  }, 60_000);

  it("a stranger's grant naming the address in context does not lift its denial", async () => {
    expect(await scenario('a15-grant', true)).toEqual({ promised: true, identify: 400, grant: 202, leadEmail: undefined, guestOffer: 'unsubscribed' });
  }, 60_000);

  it("a denial naming an address in its context, from a source that may not set `email`, denies the lead's own consent only", async () => {
    const person = 'a15-deny';
    const address = `${person}@example.com`;
    await t.api.sendAndSettle({ type: 'identify', userId: `guest-${person}`, traits: { email: address } });
    await later(60_000);
    const denial = await fromForms({ type: 'track', userId: `lead-${person}`, event: 'Unsubscribed', properties: { channel: 'email' }, context: { traits: { email: address } } });
    await t.engine.settle();
    await later(60_000);
    const leadConsent = (await t.api.customer(`lead-${person}`)).consent.email.status;
    await offer(`guest-${person}`, 1);
    expect({ denial: denial.status, leadConsent, guestOffer: await latestOffer(`guest-${person}`) }).toEqual({ denial: 202, leadConsent: 'denied', guestOffer: 'sent' });
  }, 60_000);
});
