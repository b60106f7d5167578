/**
 * Audit 41, issue 10 "A consent rule that cannot be beaten by timestamps": no marketing send happens after a denial's
 * receipt; README "Consent": a STOP "by any record holds for the number, for every record with it", and a denial is
 * the address's, not the person's (`ProfileStore#putAddressHold`: "a late complaint or unsubscribe from the mail of an
 * erased guest record still stops marketing to the address the account shares").
 *
 * How it breaks: ingest reads visitor V's link (none yet) and writes V's holds (no number: V has no profile). V's link
 * to customer A is applied just after, and A is erased (DELETE answers 200) before ingest's second read of V's link
 * (`recordHolds`, `linkedSince`). The late pass then finds no customer (or one with no live profile, hence no number),
 * so the number's hold is never written; the consumer, late with the STOP, drops it as the erased life's. B, the
 * other record with the number, is texted at it after the STOP's answer. The control: A2's visitor V2, linked before
 * its STOP, A2 erased after it: B2 (sharing A2's number) is not texted. Measured: no hold of the number at the send,
 * nor once the consumer ran; a second broadcast then texts B's number again. (Measured too, not kept here: with the
 * link applied and A erased just after both reads, B is texted the same, so the consumer's drop of the STOP, not only
 * the late pass, loses the number's denial.)
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { dynamoHooks } from '../helpers/dynamo-hooks';
import { lateDeliveries, startTestEngine } from '../helpers/engine';

const REPO = path.join(import.meta.dirname, '..', '..');
const templatesDir = mkdtempSync(path.join(tmpdir(), 'rapport-relinked-erased-'));
for (const name of readdirSync(path.join(REPO, 'workflows', 'templates'))) copyFileSync(path.join(REPO, 'workflows', 'templates', name), path.join(templatesDir, name));
writeFileSync(path.join(templatesDir, 'spring-sale.sms.liquid'), '20% off this week. Reply STOP to opt out.\n');
afterAll(() => rmSync(templatesDir, { recursive: true, force: true }));
const PHONE = '+447700900791';
const PHONE2 = '+447700900792';
const T0 = Date.parse('2026-03-02T10:00:00Z');

let clock: VirtualClock;
let engine: Engine;
let api: ReturnType<typeof client>;
const world = {
  get engine() {
    return engine;
  },
};
beforeAll(async () => {
  clock = new VirtualClock(T0);
  engine = await startTestEngine({ clock, templatesDir, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
  api = client(engine);
});
afterAll(() => engine.stop());
const hooks = dynamoHooks(world, 'testRelinkedErasedHolder');

describe('a visitor SMS STOP whose link lands, and whose customer is erased, between ingest writing its holds and reading the link again', () => {
  // OPEN (audit 41): see the header; flip to `it` when fixed.
  it.fails('holds for the number, for another record with it, from the answer', async () => {
    // Prepare: A and B share the number, both subscribed to SMS.
    await api.sendAndSettle([
      { type: 'identify', userId: 're-a', traits: { phone: PHONE, tags: ['beta-tester'] } },
      { type: 'identify', userId: 're-b', traits: { phone: PHONE, tags: ['beta-tester'] } },
      { type: 'track', userId: 're-a', event: 'Subscribed', properties: { channel: 'sms' } },
      { type: 'track', userId: 're-b', event: 'Subscribed', properties: { channel: 'sms' } },
      // The control: A2 and B2 share another number; A2's visitor V2 is linked already.
      { type: 'identify', userId: 're-a2', anonymousId: 're-visitor2', traits: { phone: PHONE2, tags: ['beta-tester'] } },
      { type: 'identify', userId: 're-b2', traits: { phone: PHONE2, tags: ['beta-tester'] } },
      { type: 'track', userId: 're-a2', event: 'Subscribed', properties: { channel: 'sms' } },
      { type: 'track', userId: 're-b2', event: 'Subscribed', properties: { channel: 'sms' } },
    ]);
    await clock.run(T0 + 60_000);
    // A links visitor V (answered; the consumer is late with it and with V's STOP).
    const late = lateDeliveries(engine, ['re-link', 're-stop', 're-stop2']);
    await api.send({ type: 'identify', userId: 're-a', anonymousId: 're-visitor', traits: {}, messageId: 're-link' });

    // Act: V sends STOP; before ingest's second read of V's link, the link is applied and A is erased.
    const reads: number[] = [];
    let erased: number | undefined;
    hooks.set({
      keep: true,
      match: (op, input) => op === 'GetItem' && input.includes('"C#anon:re-visitor"') && input.includes('mergedInto'),
      before: async () => {
        reads.push(reads.length + 1);
        if (reads.length === 2 && erased === undefined) {
          erased = 0;
          await late.release('re-link');
          erased = (await api.del('/v1/customers/re-a')).status;
        }
      },
    });
    const answer = await api.send({ type: 'track', anonymousId: 're-visitor', event: 'Unsubscribed', properties: { channel: 'sms' }, messageId: 're-stop' });
    hooks.clear();
    // The control: V2's STOP (linked at the first read), then A2 erased.
    const answer2 = await api.send({ type: 'track', anonymousId: 're-visitor2', event: 'Unsubscribed', properties: { channel: 'sms' }, messageId: 're-stop2' });
    const erased2 = (await api.del('/v1/customers/re-a2')).status;
    const numberHolds = (await engine.profiles.holdsOf(['re-b'], 'sms', clock.now(), undefined, PHONE)).consent;
    // An SMS broadcast to the segment after the STOP's answer.
    const created = await fetch(`${engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 're-sms', segment: 'tag:beta-tester', send: { channel: 'sms', template: 'spring-sale' } }) });
    await clock.run();
    const texted = (engine.outbox.entries as unknown as Array<{ to: string; tags: Record<string, string> }>).filter((m) => m.tags?.journey === 'broadcast:re-sms').map((m) => [m.tags.customer, m.to]);
    await late.release();
    await clock.idle();
    const numberAfter = (await engine.profiles.holdsOf(['re-b'], 'sms', clock.now(), undefined, PHONE)).consent;
    const created2 = await fetch(`${engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 're-sms-2', segment: 'tag:beta-tester', send: { channel: 'sms', template: 'spring-sale' } }) });
    await clock.run();
    const texted2 = (engine.outbox.entries as unknown as Array<{ to: string; tags: Record<string, string> }>).filter((m) => m.tags?.journey === 'broadcast:re-sms-2').map((m) => [m.tags.customer, m.to]);
    const measured = `control: answer ${JSON.stringify(answer2)}, erase ${erased2}; answer ${JSON.stringify(answer)}; link reads ${reads.length}; erase ${erased}; number's holds at the send ${JSON.stringify(numberHolds)}; created ${created.status}; texted ${JSON.stringify(texted)}; number's holds once the consumer ran ${JSON.stringify(numberAfter)}; second broadcast ${created2.status} texted ${JSON.stringify(texted2)}`;

    // Assess: the race as described.
    expect(erased, measured).toBe(200);
    expect(reads.length, measured).toBeGreaterThanOrEqual(2);
    expect(created.status, measured).toBe(201);
    // The control: A2's number, shared with B2, is not texted.
    expect(erased2, measured).toBe(200);
    expect(texted.filter(([, to]) => to === PHONE2), measured).toEqual([]);
    // The promise: the STOP answered before the broadcasts holds for the number: nothing is texted to it.
    expect(texted.filter(([, to]) => to === PHONE), measured).toEqual([]);
    expect(texted2.filter(([, to]) => to === PHONE), measured).toEqual([]);
  }, 120_000);
});
