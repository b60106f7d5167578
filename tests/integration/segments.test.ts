/**
 * Segments through the HTTP API on the embedded engine: every tag, lifecycle stage and RFM tier counts its
 * members exactly as they come and go (tags added and removed, stages moving, redeliveries, alias joins,
 * erasure), and lists them in pages. Counts are read in one item, never by scanning.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { cliInProcess } from '../cli/helpers';
import { client } from '../helpers/client';
import { redeliverIngested, startTestEngine } from '../helpers/engine';

const START = Date.parse('2026-03-02T10:00:00Z');

describe('segments', () => {
  let clock: VirtualClock;
  let engine: Engine;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    clock = new VirtualClock(START);
    engine = await startTestEngine({ clock, sweepEveryMs: 0, logLevel: 'SILENT' });
    api = client(engine);
  });
  afterAll(() => engine.stop());

  const count = async (id: string) => {
    const res = await api.get(`/v1/segments/${encodeURIComponent(id)}`);
    expect(res.status).toBe(200);
    return (res.json as unknown as { count: number }).count;
  };
  const members = async (id: string, limit = 1000) => {
    const out: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await api.get(`/v1/segments/${encodeURIComponent(id)}/customers?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const page = res.json as unknown as { customers: Array<{ id: string }>; next: string | null };
      out.push(...page.customers.map((c) => c.id));
      cursor = page.next;
    } while (cursor !== null);
    return out;
  };
  const tags = (userId: string, list: string[], messageId: string) => ({ type: 'identify', userId, messageId, traits: { tags: list } });

  it('counts and lists the members of a tag as the sender adds and removes it, redeliveries included', async () => {
    await api.sendAndSettle(['s-1', 's-2', 's-3', 's-4', 's-5'].map((id) => tags(id, ['crm-gold'], `${id}-gold`)));
    expect(await count('tag:crm-gold')).toBe(5);
    expect(await members('tag:crm-gold', 2)).toEqual(['s-1', 's-2', 's-3', 's-4', 's-5']);

    await api.sendAndSettle([tags('s-2', ['beta-tester'], 's-2-beta'), tags('s-4', [], 's-4-none')]);
    expect(await count('tag:crm-gold')).toBe(3);
    expect(await count('tag:beta-tester')).toBe(1);
    expect(await members('tag:crm-gold')).toEqual(['s-1', 's-3', 's-5']);

    // The bus redelivers both changes and an old one: nothing moves.
    await redeliverIngested(engine, 's-2-beta');
    await redeliverIngested(engine, 's-4-none');
    await redeliverIngested(engine, 's-1-gold');
    await engine.settle();
    expect([await count('tag:crm-gold'), await count('tag:beta-tester')]).toEqual([3, 1]);

    const profile = await api.get('/v1/customers/s-2');
    expect((profile.json as unknown as { segments: string[] }).segments).toEqual(expect.arrayContaining(['tag:beta-tester', 'lifecycle:prospect']));
  });

  it('moves a customer between lifecycle stages and RFM tiers: each counted in one place', async () => {
    const before = { prospect: await count('lifecycle:prospect'), new: await count('lifecycle:new') };
    await api.sendAndSettle({ type: 'identify', userId: 'l-1', messageId: 'l-1-id', traits: { email: 'l-1@example.com' } });
    expect(await count('lifecycle:prospect')).toBe(before.prospect + 1);
    await api.sendAndSettle({ type: 'track', userId: 'l-1', messageId: 'l-1-o1', event: 'Order Completed', timestamp: new Date(clock.now()).toISOString(), properties: { orderId: 'l-1-o1', revenue: 80, currency: 'EUR' } });
    expect(await count('lifecycle:prospect')).toBe(before.prospect);
    expect(await count('lifecycle:new')).toBe(before.new + 1);
    const view = (await api.get('/v1/customers/l-1')).json as unknown as { rfm: { tier?: string }; segments: string[] };
    expect(view.rfm.tier).toBeDefined();
    expect(await members(`rfm:${view.rfm.tier!}`)).toContain('l-1');
    expect(view.segments).toContain(`rfm:${view.rfm.tier!}`);
  });

  it('an alias joins two customers: the joined one leaves every segment, the survivor is counted once', async () => {
    await api.sendAndSettle([tags('k-old', ['crm-gold'], 'k-old-gold'), tags('k-new', ['crm-gold'], 'k-new-gold')]);
    const gold = await count('tag:crm-gold');
    await api.sendAndSettle({ type: 'alias', previousId: 'k-old', userId: 'k-new', messageId: 'k-alias' });
    expect(await count('tag:crm-gold')).toBe(gold - 1);
    expect(await members('tag:crm-gold')).not.toContain('k-old');
    expect(await members('tag:crm-gold')).toContain('k-new');
    await redeliverIngested(engine, 'k-alias');
    await engine.settle();
    expect(await count('tag:crm-gold')).toBe(gold - 1);
  });

  it('erasure takes the customer out of every segment, also while their events race it', async () => {
    await api.sendAndSettle(tags('e-1', ['crm-gold', 'beta-tester'], 'e-1-tags'));
    const gold = await count('tag:crm-gold');
    const beta = await count('tag:beta-tester');
    const prospects = await count('lifecycle:prospect');
    // Late events keep arriving while the erasure runs.
    const late = api.send(Array.from({ length: 20 }, (_, i) => tags('e-1', i % 2 ? ['crm-gold'] : ['beta-tester'], `e-1-late-${i}`)));
    expect((await api.del('/v1/customers/e-1')).status).toBe(200);
    await late;
    await engine.settle();
    expect([await count('tag:crm-gold'), await count('tag:beta-tester'), await count('lifecycle:prospect')]).toEqual([gold - 1, beta - 1, prospects - 1]);
    for (const segment of ['tag:crm-gold', 'tag:beta-tester', 'lifecycle:prospect']) expect(await members(segment)).not.toContain('e-1');
  });

  it('lists every segment with its count, built-in ones at zero too', async () => {
    const res = await api.get('/v1/segments');
    expect(res.status).toBe(200);
    const list = (res.json as unknown as { segments: Array<{ id: string; kind: string; name: string; count: number }> }).segments;
    expect(list.map((s) => s.id)).toEqual([...list.map((s) => s.id)].sort());
    expect(list).toContainEqual({ id: 'lifecycle:churned', kind: 'lifecycle', name: 'churned', count: 0 });
    expect(list).toContainEqual({ id: 'tag:crm-gold', kind: 'tag', name: 'crm-gold', count: await count('tag:crm-gold') });
    // Visitors are not counted; every count equals its member list.
    for (const s of list) expect((await members(s.id)).length).toBe(s.count);
  });

  it('rapport segments prints every count, one segment, and its members', async () => {
    const all = await cliInProcess(['segments', '--engine', engine.url]);
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(new RegExp(`^tag:crm-gold +${await count('tag:crm-gold')}$`, 'm'));
    expect(all.stdout).toMatch(/^lifecycle:churned +0$/m);
    const one = await cliInProcess(['segments', 'tag:crm-gold', '--members', '--limit', '2', '--engine', engine.url]);
    expect(one.code).toBe(0);
    expect(one.stdout.split('\n').slice(0, 4)).toEqual([`tag:crm-gold: ${await count('tag:crm-gold')} members`, ...(await members('tag:crm-gold')).slice(0, 2), '... more (raise --limit, at most 1000)']);
    const bad = await cliInProcess(['segments', 'vip', '--engine', engine.url]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/kind one of tag, lifecycle, rfm/);
    expect((await cliInProcess(['segments', 'tag:crm-gold', '--limit', 'x', '--engine', engine.url])).code).toBe(2);
  });

  it('refuses a malformed segment id, limit or cursor naming it', async () => {
    const bad = await api.get('/v1/segments/vip');
    expect(bad.status).toBe(400);
    expect((bad.json as unknown as { message: string }).message).toMatch(/kind one of tag, lifecycle, rfm/);
    expect((await api.get('/v1/segments/lifecycle:sleepy')).status).toBe(400);
    expect((await api.get('/v1/segments/tag:%00')).status).toBe(400);
    expect((await api.get('/v1/segments/segment:nobody-declared-this')).status).toBe(404);
    expect(((await api.get('/v1/segments/tag:crm-gold/customers?limit=0')).json as unknown as { error: string }).error).toBe('invalid_limit');
    expect(((await api.get('/v1/segments/tag:crm-gold/customers?cursor=abc')).json as unknown as { error: string }).error).toBe('invalid_cursor');
    for (const limit of ['1e2', '%201', '0x10']) expect(((await api.get(`/v1/segments/tag:crm-gold/customers?limit=${limit}`)).json as unknown as { error: string }).error).toBe('invalid_limit');
    // A cursor with the index keys right but the table keys forged (hostile audit F10): refused, not a 503.
    const forged = Buffer.from(JSON.stringify({ GSI1PK: 'SEG#tag:crm-gold', GSI1SK: 's-1', PK: 42, SK: 'G#tag:crm-gold' })).toString('base64url');
    const answer = await api.get(`/v1/segments/tag:crm-gold/customers?cursor=${forged}`);
    expect([answer.status, (answer.json as unknown as { error: string }).error]).toEqual([400, 'invalid_cursor']);
    expect((await api.del('/v1/segments/tag:crm-gold')).status).toBe(405);
  });
});

describe('named segments (workflows/segments.yaml)', () => {
  let clock: VirtualClock;
  let engine: Engine;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    clock = new VirtualClock(START);
    engine = await startTestEngine({ clock, sweepEveryMs: 0, logLevel: 'SILENT' });
    api = client(engine);
  });
  afterAll(() => engine.stop());

  const count = async (id: string) => ((await api.get(`/v1/segments/${id}`)).json as unknown as { count: number }).count;
  const iso = (ms: number) => new Date(ms).toISOString();
  const DAY = 86_400_000;

  it('lists them by name before anyone is in them', async () => {
    const list = (await api.get('/v1/segments')).json as unknown as { segments: Array<Record<string, unknown>> };
    expect(list.segments).toContainEqual({ id: 'segment:engaged-browsers', kind: 'segment', name: 'Engaged browsers', description: 'Viewed 5 or more products in the last 14 days and never ordered', count: 0 });
  });

  it('a customer enters on behaviour, leaves on an order, and one enters with time alone (the sweep)', async () => {
    const t0 = clock.now().getTime();
    await api.sendAndSettle(Array.from({ length: 5 }, (_, i) => ({ type: 'track', userId: 'nb-1', event: 'Product Viewed', messageId: `nb-1-v${i}`, timestamp: iso(t0 - i * 1000), properties: { productId: `p${i}` } })));
    expect(await count('segment:engaged-browsers')).toBe(1);
    expect(((await api.get('/v1/customers/nb-1')).json as unknown as { segments: string[] }).segments).toContain('segment:engaged-browsers');
    await api.sendAndSettle({ type: 'track', userId: 'nb-1', event: 'Order Completed', messageId: 'nb-1-o1', timestamp: iso(t0), properties: { orderId: 'nb-1-o1', revenue: 600 } });
    expect(await count('segment:engaged-browsers')).toBe(0);
    expect(await count('segment:big-spenders-gone-quiet')).toBe(0);

    // 60 days without an order: the sweep finds nb-1 due and moves them in.
    await clock.run(t0 + 61 * DAY);
    await engine.sweep();
    await engine.settle();
    expect(await count('segment:big-spenders-gone-quiet')).toBe(1);
    const page = (await api.get('/v1/segments/segment:big-spenders-gone-quiet/customers')).json as unknown as { customers: Array<{ id: string }> };
    expect(page.customers).toEqual([{ id: 'nb-1' }]);
  });
});
