/**
 * Audit 17. Promise (README "Consent"): a hard bounce or a complaint of email suppresses the address for every record
 * with it ("a hard bounce or a complaint every email to it", SES's account-level suppression list), whichever record
 * the complained message was sent for; the feedback function suppresses the address the message went to (SES's
 * recipient), whatever the record's state by the time it arrives.
 * What I did: the guest and the account share X. The guest is mailed an offer at X; the guest is erased (the account
 * still has X: the erasure keeps X's items for it). SES's complaint about the guest's offer arrives after the erasure
 * completed (feedback loops report days later). Then the account gets an offer.
 * Observed: the complaint finds no live profile and a completed tombstone: `handleSesFeedback` writes the suppression
 * hold for the erased id with `to: X` (`putSuppressionHold` -> `#putAddressHold`), whose write-then-check sees the
 * guest erased (no new life) and takes X's new suppression back (it created the item, so it deletes it). The event is
 * parked for the guest's new life. The account, who has X, is mailed again at the address that complained. The
 * one-click link got the same case fixed in fc069d7 (`denyErasedAddress`); feedback has no such path.
 * The same for a hard bounce. Control: the complaint before the erasure suppresses X and the account's offer is skipped `suppressed`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { laterOn, profileItems, useTestEngine } from '../helpers/engine';
import { messagesOf, outboxFor, runToEnd } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-a17-complaint-'));
for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
writeFileSync(path.join(dir, 'journeys', 'offer.yaml'), ['id: offer', 'name: Offer', 'version: 1', 'trigger: { event: Offer Due }', 'entry: { reentry: always }', 'steps:', '  - id: send-offer', '    send: { channel: email, template: offer }', ''].join('\n'));
writeFileSync(path.join(dir, 'templates', 'offer.email.liquid'), 'Subject: 20% off\n\nOffers for you.');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, journeysDir: path.join(dir, 'journeys'), templatesDir: path.join(dir, 'templates'), sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
const later = laterOn(clock, t);

const offer = async (id: string, n: number) => {
  await t.api.sendAndSettle({ type: 'track', userId: id, event: 'Offer Due', messageId: `${id}-offer-${n}` });
  await runToEnd(clock, t.engine, id, 'offer');
};
const latestOffer = async (id: string) => {
  const offers = (await messagesOf(t.engine, id)).filter((m) => m.stepId === 'send-offer') as unknown as Array<{ status: string; reason?: string; at: string }>;
  const record = offers.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)).at(-1);
  return record?.status === 'sent' ? 'sent' : record?.reason;
};
const suppressed = async (address: string) => (await profileItems(t.engine, (text) => text.includes(`"AH#${createHash('sha256').update(address).digest('hex')}"`) && text.includes('address-suppression'))).length === 1;

async function scenario(person: string, kind: 'complaint' | 'hard-bounce', afterErasure: boolean) {
  const address = `${person}@example.com`;
  const account = `u-${person}`;
  const guest = `guest-${person}`;
  await t.api.send([
    { type: 'identify', userId: guest, traits: { email: address } },
    { type: 'identify', userId: account, traits: { email: address } },
  ]);
  await later(60_000);
  await offer(guest, 1);
  const [mail] = outboxFor(t.engine, guest);
  // SES reports it; with `afterErasure`, EventBridge delivers it to the feedback function only after the erasure.
  const rule = t.engine.bus.rules.find((r) => r.name === 'ses-feedback')!;
  const deliver = rule.target;
  const held: Array<Parameters<typeof deliver>> = [];
  if (afterErasure) rule.target = (...args) => void held.push(args);
  t.engine.feedback(mail!.outboxId, kind === 'complaint' ? { type: 'complaint' } : { type: 'bounce', bounceType: 'Permanent' });
  await clock.idle();
  rule.target = deliver;
  expect(held).toHaveLength(afterErasure ? 1 : 0);
  await later(60_000);
  expect((await t.api.del(`/v1/customers/${guest}`)).status).toBe(200);
  await t.engine.settle();
  await later(3_600_000);
  await Promise.all(held.map((args) => Promise.resolve(deliver(...args))));
  await clock.idle();
  await t.engine.settle();
  await later(60_000);
  await offer(account, 1);
  return { addressSuppressed: await suppressed(address), accountOffer: await latestOffer(account) };
}

describe('a late SES complaint about mail to an erased record whose address a live record shares', () => {
  it('control: the complaint before the erasure suppresses the address for the account', async () => {
    expect(await scenario('a17c-ctl', 'complaint', false)).toEqual({ addressSuppressed: true, accountOffer: 'suppressed' });
  }, 60_000);

  // BREAK (audit 17): a complaint received after the complained record's erasure is taken back for the address (the
  // erased id's write-then-check), though the account still has it: the account is mailed at the complaining address;
  // fix idea: as `denyErasedAddress` does for the one-click link, when the id is erased with no new life, write the
  // address's suppression if `#liveHolderOf(hash)` finds a live record (pointer under it), instead of taking it back.
  it.fails('a complaint after the erasure still suppresses the address the live account has', async () => {
    expect(await scenario('a17c', 'complaint', true)).toEqual({ addressSuppressed: true, accountOffer: 'suppressed' });
  }, 60_000);

  // BREAK (audit 17): the same for a late hard bounce (a Permanent bounce of the erased guest's mail): X keeps being
  // mailed for the account; fix idea: the same as above (one path for both suppressions).
  it.fails('a hard bounce after the erasure still suppresses the address the live account has', async () => {
    expect(await scenario('a17b', 'hard-bounce', true)).toEqual({ addressSuppressed: true, accountOffer: 'suppressed' });
  }, 60_000);
});
