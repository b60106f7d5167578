/**
 * SES's complaint about mail to a guest record reaching the feedback function while the guest's erasure runs (after
 * its profile is deleted, before the tombstone is marked complete: a DynamoDB middleware delivers it just before the
 * erasure's completing UpdateItem) still suppresses the address for the account that shares it: the feedback function
 * publishes nothing for the erased person, but writes the suppression, which the store's write-then-check keeps for
 * the live record with the address. Control: delivered after the erasure completed.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { dynamoHooks } from '../helpers/dynamo-hooks';
import { laterOn, profileItems, useTestEngine } from '../helpers/engine';
import { messagesOf, outboxFor, runToEnd } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-complaint-erasing-'));
for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
writeFileSync(path.join(dir, 'journeys', 'offer.yaml'), ['id: offer', 'name: Offer', 'version: 1', 'trigger: { event: Offer Due }', 'entry: { reentry: always }', 'steps:', '  - id: send-offer', '    send: { channel: email, template: offer }', ''].join('\n'));
writeFileSync(path.join(dir, 'templates', 'offer.email.liquid'), 'Subject: 20% off\n\nOffers for you.');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, journeysDir: path.join(dir, 'journeys'), templatesDir: path.join(dir, 'templates'), sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
const later = laterOn(clock, t);

const hooks = dynamoHooks(t, 'complaintDuringErasure');

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

async function scenario(person: string, duringErasure: boolean) {
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
  // SES reports the complaint; EventBridge delivers it to the feedback function later (held here).
  const rule = t.engine.bus.rules.find((r) => r.name === 'ses-feedback')!;
  const deliver = rule.target;
  const held: Array<Parameters<typeof deliver>> = [];
  rule.target = (...args) => void held.push(args);
  t.engine.feedback(mail!.outboxId, { type: 'complaint' });
  await clock.idle();
  rule.target = deliver;
  expect(held).toHaveLength(1);
  await later(60_000);
  let delivered = false;
  const deliverHeld = async () => {
    delivered = true;
    // The feedback function's invocation, awaited (not the clock's idle: the erasure waiting here is work on it).
    await Promise.all(held.map((args) => Promise.resolve(deliver(...args))));
  };
  // With `duringErasure`: delivered just before the erasure marks its tombstone complete (the profile is gone by then).
  if (duringErasure) hooks.set({ match: (op, input) => op === 'UpdateItem' && input.includes('#completedAt'), before: deliverHeld });
  expect((await t.api.del(`/v1/customers/${guest}`)).status).toBe(200);
  hooks.clear();
  await t.engine.settle();
  if (!duringErasure) await deliverHeld();
  expect(delivered).toBe(true);
  await t.engine.settle();
  await later(3_600_000);
  await offer(account, 1);
  return { addressSuppressed: await suppressed(address), accountOffer: await latestOffer(account) };
}

describe("SES's complaint about mail to a guest record, arriving while the guest's erasure runs", () => {
  it('control: after the erasure completed, the complaint suppresses the address for the account', async () => {
    expect(await scenario('a18ce-ctl', false)).toEqual({ addressSuppressed: true, accountOffer: 'suppressed' });
  }, 60_000);

  it('during the erasure, the complaint still suppresses the address for the account', async () => {
    expect(await scenario('a18ce', true)).toEqual({ addressSuppressed: true, accountOffer: 'suppressed' });
  }, 60_000);
});
