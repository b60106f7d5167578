/**
 * Audit 40, issue 10 "A consent rule that cannot be beaten by timestamps": no marketing send happens after a denial's
 * receipt; README "Consent": a STOP "by any record holds for the number, for every record with it" (ingest writes the
 * number's hold before it answers: the number the event names, else the batch's, else the profile's), and today's fix
 * (`recordHolds`, write then check): a visitor linked while ingest wrote its denial gets the holds under its customer.
 *
 * How it breaks: ingest reads the visitor's link (none yet), writes the visitor's holds: the consent hold under
 * `anon:<visitor>` and the number's (`putAddressConsent`, the number of the visitor's live profile: none, so no number
 * hold). The link is applied just after that, before ingest's second read of the link; the second read finds the
 * customer and writes the customer's consent hold only (`holdWrites`), never the number's. Another record with the
 * number (B, subscribed to SMS before the STOP) is then texted at that number after the STOP was answered, while the
 * consumer is late with it (the customer A itself is skipped: its hold is read).
 * Found by the fortieth hostile audit. Now: the re-read's late writes put the address's (the number's) hold under
 * the customer the visitor is linked to, as well as the customer's own.
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
const templatesDir = mkdtempSync(path.join(tmpdir(), 'rapport-relinked-stop-'));
for (const name of readdirSync(path.join(REPO, 'workflows', 'templates'))) copyFileSync(path.join(REPO, 'workflows', 'templates', name), path.join(templatesDir, name));
writeFileSync(path.join(templatesDir, 'spring-sale.sms.liquid'), '20% off this week. Reply STOP to opt out.\n');
afterAll(() => rmSync(templatesDir, { recursive: true, force: true }));
const PHONE = '+447700900789';
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
const hooks = dynamoHooks(world, 'testRelinkedStop');

describe('a visitor SMS STOP whose link lands between ingest writing its holds and reading the link again', () => {
  it('holds for the number, for another record with it, from the answer', async () => {
    // Prepare: A and B share the number, both subscribed to SMS.
    await api.sendAndSettle([
      { type: 'identify', userId: 'rs-a', traits: { phone: PHONE, tags: ['beta-tester'] } },
      { type: 'identify', userId: 'rs-b', traits: { phone: PHONE, tags: ['beta-tester'] } },
      { type: 'track', userId: 'rs-a', event: 'Subscribed', properties: { channel: 'sms' } },
      { type: 'track', userId: 'rs-b', event: 'Subscribed', properties: { channel: 'sms' } },
    ]);
    await clock.run(T0 + 60_000);
    // A links visitor V (answered; the consumer is late with it).
    const late = lateDeliveries(engine, ['rs-link', 'rs-stop']);
    await api.send({ type: 'identify', userId: 'rs-a', anonymousId: 'rs-visitor', traits: {}, messageId: 'rs-link' });

    // Act: V sends STOP; the link is applied at ingest's second read of V's link (after its holds were written).
    const reads: number[] = [];
    let released = false;
    hooks.set({
      keep: true,
      match: (op, input) => op === 'GetItem' && input.includes('"C#anon:rs-visitor"') && input.includes('mergedInto'),
      before: async () => {
        reads.push(reads.length + 1);
        if (reads.length === 2 && !released) {
          released = true;
          await late.release('rs-link');
        }
      },
    });
    const answer = await api.send({ type: 'track', anonymousId: 'rs-visitor', event: 'Unsubscribed', properties: { channel: 'sms' }, messageId: 'rs-stop' });
    hooks.clear();
    const linked = (await engine.profiles.get('rs-a'))?.profile.anonymousIds.includes('rs-visitor');
    const numberHolds = (await engine.profiles.holdsOf(['rs-b'], 'sms', clock.now(), undefined, PHONE)).consent;
    const aHolds = (await engine.profiles.holdsOf(['rs-a'], 'sms', clock.now())).consent;
    // An SMS broadcast to the segment after the STOP's answer.
    const created = await fetch(`${engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'rs-sms', segment: 'tag:beta-tester', send: { channel: 'sms', template: 'spring-sale' } }) });
    await clock.run();
    const texted = (engine.outbox.entries as unknown as Array<{ to: string; tags: Record<string, string> }>).filter((m) => m.tags?.journey === 'broadcast:rs-sms').map((m) => [m.tags.customer, m.to]);
    await late.release();
    await clock.idle();
    const consentA = (await engine.profiles.get('rs-a'))?.profile.consent.sms;
    const numberAfter = (await engine.profiles.holdsOf(['rs-b'], 'sms', clock.now(), undefined, PHONE)).consent;
    const measured = `answer ${JSON.stringify(answer)}; link reads ${reads.length}, released ${released}; linked ${linked}; A's holds ${JSON.stringify(aHolds)}; number's holds at the send ${JSON.stringify(numberHolds)}; created ${created.status}; texted ${JSON.stringify(texted)}; A's consent once applied ${JSON.stringify(consentA)}; number's holds then ${JSON.stringify(numberAfter)}`;

    // Assess: the race as described.
    expect(released, measured).toBe(true);
    expect(linked, measured).toBe(true);
    expect(aHolds.map((h) => h.status), measured).toEqual(['denied']);
    expect(created.status, measured).toBe(201);
    expect(texted.filter(([customer]) => customer === 'rs-a'), measured).toEqual([]);
    expect(consentA?.status, measured).toBe('denied');
    // The promise: the STOP answered before the broadcast holds for the number: nothing is texted to it.
    expect(texted.filter(([, to]) => to === PHONE), measured).toEqual([]);
  }, 120_000);
});
