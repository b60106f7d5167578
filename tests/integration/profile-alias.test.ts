/**
 * `alias {previousId, userId}` joins two known customers into one profile (Segment's alias
 * call, and the same through a signed webhook): stats, timeline, traits (newest wins), consent
 * (consent order), tags and journey runs; later events under either id land on the one
 * profile; chains resolve, a cycle is refused; events racing the join are all kept; erasing
 * the joined customer removes every item of both ids.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { redeliverIngested, useTestEngine, TEST_SECRET, TEST_WRITE_KEY } from '../helpers/engine';
import { DEFAULT_SEND_POLICY, JourneyStore, liquidTemplates, readTemplates, staticUnsubscribeKeys } from '../../functions/journeys';
import { createStepRunner, type StepInput } from '../../functions/journeys/steps';
import { APPLIED_MAX, documentClient } from '../../functions/profile';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import { ScaledClock } from '../../shared';
import { eventually, messagesOf, runsOf } from '../helpers/journeys';
import { post, signedRequest } from '../helpers/webhook';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: undefined } });

const minute = (n: number) => new Date(Date.UTC(2026, 9, 1, 0, n)).toISOString();
const basic = `Basic ${Buffer.from(`${TEST_WRITE_KEY}:`).toString('base64')}`;
const order = (userId: string, id: string, revenue: number, at: string) => ({
  type: 'track',
  userId,
  event: 'Order Completed',
  messageId: `${userId}-${id}`,
  timestamp: at,
  properties: { orderId: id, revenue, currency: 'EUR' },
});

/** Segment's `/v1/alias`, authenticated with the write key as Segment's SDKs do. */
async function segmentAlias(previousId: string, userId: string) {
  return post(`${t.engine.url}/v1/alias`, {
    headers: { 'content-type': 'application/json', authorization: basic },
    body: JSON.stringify({ previousId, userId, messageId: `alias-${previousId}-${userId}` }),
  });
}

/** Every item of every table of the engine's dynalite, as JSON. */
async function allTableItems(): Promise<string[]> {
  const out: string[] = [];
  for (const table of ['rapport-profiles', 'rapport-idempotency']) {
    let start: Record<string, never> | undefined;
    do {
      const page = await t.engine.dynamo.client.send(new ScanCommand({ TableName: table, ConsistentRead: true, ...(start && { ExclusiveStartKey: start }) }));
      for (const item of page.Items ?? []) out.push(JSON.stringify(item));
      start = page.LastEvaluatedKey as typeof start;
    } while (start);
  }
  return out;
}

