/**
 * Audit 39, issue 10 "A consent rule that cannot be beaten by timestamps": no marketing send happens after a denial's
 * receipt (a denial holds from ingest's answer whichever of the customer's ids it names: ARCHITECTURE decision 8;
 * an evicted visitor's holds become the customer's own: `ProfileStore.carryHolds`, evicted-visitor-denial-not-read).
 *
 * How it breaks: ingest reads the visitor's link (`linkedTo`: none yet) and then writes the visitor's denial hold under
 * `anon:<visitor>` only. The consumer's `markEvicted` carries the visitor's holds once, when it evicts the visitor from
 * the list of 100. If the link and an alias join that evicts the visitor are applied between ingest's `linkedTo` read
 * and its hold write (both answered earlier, in flight), `carryHolds` finds no hold yet: the hold lands under a visitor
 * no profile lists any more and is never carried. The send gateway (`withHolds`, `stillConsented`) reads the holds of
 * the customer, the joined record and the listed visitors only. On email the address's hold (`putAddressConsent`,
 * written after the link) still stops the send; push has no address holds (ADDRESS_HOLD_CHANNELS), so the push
 * broadcast goes to the customer after the denial was answered, while the consumer is late with it.
 * Found by the thirty-ninth hostile audit. Now: ingest reads a visitor's link again after writing its holds (write,
 * then check) and, linked by then, writes them under its customer too; a link after that read finds them at the carry.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROFILE_LIMITS } from '../../functions/profile/limits';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { dynamoHooks } from '../helpers/dynamo-hooks';
import { lateDeliveries, startTestEngine } from '../helpers/engine';

const REPO = path.join(import.meta.dirname, '..', '..');
const templatesDir = mkdtempSync(path.join(tmpdir(), 'rapport-carry-push-'));
for (const name of readdirSync(path.join(REPO, 'workflows', 'templates'))) copyFileSync(path.join(REPO, 'workflows', 'templates', name), path.join(templatesDir, name));
writeFileSync(path.join(templatesDir, 'spring-sale.push.liquid'), 'Title: Spring sale\nData: {"screen": "sale"}\n\n{{ profile.traits.firstName }}, 20% off this week.\n');
afterAll(() => rmSync(templatesDir, { recursive: true, force: true }));
const ENDPOINT = 'arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/shop-app/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f1';

let clock: VirtualClock;
let engine: Engine;
let api: ReturnType<typeof client>;
const world = {
  get engine() {
    return engine;
  },
};
beforeAll(async () => {
  clock = new VirtualClock(Date.parse('2026-03-02T10:00:00Z'));
  engine = await startTestEngine({ clock, templatesDir, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
  api = client(engine);
});
afterAll(() => engine.stop());
const hooks = dynamoHooks(world, 'testCarryPushRace');

describe('a visitor push denial whose hold write races the link and an evicting alias join', () => {
  it('still stops the push broadcast before the profile consumer applied the denial', async () => {
    // Prepare: customer A with a push endpoint; another record B of theirs with PROFILE_LIMITS.anonymousIds visitors.
    const id = 'cp-customer';
    const visitor = 'cp-visitor';
    const other = 'cp-other';
    await api.sendAndSettle({ type: 'identify', userId: id, traits: { firstName: 'Ann', pushToken: ENDPOINT, tags: ['beta-tester'] } });
    const more = Array.from({ length: PROFILE_LIMITS.anonymousIds }, (_, k) => ({ type: 'identify', userId: other, anonymousId: `cp-more-${k}`, traits: {} }));
    for (let k = 0; k < more.length; k += 25) await api.sendAndSettle(more.slice(k, k + 25));
    // The link of the visitor and the alias joining B into A are answered (202); the consumer is late with both.
    const late = lateDeliveries(engine, ['cp-link', 'cp-alias', 'cp-deny']);
    await api.send({ type: 'identify', userId: id, anonymousId: visitor, traits: {}, messageId: 'cp-link' });
    await api.send({ type: 'alias', userId: id, previousId: other, messageId: 'cp-alias' });

    // Act: the visitor leaves push; between ingest's link read and its hold write the consumer applies the link and
    // the join (which evicts the visitor from the united list of 100). The denial itself stays late at the consumer.
    let listedAtWrite: string[] | undefined;
    hooks.set({
      match: (op, input) => op === 'PutItem' && input.includes(`"C#anon:${visitor}"`) && input.includes('"consent-hold"'),
      before: async () => {
        await late.release('cp-link');
        await late.release('cp-alias');
        listedAtWrite = (await engine.profiles.get(id))?.profile.anonymousIds;
      },
    });
    const answer = await api.send({ type: 'track', anonymousId: visitor, event: 'Unsubscribed', properties: { channel: 'push' }, messageId: 'cp-deny' });
    const fired = hooks.fired;
    hooks.clear();
    const view = (await api.get(`/v1/customers/${id}`)).json as unknown as { mergedIds?: string[]; anonymousIds: string[] };
    // A push broadcast to the segment after the denial's answer.
    const created = await fetch(`${engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'cp-push', segment: 'tag:beta-tester', send: { channel: 'push', template: 'spring-sale' } }) });
    await clock.run();
    const pushed = (engine.outbox.entries as unknown as Array<{ channel: string; to: string; tags: Record<string, string> }>).filter((m) => m.tags?.journey === 'broadcast:cp-push' && m.tags.customer === id);
    const broadcast = (await api.get('/v1/broadcasts/cp-push')).json;
    const consentAtSend = (await engine.profiles.get(id))?.profile.consent.push;
    // The consumer applies the denial at last: it is the customer's (their push consent denied).
    await late.release();
    await clock.idle();
    const consentAfter = (await engine.profiles.get(id))?.profile.consent.push;
    const measured = `answer ${JSON.stringify(answer)}; hook fired ${fired}; listed at the hold write: visitor ${listedAtWrite?.includes(visitor)} of ${listedAtWrite?.length}; joined ${JSON.stringify(view.mergedIds)}; created ${created.status}; broadcast ${JSON.stringify(broadcast)}; pushed ${JSON.stringify(pushed)}; push consent at the send ${JSON.stringify(consentAtSend)}, once the denial is applied ${JSON.stringify(consentAfter)}`;

    // Assess: the race as described: the visitor linked and evicted before its hold was written; the denial answered.
    expect(fired, measured).toBe(1);
    expect(listedAtWrite?.includes(visitor), measured).toBe(false);
    expect(view.mergedIds, measured).toEqual([other]);
    expect(created.status, measured).toBe(201);
    expect(consentAtSend?.status, measured).not.toBe('denied');
    expect(consentAfter?.status, measured).toBe('denied');
    // The promise: the push denial answered before the broadcast stops it: nothing is pushed to the customer.
    expect(pushed, measured).toEqual([]);
  }, 120_000);
});
