/**
 * A phone number's and an email address's holders are found by erasure at once, whatever the lag of the twin's indexes.
 *
 * The AWS twin's global secondary indexes are eventually consistent (`EngineOptions.twin.indexLagMs`), as DynamoDB's
 * are. An erasure keeps a number's denial while another live record has the number (README "Consent"); it finds them
 * in the holder items under the number (`AH#<sha256(number)>` / `H#<sha256(id)>`, written before the profile, read
 * strongly consistently), not in an index: the guest record that got the number a moment before the account's erasure
 * keeps the account's STOP, though no index would list the guest yet. An email address's records are listed the same way
 * (beside the email index, which still finds records written before listings were kept for addresses).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { laterOn, useTestEngine } from '../helpers/engine';
import { messagesOf, runToEnd } from '../helpers/journeys';

const SECOND = 1000;
const LAG_MS = 120_000;
const dir = mkdtempSync(path.join(tmpdir(), 'rapport-twin-number-lag-'));
for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
for (const channel of ['email', 'sms'] as const) {
  writeFileSync(path.join(dir, 'journeys', `offer-${channel}.yaml`), [`id: offer-${channel}`, `name: Offer ${channel}`, 'version: 1', `trigger: { event: Offer Due ${channel} }`, 'entry: { reentry: always }', 'steps:', '  - id: send-offer', `    send: { channel: ${channel}, template: offer }`, ''].join('\n'));
}
writeFileSync(path.join(dir, 'templates', 'offer.email.liquid'), 'Subject: 20% off\n\nOffers for you.');
writeFileSync(path.join(dir, 'templates', 'offer.sms.liquid'), '20% off today. Reply STOP to opt out.');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({
  clock,
  journeysDir: path.join(dir, 'journeys'),
  templatesDir: path.join(dir, 'templates'),
  sendPolicy: { quietHours: undefined },
  sweepEveryMs: 0,
  logLevel: 'SILENT',
  twin: { seed: 17, maxDelayMs: SECOND, duplicateProbability: 0, indexLagMs: LAG_MS },
});
const later = laterOn(clock, t);

const offer = async (id: string, channel: 'email' | 'sms') => {
  await t.api.sendAndSettle({ type: 'track', userId: id, event: `Offer Due ${channel}`, messageId: `${id}-offer-${channel}` });
  await runToEnd(clock, t.engine, id, `offer-${channel}`);
  const record = (await messagesOf(t.engine, id)).find((m) => m.stepId === 'send-offer' && m.channel === channel) as unknown as { status: string; reason?: string } | undefined;
  return record?.status === 'sent' ? 'sent' : record?.reason;
};

describe(`an erasure right after another record got the number (indexes lag up to ${LAG_MS / SECOND} s)`, () => {
  it("keeps the number's STOP for the guest who got the number a moment before", async () => {
    const number = '+447700900401';
    await t.api.sendAndSettle({ type: 'identify', userId: 'u-lag', traits: { phone: number } });
    await later(60_000);
    await t.api.sendAndSettle({ type: 'track', userId: 'u-lag', event: 'Unsubscribed', messageId: 'lag-stop', properties: { channel: 'sms' } });
    await later(86_400_000);
    // The guest record gets the number (applied), and the account is erased before any index could list the guest.
    await t.api.sendAndSettle({ type: 'identify', userId: 'guest-lag', traits: { phone: number } });
    await later(2 * SECOND);
    expect((await t.api.del('/v1/customers/u-lag')).status).toBe(200);
    expect(await offer('guest-lag', 'sms')).toBe('unsubscribed');
  }, 60_000);

  it('email: the same with an address, listed under it (the email index lags), keeps its denial', async () => {
    const address = 'lag@example.com';
    await t.api.sendAndSettle({ type: 'identify', userId: 'u-lag-mail', traits: { email: address } });
    await later(60_000);
    await t.api.sendAndSettle({ type: 'track', userId: 'u-lag-mail', event: 'Unsubscribed', messageId: 'lag-mail-stop', properties: { channel: 'email' } });
    await later(86_400_000);
    await t.api.sendAndSettle({ type: 'identify', userId: 'guest-lag-mail', traits: { email: address } });
    await later(2 * SECOND);
    expect((await t.api.del('/v1/customers/u-lag-mail')).status).toBe(200);
    expect(await offer('guest-lag-mail', 'email')).toBe('unsubscribed');
  }, 60_000);
});
