/**
 * Audit 40, issue 10 "A consent rule that cannot be beaten by timestamps": no marketing send happens after a denial's
 * receipt (a suppression holds from ingest's answer whichever of the customer's ids it names; an evicted visitor's
 * holds become the customer's own: `ProfileStore.carryHolds`), and README "Privacy: erasure": a customer who comes back
 * gets a new life, and a denial (a hard bounce included) received after the erasure completed applies to it.
 *
 * How it breaks: `carryHolds` re-creates a suppression hold's receipt from its TTL (`ttl - CONSENT_HOLD_DAYS`), and the
 * TTL is in whole seconds: the carried hold's receipt is its real receipt floored to the second. Its write, then check
 * (`#undoHoldIfErased`) judges it by that receipt against the customer's tombstone: a suppression received after the
 * erasure completed, in the same second, is judged the erased life's and deleted from the customer's partition. The
 * visitor it was held under is the one just evicted from the profile's list, so no send reads it any more. Here: A is
 * erased at 10:00:00.500 and comes back at .600; a visitor's hard push bounce is received at .600 (ingest holds it under
 * the visitor, not linked yet); the visitor is linked to A and evicted by 100 newer visitors while the consumer is late
 * with the bounce. A push broadcast then goes to A. The control, customer C (never erased), same steps: skipped.
 * Found by the fortieth hostile audit. Now: a suppression hold keeps its exact receipt (`receivedAt`), and the carry
 * judges the carried hold by it (one written before: from its expiry, as before).
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROFILE_LIMITS } from '../../functions/profile/limits';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { lateDeliveries, startTestEngine } from '../helpers/engine';

const REPO = path.join(import.meta.dirname, '..', '..');
const templatesDir = mkdtempSync(path.join(tmpdir(), 'rapport-carry-floor-'));
for (const name of readdirSync(path.join(REPO, 'workflows', 'templates'))) copyFileSync(path.join(REPO, 'workflows', 'templates', name), path.join(templatesDir, name));
writeFileSync(path.join(templatesDir, 'spring-sale.push.liquid'), 'Title: Spring sale\nData: {"screen": "sale"}\n\n20% off this week.\n');
afterAll(() => rmSync(templatesDir, { recursive: true, force: true }));
const endpoint = (n: number) => `arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/shop-app/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f${n}`;
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

describe('a visitor hard bounce received in the erasure second, carried to the new life at its eviction', () => {
  it('still stops the push broadcast to the customer who came back (as it does one never erased)', async () => {
    // Prepare: A (to be erased) and C (the control), each with a push endpoint, in the segment.
    await api.sendAndSettle([
      { type: 'identify', userId: 'cf-a', traits: { pushToken: endpoint(1), tags: ['beta-tester'] } },
      { type: 'identify', userId: 'cf-c', traits: { pushToken: endpoint(2), tags: ['beta-tester'] } },
    ]);
    await clock.run(T0 + 500);
    const erased = await api.del('/v1/customers/cf-a');
    const erasedAt = clock.now().toISOString();
    await clock.run(T0 + 600);
    // A comes back (dated and received after the erasure): a new life.
    await api.sendAndSettle({ type: 'identify', userId: 'cf-a', traits: { pushToken: endpoint(1), tags: ['beta-tester'] } });

    // Act: a hard push bounce of each one's visitor (not linked yet) is answered; the consumer is late with both.
    const late = lateDeliveries(engine, ['cf-bounce-a', 'cf-bounce-c']);
    const bounce = (visitor: string, messageId: string) => ({ type: 'track', anonymousId: visitor, event: 'Message Bounced', properties: { channel: 'push', bounceType: 'hard' }, messageId });
    const answers = [await api.send(bounce('cf-visitor-a', 'cf-bounce-a')), await api.send(bounce('cf-visitor-c', 'cf-bounce-c'))];
    const bouncedAt = clock.now().toISOString();
    // Each visitor is linked, then evicted from its customer's list by PROFILE_LIMITS.anonymousIds newer visitors.
    await api.sendAndSettle([
      { type: 'identify', userId: 'cf-a', anonymousId: 'cf-visitor-a', traits: {} },
      { type: 'identify', userId: 'cf-c', anonymousId: 'cf-visitor-c', traits: {} },
    ]);
    for (const id of ['cf-a', 'cf-c']) {
      const more = Array.from({ length: PROFILE_LIMITS.anonymousIds }, (_, k) => ({ type: 'identify', userId: id, anonymousId: `${id}-more-${k}`, traits: {} }));
      for (let k = 0; k < more.length; k += 25) await api.sendAndSettle(more.slice(k, k + 25));
    }
    const evictedAt = clock.now().toISOString();
    const listed = async (id: string, visitor: string) => (await engine.profiles.get(id))?.profile.anonymousIds.includes(visitor);
    const listedA = await listed('cf-a', 'cf-visitor-a');
    const listedC = await listed('cf-c', 'cf-visitor-c');
    const heldA = (await engine.profiles.holdsOf(['cf-a'], 'push', clock.now())).suppression;
    const heldC = (await engine.profiles.holdsOf(['cf-c'], 'push', clock.now())).suppression;
    // A push broadcast to the segment after the bounces' answers.
    const created = await fetch(`${engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'cf-push', segment: 'tag:beta-tester', send: { channel: 'push', template: 'spring-sale' } }) });
    await clock.run();
    const pushed = (engine.outbox.entries as unknown as Array<{ to: string; tags: Record<string, string> }>).filter((m) => m.tags?.journey === 'broadcast:cf-push').map((m) => [m.tags.customer, m.to]);
    // The consumer applies the bounces at last: each is its customer's (push suppressed).
    await late.release();
    await clock.idle();
    const suppressedA = (await engine.profiles.get('cf-a'))?.profile.suppression.push;
    const suppressedC = (await engine.profiles.get('cf-c'))?.profile.suppression.push;
    const measured = `erase ${erased.status} at ${erasedAt}; bounces ${JSON.stringify(answers)} at ${bouncedAt}; evicted by ${evictedAt}: listed A ${listedA}, C ${listedC}; carried suppression A ${JSON.stringify(heldA)}, C ${JSON.stringify(heldC)}; created ${created.status}; pushed ${JSON.stringify(pushed)}; applied A ${JSON.stringify(suppressedA)}, C ${JSON.stringify(suppressedC)}`;

    // Assess: the race as described: erased and bounced within one second, the bounce after; both visitors evicted.
    expect(erased.status, measured).toBeLessThan(300);
    expect(bouncedAt > erasedAt && bouncedAt.slice(0, 19) === erasedAt.slice(0, 19), measured).toBe(true);
    expect([listedA, listedC], measured).toEqual([false, false]);
    expect(created.status, measured).toBe(201);
    expect(suppressedA?.reason, measured).toBe('hard-bounce');
    expect(suppressedC?.reason, measured).toBe('hard-bounce');
    // The control: C's bounce, carried, stops C's push.
    expect(pushed.filter(([customer]) => customer === 'cf-c'), measured).toEqual([]);
    // The promise: A's bounce, received after A's erasure completed (their new life's), stops A's push too.
    expect(pushed.filter(([customer]) => customer === 'cf-a'), measured).toEqual([]);
  }, 180_000);
});
