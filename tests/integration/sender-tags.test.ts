import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyProfile } from '../../functions/profile/apply';
import type { Engine } from '../../infra/embedded/engine';
import { SENDER_LIMITS } from '../../shared';
import { client } from '../helpers/client';
import { startTestEngine, TEST_SECRET } from '../helpers/engine';
import { eventually } from '../helpers/journeys';
import { problemsOf, sendSigned } from '../helpers/webhook';

/**
 * Tags from outside (ARCHITECTURE decision 9): a sender sets only the manual
 * tags tags.yaml declares (workflows/tags.yaml: crm-gold, beta-tester), within
 * limits; its list never touches the tags rules compute or journeys add.
 */
let engine: Engine;
let api: ReturnType<typeof client>;
const journeys = mkdtempSync(join(tmpdir(), 'rapport-sender-tags-'));
beforeAll(async () => {
  // One journey whose tag step adds "contacted" on sign-up.
  writeFileSync(
    join(journeys, 'tagger.yaml'),
    ['id: tagger', 'name: Tags new sign-ups', 'version: 1', 'trigger: { event: Signed Up }', 'steps:', '  - id: mark', '    tag: { add: contacted }', ''].join('\n'),
  );
  engine = await startTestEngine({ journeysDir: journeys });
  api = client(engine);
});
afterAll(async () => {
  await engine.stop();
  rmSync(journeys, { recursive: true, force: true });
});

const send = (body: unknown) => sendSigned(engine.url, TEST_SECRET, body);
const identify = (userId: string, traits: Record<string, unknown>, n = 1) => ({ type: 'identify', userId, messageId: `${userId}-identify-${n}`, traits });
const tagEvents = (userId: string) =>
  engine.bus.log.filter((e) => (e['detail-type'] === 'Tag Added' || e['detail-type'] === 'Tag Removed') && (e.detail as { userId: string }).userId === userId);

describe('tags a sender sets through identify traits.tags', () => {
  it('refuses a computed tag with a 400 naming it and what is allowed; nothing reaches the profile or the bus', async () => {
    const res = await send(identify('st-forger', { email: 'f@example.com', tags: ['vip', 'complained-and-quiet'] }));

    expect(res.status).toBe(400);
    expect(problemsOf(res)).toEqual([
      { path: '$.traits.tags[0]', message: expect.stringMatching(/^"vip" is a computed tag: .*manualTags in tags\.yaml \(beta-tester, crm-gold\)$/) },
      { path: '$.traits.tags[1]', message: expect.stringMatching(/^"complained-and-quiet" is a computed tag/) },
    ]);
    await engine.settle();
    expect(tagEvents('st-forger')).toEqual([]);
    expect((await api.get('/v1/customers/st-forger')).status).toBe(404);
  });

  it('refuses an undeclared tag, naming it', async () => {
    const res = await send(identify('st-undeclared', { tags: ['crm-gold', 'platinum'] }));
    expect(res.status).toBe(400);
    expect(problemsOf(res)).toEqual([{ path: '$.traits.tags[1]', message: expect.stringMatching(/^"platinum" is not a declared manual tag; senders may set only/) }]);
  });

  it(`refuses 5,000 tags (the limit is ${SENDER_LIMITS.tagsPerEvent}) and a tag longer than ${SENDER_LIMITS.tagLength} characters; no derived event is published`, async () => {
    const many = await send(identify('st-many', { tags: Array.from({ length: 5000 }, (_, i) => `crm-${i}`) }));
    expect(many.status).toBe(400);
    expect(problemsOf(many)).toEqual([{ path: '$.traits.tags', message: `holds 5000 tags; the limit is ${SENDER_LIMITS.tagsPerEvent} per event` }]);

    const long = await send(identify('st-many', { tags: ['x'.repeat(5000)] }));
    expect(long.status).toBe(400);
    expect(problemsOf(long)).toEqual([{ path: '$.traits.tags[0]', message: `tag is 5000 characters; the limit is ${SENDER_LIMITS.tagLength}` }]);
    await engine.settle();
    expect(engine.bus.log.filter((e) => (e.detail as { userId?: string }).userId === 'st-many')).toEqual([]);
  });

  it('in a batch, refuses only the event with a forged tag; the others are applied', async () => {
    const res = await send({ batch: [identify('st-batch-a', { name: 'A' }), identify('st-batch-b', { tags: ['vip'] })] });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ accepted: ['st-batch-a-identify-1'], rejected: [{ index: 1, problems: [{ path: '$.traits.tags[0]' }] }] });
    await engine.settle();
    expect((await api.customer('st-batch-a')).traits).toEqual({ name: 'A' });
    expect((await api.get('/v1/customers/st-batch-b')).status).toBe(404);
  });

  it('still takes declared manual tags, each publishing Tag Added once', async () => {
    await api.sendAndSettle(identify('st-crm', { tags: ['crm-gold', 'beta-tester'] }));
    const customer = await api.customer('st-crm');
    expect(customer.manualTags).toEqual(['beta-tester', 'crm-gold']);
    expect(tagEvents('st-crm').map((e) => [e['detail-type'], (e.detail as { properties: { tag: string } }).properties.tag])).toEqual([
      ['Tag Added', 'beta-tester'],
      ['Tag Added', 'crm-gold'],
    ]);
  });

  it("never removes a tag a journey's tag step added when the sender's list changes", async () => {
    await api.sendAndSettle([identify('st-journey', { email: 'j@example.com', tags: ['crm-gold'] }), { type: 'track', userId: 'st-journey', event: 'Signed Up', messageId: 'st-journey-signup', properties: { method: 'email' } }]);
    await eventually(async () => (await api.customer('st-journey')).tags.includes('contacted'), 'the tag step to add "contacted"');

    // The CRM now says the customer has no tags at all (its whole list): its own tag goes, the journey's stays.
    await api.sendAndSettle(identify('st-journey', { tags: [] }, 2));
    const customer = await api.customer('st-journey');
    expect(customer.tags).toContain('contacted');
    expect(customer.tags).not.toContain('crm-gold');
    expect(customer.manualTags).toEqual([]);
    expect(tagEvents('st-journey').filter((e) => e['detail-type'] === 'Tag Removed').map((e) => (e.detail as { properties: { tag: string } }).properties.tag)).toEqual(['crm-gold']);
  });

  it('reads a profile stored before journeys kept their own tags: declared manual tags stay the sender\'s, the rest the journeys\'', async () => {
    // The old form: one manualTags list holding win-back's "churned" and the CRM's "crm-gold", no journeyTags.
    const old = emptyProfile('st-legacy', '2026-11-01T00:00:00.000Z');
    delete old.journeyTags;
    old.manualTags = ['churned', 'crm-gold'];
    await engine.profiles.put({ profile: old, applied: [], outbox: [], version: 1 }, undefined);

    await api.sendAndSettle(identify('st-legacy', { tags: [] }));
    const customer = await api.customer('st-legacy');
    expect(customer.tags).toEqual(['churned']);
    expect(customer.journeyTags).toEqual(['churned']);
    expect(tagEvents('st-legacy').map((e) => [e['detail-type'], (e.detail as { properties: { tag: string } }).properties.tag])).toEqual([['Tag Removed', 'crm-gold']]);
  });
});
