/**
 * An SMS STOP naming the number without its `+` (as several SMS providers report the sender: `447700900340`) holds
 * for the number from ingest's answer: a named value the channel cannot take counts as no address named, so the
 * denial is the record's own number's (`#putAddressHold`), and the guest sharing the number is not texted while the
 * STOP's delivery to the profile consumer is late (`holdConsumer`). Control: the STOP naming `+447700900340`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { holdConsumer, laterOn, useTestEngine } from '../helpers/engine';
import { messagesOf, runToEnd } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-a19-stop-plus-'));
for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
writeFileSync(path.join(dir, 'journeys', 'offer-sms.yaml'), ['id: offer-sms', 'name: Offer sms', 'version: 1', 'trigger: { event: Offer Due }', 'entry: { reentry: always }', 'steps:', '  - id: send-offer', '    send: { channel: sms, template: offer }', ''].join('\n'));
writeFileSync(path.join(dir, 'templates', 'offer.sms.liquid'), '20% off today. Reply STOP to opt out.');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, journeysDir: path.join(dir, 'journeys'), templatesDir: path.join(dir, 'templates'), sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
const later = laterOn(clock, t);

const offer = async (id: string) => {
  await t.api.sendAndSettle({ type: 'track', userId: id, event: 'Offer Due', messageId: `${id}-offer` });
  await runToEnd(clock, t.engine, id, 'offer-sms');
  const record = (await messagesOf(t.engine, id)).find((m) => m.stepId === 'send-offer') as unknown as { status: string; reason?: string } | undefined;
  return record?.status === 'sent' ? 'sent' : record?.reason;
};

async function scenario(person: string, number: string, named: string) {
  const account = `u-${person}`;
  const guest = `guest-${person}`;
  await t.api.send([
    { type: 'identify', userId: guest, traits: { phone: number } },
    { type: 'identify', userId: account, traits: { phone: number } },
  ]);
  await later(60_000);
  const late = holdConsumer(t.engine, (d) => d.userId === account && d.type === 'track');
  expect((await t.api.send({ type: 'track', userId: account, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'sms' }, context: { traits: { phone: named } } })).accepted).toHaveLength(1);
  await later(1_000);
  const guestOffer = await offer(guest);
  expect(late.held).toHaveLength(1);
  await late.release();
  return guestOffer;
}

describe('an SMS STOP whose sender number is reported without the +', () => {
  it('control: the STOP names +447700900341: the guest is not texted', async () => {
    expect(await scenario('a19sp-ctl', '+447700900341', '+447700900341')).toBe('unsubscribed');
  }, 60_000);

  it('the STOP names 447700900340: the guest is not texted', async () => {
    expect(await scenario('a19sp', '+447700900340', '447700900340')).toBe('unsubscribed');
  }, 60_000);
});
