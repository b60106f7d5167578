/**
 * Audit 19 — an SMS STOP naming the number without its `+` (as several SMS providers report the sender: `447700900340`)
 * holds for the number only once the profile consumer applies it, not from ingest's answer.
 *
 * Promise (README "Consent"): a denial "holds from ingest's 202"; an SMS STOP holds for the number, for every record
 * with it; "a denial's number is the one the event names ..., else the batch's identify's, else the profile's".
 *
 * What I did: the guest and the account share +447700900340. The provider's STOP reaches ingest as the account's
 * `Unsubscribed { channel: sms }` with `context.traits.phone: '447700900340'`; its delivery to the profile consumer is
 * late (`holdConsumer`). Ingest takes the named value as the denial's number (`addressIn`: any non-empty string), finds
 * no E.164 number in it (`holdAddressHash` → undefined) and writes no number hold, without falling back to the
 * profile's number. Meanwhile the guest's marketing text is sent. (Once the consumer applies the STOP, `denyNumber`
 * writes the profile's number: later texts are skipped.)
 *
 * Observed: the guest's offer is `sent` after ingest answered the STOP. Control: the STOP naming `+447700900340`.
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

  // BREAK (audit 19): a STOP naming the number in a form without `+` writes no number hold at ingest (and does not
  // fall back to the profile's number), so it holds for the other record only once the consumer applies it; fix idea:
  // in `recordHolds`/`#putAddressHold`, a named value that is no E.164 number falls back to the batch's or the
  // profile's number (as if none were named), or normalise a leading country code without `+` when it matches it.
  it.fails('the STOP names 447700900340: the guest is not texted', async () => {
    expect(await scenario('a19sp', '+447700900340', '447700900340')).toBe('unsubscribed');
  }, 60_000);
});
