/**
 * Erasure leaves nothing of the customer, also when a late event's address hold is refused. The guest and the account
 * share X, already suppressed (the account's hard bounce); the guest is erased; SES's late complaint about the guest's
 * mail reaches the feedback function: its address pointer under the erased id (`C#<id>/AP#<hash>`) is deleted even
 * though X's suppression was not written (the earlier suppression stands), as it is when the write succeeds.
 * Control: X not suppressed yet.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { laterOn, profileItems, useTestEngine } from '../helpers/engine';
import { messagesOf, outboxFor, runToEnd } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-pointer-left-'));
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
const hashOf = (address: string) => createHash('sha256').update(address).digest('hex');
/** The items of the erased id's partition (the id is in their key). */
const itemsUnder = async (id: string) => (await profileItems(t.engine, (text) => text.includes(`"C#${id}"`))).map((text) => JSON.parse(text) as Record<string, { S?: string }>).map((item) => item.SK?.S ?? JSON.stringify(item));

async function scenario(person: string, accountBounced: boolean) {
  const address = `${person}@example.com`;
  const account = `u-${person}`;
  const guest = `guest-${person}`;
  await t.api.send([
    { type: 'identify', userId: guest, traits: { email: address } },
    { type: 'identify', userId: account, traits: { email: address } },
  ]);
  await later(60_000);
  await offer(guest, 1);
  const [guestMail] = outboxFor(t.engine, guest);
  if (accountBounced) {
    await offer(account, 1);
    const [accountMail] = outboxFor(t.engine, account);
    t.engine.feedback(accountMail!.outboxId, { type: 'bounce', bounceType: 'Permanent' });
    await clock.idle();
    await t.engine.settle();
  }
  // SES's complaint about the guest's offer: EventBridge delivers it to the feedback function after the erasure.
  const rule = t.engine.bus.rules.find((r) => r.name === 'ses-feedback')!;
  const deliver = rule.target;
  const held: Array<Parameters<typeof deliver>> = [];
  rule.target = (...args) => void held.push(args);
  t.engine.feedback(guestMail!.outboxId, { type: 'complaint' });
  await clock.idle();
  rule.target = deliver;
  expect(held).toHaveLength(1);
  await later(60_000);
  expect((await t.api.del(`/v1/customers/${guest}`)).status).toBe(200);
  await t.engine.settle();
  const afterErasure = await itemsUnder(guest);
  await later(3_600_000);
  await Promise.all(held.map((args) => Promise.resolve(deliver(...args))));
  await clock.idle();
  await t.engine.settle();
  await later(60_000);
  await offer(account, 2);
  return { afterErasure, afterComplaint: await itemsUnder(guest), accountOffer: await latestOffer(account), pointerHash: hashOf(address) };
}

describe("SES's late complaint about an erased guest's mail, the shared address already suppressed", () => {
  it('control: X not suppressed yet: the complaint leaves nothing under the erased id', async () => {
    const { afterErasure, afterComplaint, accountOffer } = await scenario('a18pl-ctl', false);
    expect({ afterErasure, afterComplaint, accountOffer }).toEqual({ afterErasure: [], afterComplaint: [], accountOffer: 'suppressed' });
  }, 60_000);

  it('X already suppressed: the complaint leaves nothing under the erased id', async () => {
    const { afterErasure, afterComplaint, accountOffer } = await scenario('a18pl', true);
    expect({ afterErasure, afterComplaint, accountOffer }).toEqual({ afterErasure: [], afterComplaint: [], accountOffer: 'suppressed' });
  }, 60_000);
});
