/**
 * Audit 41, issue 10 "A consent rule that cannot be beaten by timestamps": no marketing send happens after a denial's
 * receipt. A visitor's denial answered by ingest is held under `C#anon:<visitor>`; a send reads the holds of the
 * visitors the profile lists, and when a visitor leaves that list the consumer's eviction carries its holds to the
 * customer (`ProfileStore.carryHolds`), "as their own".
 *
 * How it breaks: the carry writes each hold with its original receipt and judges it (`#undoHoldIfErased`) against the
 * customer's tombstone at that receipt. A customer erased AFTER the visitor's denial was received, who came back (a new
 * life) and then linked the visitor, has its carried hold taken for the erased life's and deleted. Here: visitor V
 * leaves push (answered; the consumer is late with it); customer B is then erased and comes back; B's new life links V;
 * while V is listed, the push broadcast skips B (V's hold is read); once PROFILE_LIMITS.anonymousIds newer visitors
 * evict V, the carried hold is gone and the broadcast pushes B's device after the denial's answer. The control, D,
 * same steps but its visitor W not evicted: skipped. Measured: the carry reports 1 hold carried, none is left under B;
 * a second broadcast after the consumer applied the denial pushes B again (B's consent.push stays unknown).
 * Found by the forty-first hostile audit. Now: the carry writes the hold as the life the consumer writes (the
 * erasure the customer came back after): a visitor's hold is the new life's once the new life has the visitor.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROFILE_LIMITS } from '../../functions/profile/limits';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { lateDeliveries, profileItems, startTestEngine } from '../helpers/engine';

const REPO = path.join(import.meta.dirname, '..', '..');
const templatesDir = mkdtempSync(path.join(tmpdir(), 'rapport-carry-new-life-'));
for (const name of readdirSync(path.join(REPO, 'workflows', 'templates'))) copyFileSync(path.join(REPO, 'workflows', 'templates', name), path.join(templatesDir, name));
writeFileSync(path.join(templatesDir, 'spring-sale.push.liquid'), 'Title: Spring sale\nData: {"screen": "sale"}\n\n20% off this week.\n');
afterAll(() => rmSync(templatesDir, { recursive: true, force: true }));
const endpoint = (n: number) => `arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/shop-app/2f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f${n}`;
const T0 = Date.parse('2026-03-02T10:00:00Z');

let clock: VirtualClock;
let engine: Engine;
let api: ReturnType<typeof client>;
beforeAll(async () => {
  clock = new VirtualClock(T0);
  engine = await startTestEngine({ clock, templatesDir, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
  api = client(engine);
});
afterAll(() => engine.stop());

describe('a visitor denial carried into the new life of a customer erased after the denial', () => {
  it('still stops the push broadcast after the visitor is evicted (as it does while the visitor is listed)', async () => {
    // Prepare: B (to evict from) and D (the control), each with a device, and their tag.
    await api.sendAndSettle([
      { type: 'identify', userId: 'cn-b', traits: { pushToken: endpoint(1), tags: ['beta-tester'] } },
      { type: 'identify', userId: 'cn-d', traits: { pushToken: endpoint(2), tags: ['beta-tester'] } },
    ]);
    await clock.run(T0 + 500);
    // Act: two unlinked visitors leave push (answered; the consumer is late with both).
    const late = lateDeliveries(engine, ['cn-deny-v', 'cn-deny-w']);
    const deny = (visitor: string, messageId: string) => ({ type: 'track', anonymousId: visitor, event: 'Unsubscribed', properties: { channel: 'push' }, messageId });
    const answers = [await api.send(deny('cn-visitor-v', 'cn-deny-v')), await api.send(deny('cn-visitor-w', 'cn-deny-w'))];
    await clock.run(T0 + 1000);
    // B and D are erased after the denials' receipt, and come back.
    const erased = [(await api.del('/v1/customers/cn-b')).status, (await api.del('/v1/customers/cn-d')).status];
    await clock.run(T0 + 3000);
    await api.sendAndSettle([
      { type: 'identify', userId: 'cn-b', traits: { pushToken: endpoint(1), tags: ['beta-tester'] } },
      { type: 'identify', userId: 'cn-d', traits: { pushToken: endpoint(2), tags: ['beta-tester'] } },
    ]);
    // The new lives link the visitors (the people who left push sign in); B's is evicted by newer visitors.
    await api.sendAndSettle([
      { type: 'identify', userId: 'cn-b', anonymousId: 'cn-visitor-v', traits: {} },
      { type: 'identify', userId: 'cn-d', anonymousId: 'cn-visitor-w', traits: {} },
    ]);
    // Measure the carry at the eviction (the consumer's ProfileStore, if it is the engine's).
    const carries: string[] = [];
    const carryHolds = engine.profiles.carryHolds.bind(engine.profiles);
    engine.profiles.carryHolds = async (visitorId, customerId, now, life) => {
      const carried = await carryHolds(visitorId, customerId, now, life);
      carries.push(`${visitorId}->${customerId}:${carried}`);
      return carried;
    };
    const listedBefore = (await engine.profiles.get('cn-b'))?.profile.anonymousIds.includes('cn-visitor-v');
    const holdsBefore = (await engine.profiles.holdsOf(['cn-b', 'anon:cn-visitor-v'], 'push', clock.now())).consent;
    const more = Array.from({ length: PROFILE_LIMITS.anonymousIds }, (_, k) => ({ type: 'identify', userId: 'cn-b', anonymousId: `cn-more-${k}`, traits: {} }));
    for (let k = 0; k < more.length; k += 25) await api.sendAndSettle(more.slice(k, k + 25));
    const listedB = (await engine.profiles.get('cn-b'))?.profile.anonymousIds.includes('cn-visitor-v');
    const listedD = (await engine.profiles.get('cn-d'))?.profile.anonymousIds.includes('cn-visitor-w');
    const holdsB = (await engine.profiles.holdsOf(['cn-b'], 'push', clock.now())).consent;
    const holdItems = (await profileItems(engine, (t) => t.includes('"consent-hold"')))
      .map((t) => JSON.parse(t) as { PK: { S: string }; SK: { S: string } })
      .map((i) => `${i.PK.S} ${i.SK.S}`);
    const created = await fetch(`${engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'cn-push', segment: 'tag:beta-tester', send: { channel: 'push', template: 'spring-sale' } }) });
    await clock.run();
    const pushed = (engine.outbox.entries as unknown as Array<{ to: string; tags: Record<string, string> }>).filter((m) => m.tags?.journey === 'broadcast:cn-push').map((m) => [m.tags.customer, m.to]);
    await late.release();
    await clock.idle();
    const consentB = (await engine.profiles.get('cn-b'))?.profile.consent.push;
    // A second broadcast once the consumer has applied the denial.
    await fetch(`${engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'cn-push-2', segment: 'tag:beta-tester', send: { channel: 'push', template: 'spring-sale' } }) });
    await clock.run();
    const pushed2 = (engine.outbox.entries as unknown as Array<{ to: string; tags: Record<string, string> }>).filter((m) => m.tags?.journey === 'broadcast:cn-push-2').map((m) => m.tags.customer);
    const measured = `answers ${JSON.stringify(answers)}; erase ${JSON.stringify(erased)}; B's visitor listed before ${listedBefore}, after ${listedB}; D's ${listedD}; holds under B and V before eviction ${JSON.stringify(holdsBefore)}; under B after ${JSON.stringify(holdsB)}; consent-hold items ${JSON.stringify(holdItems)}; created ${created.status}; pushed ${JSON.stringify(pushed)}; carries ${JSON.stringify(carries)}; B's consent once applied ${JSON.stringify(consentB)}; second broadcast after that pushed ${JSON.stringify(pushed2)}`;

    // Assess: the scenario as described.
    expect(erased, measured).toEqual([200, 200]);
    expect([listedBefore, listedB, listedD], measured).toEqual([true, false, true]);
    expect(created.status, measured).toBe(201);
    // The control: D's visitor listed, its hold read: nothing pushed to D.
    expect(pushed.filter(([customer]) => customer === 'cn-d'), measured).toEqual([]);
    // The promise: V's accepted unsubscribe, answered before the broadcast, stops it for B, V's customer, too.
    expect(pushed.filter(([customer]) => customer === 'cn-b'), measured).toEqual([]);
    // And once the consumer has applied the denial, a later broadcast skips B too.
    expect(pushed2.filter((customer) => customer === 'cn-b'), measured).toEqual([]);
  }, 180_000);
});