describe('alias joins two known customers', () => {
  it('one profile: both orders in the stats, the merged timeline, the newest trait per key, consent by consent order, tags united and recomputed', async () => {
    // Prepare: two customers, each with an order, traits, a consent decision and a CRM tag.
    await t.api.sendAndSettle([
      { type: 'identify', userId: 'k-old', messageId: 'k-old-id1', timestamp: minute(1), traits: { email: 'old@example.org', name: 'Old Name', city: 'Bonn', plan: 'basic', tags: ['crm-gold'] } },
      order('k-old', 'o-1', 10, minute(2)),
      // A denial, received now: it beats a grant dated before now whatever its event time.
      { type: 'track', userId: 'k-old', event: 'Unsubscribed', messageId: 'k-old-unsub', timestamp: minute(3), properties: { channel: 'email' } },
      { type: 'identify', userId: 'k-old', messageId: 'k-old-id2', timestamp: minute(7), traits: { city: 'Berlin' } },
      { type: 'identify', userId: 'k-new', messageId: 'k-new-id0', timestamp: minute(0), traits: { city: 'Köln' } },
      { type: 'identify', userId: 'k-new', messageId: 'k-new-id1', timestamp: minute(5), traits: { email: 'new@example.org', name: 'New Name', tags: ['beta-tester'] } },
      order('k-new', 'o-2', 20, minute(6)),
      { type: 'track', userId: 'k-new', event: 'Subscribed', messageId: 'k-new-sub', timestamp: minute(8), properties: { channel: 'email' } },
    ]);
    expect((await t.api.customer('k-old')).stats.orderCount).toBe(1);

    // Act: Segment's alias call.
    const res = await segmentAlias('k-old', 'k-new');
    expect(res.status, res.text).toBe(202);
    await t.engine.settle();

    // Assess
    const joined = await t.api.customer('k-new');
    expect(joined.stats).toMatchObject({ orderCount: 2, totalRevenue: 30, averageOrderValue: 15, firstOrderAt: minute(2), lastOrderAt: minute(6) });
    expect(joined.traits).toMatchObject({ email: 'new@example.org', name: 'New Name', city: 'Berlin', plan: 'basic' });
    expect(joined.consent.email).toMatchObject({ status: 'denied', source: 'Unsubscribed' });
    expect(joined.manualTags).toEqual(['beta-tester', 'crm-gold']);
    expect(joined.computedTags).toContain('repeat-buyer');
    expect(joined.firstSeenAt).toBe(minute(0));
    const timeline = await t.api.get('/v1/customers/k-new/events?limit=1000');
    const ids = (timeline.json.events as unknown as Array<{ messageId: string }>).map((e) => e.messageId).sort();
    expect(ids).toEqual(['alias-k-old-k-new', 'k-new-id0', 'k-new-id1', 'k-new-o-2', 'k-new-sub', 'k-old-id1', 'k-old-id2', 'k-old-o-1', 'k-old-unsub'].sort());

    // The old id answers the joined profile, and says so.
    const old = await t.api.get('/v1/customers/k-old');
    expect(old.status).toBe(200);
    expect(old.json).toMatchObject({ id: 'k-new', mergedIds: ['k-old'], stats: { orderCount: 2 } });
    expect(t.engine.deadLetters).toEqual([]);
  }, 60_000);

  it('later events under either id land on the one profile (alias through a signed webhook, before the old id was ever seen too)', async () => {
    await t.api.sendAndSettle([order('w-old', 'o-1', 5, minute(1)), order('w-new', 'o-2', 7, minute(2))]);
    await t.api.sendAndSettle({ type: 'alias', previousId: 'w-old', userId: 'w-new', timestamp: minute(3) });
    await t.api.sendAndSettle([order('w-old', 'o-3', 11, minute(4)), order('w-new', 'o-4', 13, minute(5))]);
    expect((await t.api.customer('w-new')).stats).toMatchObject({ orderCount: 4, totalRevenue: 36 });

    // An alias naming an id never seen: its first events go to the known customer.
    await t.api.sendAndSettle({ type: 'alias', previousId: 'w-unseen', userId: 'w-new', timestamp: minute(6) });
    await t.api.sendAndSettle(order('w-unseen', 'o-5', 1, minute(7)));
    expect((await t.api.customer('w-new')).stats.orderCount).toBe(5);
    expect((await t.api.customer('w-unseen')).id).toBe('w-new');
    expect(t.engine.deadLetters).toEqual([]);
  }, 60_000);

  it('a chain a → b → c resolves to c; an alias that would close a cycle is refused naming the field', async () => {
    await t.api.sendAndSettle([order('ch-a', 'o-1', 1, minute(1)), order('ch-b', 'o-2', 2, minute(2)), order('ch-c', 'o-3', 4, minute(3))]);
    await t.api.sendAndSettle({ type: 'alias', previousId: 'ch-a', userId: 'ch-b', timestamp: minute(4) });
    await t.api.sendAndSettle({ type: 'alias', previousId: 'ch-b', userId: 'ch-c', timestamp: minute(5) });
    await t.api.sendAndSettle(order('ch-a', 'o-4', 8, minute(6)));
    const c = await t.api.customer('ch-c');
    expect(c.stats).toMatchObject({ orderCount: 4, totalRevenue: 15 });
    expect((await t.api.customer('ch-a')).id).toBe('ch-c');

    // ch-c would become ch-a's, which is ch-c's: refused, and nothing changes.
    const res = await post(`${t.engine.url}/v1/events`, signedRequest(TEST_SECRET, { type: 'alias', previousId: 'ch-c', userId: 'ch-a' }));
    expect(res.status, res.text).toBe(400);
    expect(res.json).toMatchObject({ error: 'invalid_events', rejected: [{ index: 0, problems: [{ path: '$.previousId', message: expect.stringMatching(/cycle/) }] }] });
    // An alias of an id to itself, likewise.
    const self = await post(`${t.engine.url}/v1/events`, signedRequest(TEST_SECRET, { type: 'alias', previousId: 'ch-c', userId: 'ch-c' }));
    expect(self.status, self.text).toBe(400);
    await t.engine.settle();
    expect((await t.api.customer('ch-c')).stats.orderCount).toBe(4);
    expect(t.engine.deadLetters).toEqual([]);
  }, 60_000);

  it('events under both ids racing the alias are all kept on the joined profile', async () => {
    for (const round of [0, 1, 2]) {
      const a = `race-old-${round}`;
      const b = `race-new-${round}`;
      await t.api.sendAndSettle([order(a, 'o-0', 1, minute(0)), order(b, 'o-0', 1, minute(0))]);
      const batch = [
        ...Array.from({ length: 15 }, (_, n) => order(a, `o-a${n}`, 1, minute(1 + n))),
        ...Array.from({ length: 15 }, (_, n) => order(b, `o-b${n}`, 1, minute(1 + n))),
      ];
      // The alias in the middle, the rest sent concurrently from three senders.
      await Promise.all([
        t.api.send(batch.slice(0, 10)),
        t.api.send([...batch.slice(10, 20), { type: 'alias', previousId: a, userId: b, messageId: `race-alias-${round}` }]),
        t.api.send(batch.slice(20)),
      ]);
      await t.engine.settle();
      const joined = await t.api.customer(b);
      expect(joined.stats.orderCount, `round ${round}`).toBe(32);
      const timeline = await t.api.get(`/v1/customers/${b}/events?limit=1000`);
      expect((timeline.json.events as unknown as unknown[]).length).toBe(33);
      // And afterwards too.
      await t.api.sendAndSettle(order(a, 'o-late', 1, minute(30)));
      expect((await t.api.customer(b)).stats.orderCount).toBe(33);
    }
    expect(t.engine.deadLetters).toEqual([]);
  }, 120_000);

  it('two runs of one journey: the older run goes on (for the joined customer), the other is stopped and its lock freed', async () => {
    await t.api.sendAndSettle({ type: 'track', userId: 'j-old', event: 'Signed Up', messageId: 'j-old-signup' });
    const older = await eventually(async () => (await runsOf(t.engine, 'j-old')).find((r) => r.journeyId === 'welcome' && r.status === 'running'), 'welcome run of j-old');
    await t.api.sendAndSettle({ type: 'track', userId: 'j-new', event: 'Signed Up', messageId: 'j-new-signup' });
    const newer = await eventually(async () => (await runsOf(t.engine, 'j-new')).find((r) => r.journeyId === 'welcome' && r.status === 'running'), 'welcome run of j-new');

    await t.api.sendAndSettle({ type: 'alias', previousId: 'j-old', userId: 'j-new', messageId: 'j-alias' });

    const runs = await eventually(async () => {
      const all = await runsOf(t.engine, 'j-new');
      return all.length === 2 && all.find((r) => r.executionName === newer.executionName)?.status === 'stopped' ? all : undefined;
    }, 'the newer run stopped');
    expect(runs.find((r) => r.executionName === older.executionName)?.status).toBe('running');
    expect(t.engine.journeys.sfn.executions.get(newer.executionName)?.status).toBe('ABORTED');

    // The kept run is the joined customer's: their goal (under either id) converts it.
    await t.api.sendAndSettle(order('j-new', 'o-1', 10, new Date().toISOString()));
    await eventually(async () => (await runsOf(t.engine, 'j-new')).find((r) => r.executionName === older.executionName && r.status === 'converted'), 'the kept run converted');
    expect(t.engine.deadLetters).toEqual([]);
  }, 60_000);

  it("a replay of a joined id's event older than the applied-message window is not counted again", async () => {
    await t.api.sendAndSettle([order('rp-old', 'o-0', 1, minute(0)), order('rp-new', 'o-1', 1, minute(1))]);
    await t.api.sendAndSettle({ type: 'alias', previousId: 'rp-old', userId: 'rp-new', messageId: 'rp-alias', timestamp: minute(2) });
    const more = Array.from({ length: APPLIED_MAX + 5 }, (_, n) => order('rp-new', `o-${n + 2}`, 1, minute(3 + n)));
    // In small batches: one customer's concurrent writes contend, and this is not the test of that.
    for (let i = 0; i < more.length; i += 10) await t.api.sendAndSettle(more.slice(i, i + 10));
    const before = (await t.api.customer('rp-new')).stats.orderCount;
    expect(before).toBe(APPLIED_MAX + 7);

    await redeliverIngested(t.engine, 'rp-old-o-0'); // applied to rp-old before the join, 200+ messages back
    expect((await t.api.customer('rp-new')).stats.orderCount).toBe(before);
  }, 120_000);

  it("an event under the surviving id resumes a joined id's run waiting for it", async () => {
    await t.api.sendAndSettle([
      { type: 'identify', userId: 'c-old', traits: { email: 'c-old@example.org' } },
      { type: 'track', userId: 'c-old', event: 'Complaint Filed', messageId: 'c-old-complaint', properties: { complaintId: 'C-77' } },
    ]);
    const records = new JourneyStore(documentClient(t.engine.dynamo.client), PROFILE_TABLE);
    await eventually(async () => (await records.waitsFor('c-old', 'Complaint Resolved')).length === 1, 'the complaint run waiting for its resolution');
    await t.api.sendAndSettle({ type: 'alias', previousId: 'c-old', userId: 'c-new', messageId: 'c-alias' });

    await t.api.sendAndSettle({ type: 'track', userId: 'c-new', event: 'Complaint Resolved', messageId: 'c-resolved', properties: { complaintId: 'C-77' } });
    await eventually(async () => (await records.waitsFor('c-old', 'Complaint Resolved')).length === 0, 'the wait taken');
    expect(t.engine.deadLetters).toEqual([]);
  }, 60_000);

  it("a later send of a joined id's run counts both ids' marketing messages against the cap and honours both ids' consent holds", async () => {
    // Prepare: each customer got the welcome email of their own run; then they are joined.
    for (const id of ['s-old', 's-new']) {
      await t.api.sendAndSettle([
        { type: 'identify', userId: id, traits: { email: `${id}@example.org` } },
        { type: 'track', userId: id, event: 'Signed Up', messageId: `${id}-signup` },
      ]);
      await eventually(async () => (await messagesOf(t.engine, id)).some((m) => m.stepId === 'send-welcome' && m.status === 'sent'), `welcome email to ${id}`);
    }
    const kept = await eventually(async () => (await runsOf(t.engine, 's-old')).find((r) => r.journeyId === 'welcome' && r.status === 'running'), 'welcome run of s-old');
    await t.api.sendAndSettle({ type: 'alias', previousId: 's-old', userId: 's-new', messageId: 's-alias' });

    // The kept run's next marketing email, as the step Lambda runs it, with a cap of 2 a week.
    const sent: string[] = [];
    const runner = (policy: Partial<typeof DEFAULT_SEND_POLICY>) =>
      createStepRunner({
        profiles: t.engine.profiles,
        journeys: new JourneyStore(documentClient(t.engine.dynamo.client), PROFILE_TABLE),
        channels: { email: (m) => (sent.push(m.to), Promise.resolve({ providerId: 'p' })), sms: () => Promise.reject(new Error('no sms')), webhook: () => Promise.reject(new Error('no webhook')) },
        templates: liquidTemplates(readTemplates('workflows/templates')),
        evaluate: () => false,
        policy: { ...DEFAULT_SEND_POLICY, quietHours: undefined, ...policy },
        clock: new ScaledClock(1),
        unsubscribe: { baseUrl: t.engine.url, keys: staticUnsubscribeKeys('k') },
        mutateProfile: () => Promise.resolve(),
        sendTaskSuccess: () => Promise.resolve(false),
      });
    const step = (stepId: string): StepInput => ({
      journeyId: 'welcome',
      stepId,
      action: 'send',
      config: { channel: 'email', template: 'getting-started' },
      customerId: 's-old',
      trigger: { messageId: 's-old-signup', event: 'Signed Up', properties: {} },
      execution: kept.executionName,
    });
    expect(await runner({ frequencyCap: 2 }).run(step('extra-1'))).toEqual({ status: 'skipped', reason: 'frequency-cap' });

    // A denial ingest recorded under the other id (not yet on the profile) holds for the joined customer.
    const now = new Date().toISOString();
    await t.engine.profiles.putConsentHold('s-new', 'email', { status: 'denied', source: 'Unsubscribed', at: now, key: now });
    expect(await runner({ frequencyCap: 10 }).run(step('extra-2'))).toEqual({ status: 'skipped', reason: 'unsubscribed' });
    expect(sent).toEqual([]);
  }, 60_000);

  it('an alias of an id racing its erasure never brings the erased id back', async () => {
    const { engine, api } = t;
    for (const round of [0, 1, 2, 3]) {
      // Prepare: two known customers; the old one's erasure and an alias of it into the new one at the same moment.
      const old = `ra-old-${round}-7731`;
      const next = `ra-new-${round}-7731`;
      await api.sendAndSettle([
        { type: 'identify', userId: old, traits: { email: `${old}@example.org` } },
        order(old, 'o-1', 3, minute(1)),
        { type: 'identify', userId: next, traits: { email: `${next}@example.org` } },
        order(next, 'o-2', 4, minute(2)),
      ]);

      // Act
      const [erased, aliased] = await Promise.all([api.del(`/v1/customers/${old}`), segmentAlias(old, next)]);
      await engine.settle();
      // Later events of the old id (a late sender) arrive after both.
      await api.sendAndSettle(order(old, 'o-3', 5, minute(3)));

      // Assess: the erased id answers 404 and nothing of it is left anywhere, whichever came first (the alias may
      // have joined it into the new customer first: then erasing it erased the joined customer, both ids).
      expect(erased.status, `round ${round}`).toBe(200);
      expect([200, 202]).toContain(aliased.status);
      expect((await api.get(`/v1/customers/${old}`)).status, `round ${round}: ${old}`).toBe(404);
      // No item names the erased id: no profile or forwarding record, nor the alias's own link records
      // (A#<old>, the visitor record anon:<old>), nor the alias event on the survivor's timeline (its
      // messageId, which the sender chose to spell with both ids, aside).
      const left = (await allTableItems()).filter((item) => item.replaceAll(`alias-${old}-${next}`, '').includes(old));
      expect(left, `round ${round}`).toEqual([]);
      const survivor = await api.get(`/v1/customers/${next}`);
      if (survivor.status === 200) expect((survivor.json as unknown as { stats: { orderCount: number } }).stats.orderCount, `round ${round}`).toBe(1);
    }
    expect(engine.deadLetters).toEqual([]);
  }, 120_000);

  it('a journey enrolment of the old id racing its alias ends with one run, on the joined customer', async () => {
    const { engine, api } = t;
    for (const round of [0, 1, 2]) {
      // Prepare: both known; the new one already in the welcome journey.
      const old = `re-old-${round}`;
      const next = `re-new-${round}`;
      await api.sendAndSettle([{ type: 'identify', userId: old, traits: { email: `${old}@example.org` } }, { type: 'identify', userId: next, traits: { email: `${next}@example.org` } }]);
      await api.sendAndSettle({ type: 'track', userId: next, event: 'Signed Up', messageId: `${next}-signup` });
      await eventually(async () => (await runsOf(engine, next)).find((r) => r.journeyId === 'welcome' && r.status === 'running'), `welcome run of ${next}`);

      // Act: the old id signs up while the alias joins it into the new one.
      await Promise.all([api.send({ type: 'track', userId: old, event: 'Signed Up', messageId: `${old}-signup` }), segmentAlias(old, next)]);
      await engine.settle();

      // Assess: of the welcome runs under either id, one is running (re-entry: never).
      const runs = [...(await runsOf(engine, next)), ...(await runsOf(engine, old))].filter((r) => r.journeyId === 'welcome');
      const byName = new Map(runs.map((r) => [r.executionName, r]));
      expect([...byName.values()].filter((r) => r.status === 'running'), `round ${round}: ${JSON.stringify([...byName.values()])}`).toHaveLength(1);
      const running = [...engine.journeys.sfn.executions.values()].filter((e) => e.status === 'RUNNING' && (e.input.customerId === old || e.input.customerId === next) && e.name.startsWith('welcome'));
      expect(running, `round ${round}`).toHaveLength(1);
    }
    expect(engine.deadLetters).toEqual([]);
  }, 120_000);

  it('erasing the joined customer removes every item of both ids (the alias records too) and stops both ids’ runs', async () => {
    await t.api.sendAndSettle([
      { type: 'identify', userId: 'e-old-5521', traits: { email: 'e.old.5521@example.org' } },
      order('e-old-5521', 'o-1', 3, minute(1)),
      { type: 'identify', userId: 'e-new-5521', traits: { email: 'e.new.5521@example.org' } },
      order('e-new-5521', 'o-2', 4, minute(2)),
    ]);
    // A run under the old id (its goal, an order, came before it: the run goes on).
    await t.api.sendAndSettle({ type: 'track', userId: 'e-old-5521', event: 'Signed Up', messageId: 'e-old-signup' });
    const run = await eventually(async () => (await runsOf(t.engine, 'e-old-5521')).find((r) => r.journeyId === 'welcome' && r.status === 'running'), 'welcome run');
    await t.api.sendAndSettle({ type: 'alias', previousId: 'e-old-5521', userId: 'e-new-5521' });
    expect((await t.api.customer('e-new-5521')).stats.orderCount).toBe(2);

    const erased = await t.api.del('/v1/customers/e-new-5521');
    expect(erased.status).toBe(200);
    await t.engine.settle();

    expect((await t.api.get('/v1/customers/e-old-5521')).status).toBe(404);
    expect((await t.api.get('/v1/customers/e-new-5521')).status).toBe(404);
    expect(t.engine.journeys.sfn.executions.get(run.executionName)?.status).toBe('ABORTED');
    const needles = ['e-old-5521', 'e-new-5521', 'e.old.5521@example.org', 'e.new.5521@example.org'];
    expect((await allTableItems()).filter((item) => needles.some((n) => item.includes(n)))).toEqual([]);
    // A late event for the old id is dropped, not the start of a new profile.
    await t.api.sendAndSettle(order('e-old-5521', 'o-3', 1, minute(3)));
    expect((await t.api.get('/v1/customers/e-old-5521')).status).toBe(404);
  }, 60_000);
});
