/**
 * Audit 40, issue 10 "A consent rule that cannot be beaten by timestamps": no marketing send happens after a denial's
 * receipt; README "Privacy: erasure": ingest's hold of a denial received after the erasure completed, no new life yet, is
 * kept under a hash of the id (`XH#`), "and the send step reads it under every id of the customer: an accepted
 * unsubscribe stops a send to whoever the erased id is joined or linked into before the consumer has applied it".
 *
 * How it breaks: the send reads holds under the ids the profile lists (`idsOfProfile`: the newest
 * PROFILE_LIMITS.anonymousIds visitors). When a visitor leaves that list, the consumer's `markEvicted` carries its holds
 * to the customer (`ProfileStore.carryHolds`), but only those under `C#anon:<visitor>` (K#, S#), never its parked `XH#`
 * holds. Here: customer A and visitor V are erased; after the erasure completed V's push denial is answered (held under
 * XH#<hash(anon:V)>; the consumer is late with it); A comes back and links V; 100 newer visitors evict V. The push
 * broadcast then goes to A after the denial's answer. The control, customer C, same steps but V not evicted: skipped.
 * Found by the fortieth hostile audit. Now: `carryHolds` carries the holds parked under a hash of the visitor too.
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
const templatesDir = mkdtempSync(path.join(tmpdir(), 'rapport-evicted-parked-'));
for (const name of readdirSync(path.join(REPO, 'workflows', 'templates'))) copyFileSync(path.join(REPO, 'workflows', 'templates', name), path.join(templatesDir, name));
writeFileSync(path.join(templatesDir, 'spring-sale.push.liquid'), 'Title: Spring sale\nData: {"screen": "sale"}\n\n20% off this week.\n');
afterAll(() => rmSync(templatesDir, { recursive: true, force: true }));
const endpoint = (n: number) => `arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/shop-app/1f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f${n}`;
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

describe('an erased visitor whose push denial came after the erasure, linked to the new life and then evicted', () => {
  it('still stops the push broadcast before the consumer applied the denial (as it does while the visitor is listed)', async () => {
    // Prepare: A (to be evicted from) and C (the control), each with its visitor, erased together.
    await api.sendAndSettle([
      { type: 'identify', userId: 'xv-a', anonymousId: 'xv-visitor-a', traits: { pushToken: endpoint(1), tags: ['beta-tester'] } },
      { type: 'identify', userId: 'xv-c', anonymousId: 'xv-visitor-c', traits: { pushToken: endpoint(2), tags: ['beta-tester'] } },
    ]);
    await clock.run(T0 + 500);
    const erased = [(await api.del('/v1/customers/xv-a')).status, (await api.del('/v1/customers/xv-c')).status];
    await clock.run(T0 + 2000);

    // Act: each visitor leaves push after the erasure completed (the consumer is late with both denials).
    const late = lateDeliveries(engine, ['xv-deny-a', 'xv-deny-c']);
    const deny = (visitor: string, messageId: string) => ({ type: 'track', anonymousId: visitor, event: 'Unsubscribed', properties: { channel: 'push' }, messageId });
    const answers = [await api.send(deny('xv-visitor-a', 'xv-deny-a')), await api.send(deny('xv-visitor-c', 'xv-deny-c'))];
    // Both come back and link their visitor again; A's is evicted by PROFILE_LIMITS.anonymousIds newer visitors.
    await clock.run(T0 + 3000);
    await api.sendAndSettle([
      { type: 'identify', userId: 'xv-a', traits: { pushToken: endpoint(1), tags: ['beta-tester'] } },
      { type: 'identify', userId: 'xv-c', traits: { pushToken: endpoint(2), tags: ['beta-tester'] } },
    ]);
    await api.sendAndSettle([
      { type: 'identify', userId: 'xv-a', anonymousId: 'xv-visitor-a', traits: {} },
      { type: 'identify', userId: 'xv-c', anonymousId: 'xv-visitor-c', traits: {} },
    ]);
    const listedBefore = (await engine.profiles.get('xv-a'))?.profile.anonymousIds.includes('xv-visitor-a');
    const more = Array.from({ length: PROFILE_LIMITS.anonymousIds }, (_, k) => ({ type: 'identify', userId: 'xv-a', anonymousId: `xv-more-${k}`, traits: {} }));
    for (let k = 0; k < more.length; k += 25) await api.sendAndSettle(more.slice(k, k + 25));
    const listedA = (await engine.profiles.get('xv-a'))?.profile.anonymousIds.includes('xv-visitor-a');
    const listedC = (await engine.profiles.get('xv-c'))?.profile.anonymousIds.includes('xv-visitor-c');
    const holdsA = (await engine.profiles.holdsOf(['xv-a'], 'push', clock.now())).consent;
    const holdsAV = (await engine.profiles.holdsOf(['anon:xv-visitor-a'], 'push', clock.now())).consent;
    // Where the visitor's denial is held: parked (XH#, no id), not under C#anon:<visitor> (which the eviction carries).
    const visitorHoldItems = (await profileItems(engine, (t) => t.includes('"consent-hold"')))
      .map((t) => JSON.parse(t) as { PK: { S: string }; SK: { S: string } })
      .map((i) => [i.PK.S, i.SK.S])
      .filter(([pk]) => pk!.startsWith('XH#') || pk === 'C#anon:xv-visitor-a');
    const created = await fetch(`${engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'xv-push', segment: 'tag:beta-tester', send: { channel: 'push', template: 'spring-sale' } }) });
    await clock.run();
    const pushed = (engine.outbox.entries as unknown as Array<{ to: string; tags: Record<string, string> }>).filter((m) => m.tags?.journey === 'broadcast:xv-push').map((m) => [m.tags.customer, m.to]);
    // The consumer applies the denials at last.
    await late.release();
    await clock.idle();
    const consentA = (await engine.profiles.get('xv-a'))?.profile.consent.push;
    const consentC = (await engine.profiles.get('xv-c'))?.profile.consent.push;
    const measured = `erase ${JSON.stringify(erased)}; denials ${JSON.stringify(answers)}; listed A's visitor before ${listedBefore}, after ${listedA}; C's ${listedC}; consent-hold items parked or under A's visitor ${JSON.stringify(visitorHoldItems)}; holds under A ${JSON.stringify(holdsA)}, under A's visitor ${JSON.stringify(holdsAV)}; created ${created.status}; pushed ${JSON.stringify(pushed)}; applied A ${JSON.stringify(consentA)}, C ${JSON.stringify(consentC)}`;

    // Assess: the scenario as described.
    expect(erased, measured).toEqual([200, 200]);
    expect([listedBefore, listedA, listedC], measured).toEqual([true, false, true]);
    expect(visitorHoldItems.map(([pk, sk]) => [pk!.slice(0, 3), sk]), measured).toEqual([['XH#', 'K#push'], ['XH#', 'K#push']]);
    expect(created.status, measured).toBe(201);
    // The control: C's visitor listed, its parked hold read: nothing pushed to C.
    expect(pushed.filter(([customer]) => customer === 'xv-c'), measured).toEqual([]);
    // The promise: A's accepted unsubscribe, answered before the broadcast, stops it too.
    expect(pushed.filter(([customer]) => customer === 'xv-a'), measured).toEqual([]);
  }, 180_000);
});
