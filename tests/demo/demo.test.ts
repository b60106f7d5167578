import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDemo, type DemoReport } from '../../infra/demo/demo';
import { describePopulation, generatePopulation, toNdjson, type Population } from '../../infra/demo/population';
import type { Engine } from '../../infra/embedded/engine';
import { normaliseEvent } from '../../shared/contract';

/**
 * `npm run demo`: the synthetic population is reproducible and valid, and the
 * funnels the demo prints agree with what the engine's own HTTP API reports
 * (journey counters, the outbox, the customer profiles) after the replay.
 */
const DAY = 86_400_000;

describe('the synthetic population', () => {
  const options = { customers: 50, days: 120, seed: 7, start: '2026-01-01T00:00:00Z' };

  it('is the same for the same seed, and different for another seed', () => {
    const a = generatePopulation(options);
    expect(generatePopulation(options)).toEqual(a);
    expect(toNdjson(generatePopulation(options).events)).toBe(toNdjson(a.events));
    const other = generatePopulation({ ...options, seed: 8 });
    expect(other.events.length === a.events.length && toNdjson(other.events) === toNdjson(a.events)).toBe(false);
  });

  it('writes one Segment-shaped event per line, in time order, each one the ingest endpoint accepts', () => {
    const p = generatePopulation(options);
    const lines = toNdjson(p.events).trimEnd().split('\n');
    expect(lines).toHaveLength(p.events.length);
    let previous = '';
    const start = Date.parse(p.start);
    const end = Date.parse(p.end);
    lines.forEach((line, i) => {
      const event = JSON.parse(line) as Record<string, unknown>;
      expect(Object.keys(event).every((k) => ['type', 'messageId', 'userId', 'event', 'properties', 'traits', 'timestamp'].includes(k))).toBe(true);
      const ts = event.timestamp as string;
      expect(ts).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(ts >= previous).toBe(true);
      expect(Date.parse(ts)).toBeGreaterThanOrEqual(start);
      expect(Date.parse(ts)).toBeLessThan(end);
      previous = ts;
      const result = normaliseEvent(event, i, { sourceId: 'demo', receivedAt: new Date(ts) });
      expect(result.ok ? 'ok' : result.problems).toBe('ok');
    });
  });

  it('refuses options that make no population, naming the option', () => {
    expect(() => generatePopulation({ ...options, customers: 0 })).toThrow('customers must be a positive whole number, got 0');
    expect(() => generatePopulation({ ...options, days: 1.5 })).toThrow('days must be a positive whole number, got 1.5');
    expect(() => generatePopulation({ ...options, start: 'yesterday' })).toThrow('start must be a date, got yesterday');
  });

  it("generates a journey's own categories and phone numbers when asked, and refuses bad ones", () => {
    const p = generatePopulation({ ...options, categories: ['sofa', 'coffee table'], phones: 0.5 });
    const products = p.events.flatMap((e) => (e.event === 'Order Completed' ? (e.properties!.products as { category: string }[]) : e.event === 'Product Viewed' ? [e.properties as { category: string }] : []));
    expect(new Set(products.map((x) => x.category))).toEqual(new Set(['sofa', 'coffee table']));
    const identifies = p.events.filter((e) => e.type === 'identify');
    const phones = identifies.flatMap((e) => (typeof e.traits?.phone === 'string' ? [e.traits.phone] : []));
    // About half (binomial, 50 customers: 15 to 35 is more than 4 standard deviations wide) and each a valid E.164 number.
    expect(phones.length).toBeGreaterThanOrEqual(15);
    expect(phones.length).toBeLessThanOrEqual(35);
    for (const phone of phones) expect(phone).toMatch(/^\+3363998\d{4}$/);
    p.events.forEach((event, i) => {
      const result = normaliseEvent(event as unknown as Record<string, unknown>, i, { sourceId: 'demo', receivedAt: new Date(event.timestamp) });
      expect(result.ok ? 'ok' : result.problems).toBe('ok');
    });
    // Without them, no phone and the built-in categories.
    expect(generatePopulation(options).events.some((e) => e.traits?.phone !== undefined)).toBe(false);
    expect(() => generatePopulation({ ...options, categories: [] })).toThrow('categories must name at least one category');
    expect(() => generatePopulation({ ...options, categories: ['sofa', '<b>'] })).toThrow('categories: "<b>" is not a category name');
    expect(() => generatePopulation({ ...options, phones: 1.5 })).toThrow('phones must be a share from 0 to 1, got 1.5');
  });

  it('at the default size, holds every kind of history the built-in journeys branch on', () => {
    const p = generatePopulation({ customers: 1000, days: 120, seed: 42, start: '2026-01-01T00:00:00Z' });
    const d = describePopulation(p);
    for (const name of ['identify', 'Signed Up', 'Product Viewed', 'Order Completed', 'Complaint Filed', 'Complaint Resolved', 'Survey Responded', 'Unsubscribed']) expect(d.byEvent[name] ?? 0).toBeGreaterThan(0);
    const byCustomer = new Map<string, Population['events']>();
    for (const e of p.events) byCustomer.set(e.userId, [...(byCustomer.get(e.userId) ?? []), e]);
    const at = (e: { timestamp: string }) => Date.parse(e.timestamp);
    const named = (events: Population['events'], name: string) => events.filter((e) => e.event === name);
    // welcome: orders before the offer (day 3), none at all, and unsubscribes during it.
    const firstOrderDays = [...byCustomer.values()].map((evs) => {
      const signUp = named(evs, 'Signed Up')[0];
      const order = named(evs, 'Order Completed')[0];
      return signUp && order ? (at(order) - at(signUp)) / DAY : undefined;
    });
    expect(firstOrderDays.filter((x) => x !== undefined && x < 3).length).toBeGreaterThan(50);
    expect(firstOrderDays.filter((x) => x === undefined).length).toBeGreaterThan(50);
    expect(d.unsubscribed).toBeGreaterThan(5);
    // complaint-follow-up: resolved within 24 hours, within the escalation's 48 more, later or never.
    const resolution = new Map<string, number>();
    for (const evs of byCustomer.values())
      for (const filed of named(evs, 'Complaint Filed')) {
        const id = (filed.properties as { complaintId: string }).complaintId;
        const resolved = named(evs, 'Complaint Resolved').find((r) => (r.properties as { complaintId: string }).complaintId === id);
        resolution.set(id, resolved ? (at(resolved) - at(filed)) / 3_600_000 : Infinity);
      }
    const hours = [...resolution.values()];
    expect(hours.filter((h) => h < 24).length).toBeGreaterThan(0);
    expect(hours.filter((h) => h >= 24 && h < 72).length).toBeGreaterThan(0);
    expect(hours.filter((h) => h === Infinity).length).toBeGreaterThan(0);
    // win-back: customers 90+ days without an order (the sweep makes them inactive), some of whom come back.
    expect(d.quiet).toBeGreaterThan(20);
    expect(d.comeBack).toBeGreaterThan(5);
  });
});

describe('npm run demo (infra/demo/main.ts)', () => {
  const ROOT = join(import.meta.dirname, '..', '..');
  /** The script as `npm run demo` runs it: the project's Node with tsx. */
  const demo = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'infra', 'demo', 'main.ts'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });

  it('--out with --generate-only writes the population of the seed, the format rapport simulate reads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rapport-demo-'));
    try {
      const file = join(dir, 'demo.ndjson');
      const run = demo(['--customers', '30', '--days', '20', '--seed', '5', '--out', file, '--generate-only']);
      expect(run.status).toBe(0);
      const expected = toNdjson(generatePopulation({ customers: 30, days: 20, seed: 5, start: '2026-01-01T00:00:00Z' }).events);
      expect(readFileSync(file, 'utf8')).toBe(expected);
      expect(run.stderr).toContain(`[demo] wrote ${expected.trimEnd().split('\n').length} events to ${file}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses bad options with the option, what was expected and the usage (exit 2)', () => {
    const bad = demo(['--customers', 'many']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--customers must be a whole number >= 1, got "many"');
    expect(bad.stderr).toContain('Usage: npm run demo --');
    const alone = demo(['--generate-only']);
    expect(alone.status).toBe(2);
    expect(alone.stderr).toContain('--generate-only needs --out <file>');
    const phones = demo(['--phones', '2', '--out', 'x.ndjson', '--generate-only']);
    expect(phones.status).toBe(2);
    expect(phones.stderr).toContain('--phones must be a share from 0 to 1 (e.g. 0.6), got "2"');
    const categories = demo(['--categories', 'sofa,,table', '--out', 'x.ndjson', '--generate-only']);
    expect(categories.status).toBe(2);
    expect(categories.stderr).toContain('--categories must be category names separated by commas');
    const unknown = demo(['--customer', '5']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--customer'");
  }, 60_000);
});

/** The printed funnel of one journey, read back from the report's text (what a user sees). */
function printedFunnel(lines: string[], journeyId: string) {
  const from = lines.findIndex((l) => l.startsWith(`${journeyId}  (trigger:`));
  expect(from).toBeGreaterThanOrEqual(0);
  const block = lines.slice(from, lines.indexOf('', from) === -1 ? undefined : lines.indexOf('', from));
  const entered = Number(/^ {2}entered (\d[\d,]*)/.exec(block[1]!)![1]!.replace(/,/g, ''));
  const steps = new Map<string, { kind: string; reached: number; sent?: number; rest: string }>();
  for (const line of block.slice(3)) {
    const m = /^ {2}(\S+)\s+(send|webhook|wait_for|wait_until|wait|branch|split|tag|update|exit)\s+(\d[\d,]*)(?:\s+(\d[\d,]*))?(.*)$/.exec(line);
    if (m) steps.set(m[1]!, { kind: m[2]!, reached: Number(m[3]!.replace(/,/g, '')), ...(m[4] !== undefined && { sent: Number(m[4].replace(/,/g, '')) }), rest: m[5]! });
  }
  const totals = /goal conversions (\d+) .* exited (\d+) {3}completed (\d+) {3}stopped (\d+) {3}failed (\d+) {3}still running (\d+)/.exec(block.find((l) => l.includes('goal conversions'))!)!;
  return { entered, steps, goal: Number(totals[1]), exited: Number(totals[2]), completed: Number(totals[3]), stopped: Number(totals[4]), failed: Number(totals[5]), running: Number(totals[6]), check: block.find((l) => l.includes('check:'))! };
}

describe('the demo replay (50 customers over 120 days, on virtual time)', () => {
  it('prints funnels that match the journey counters, the outbox and the profiles', async () => {
    const population = generatePopulation({ customers: 50, days: 120, seed: 7, start: '2026-01-01T00:00:00Z' });
    const printed: string[] = [];
    let api: {
      stats: Map<string, Record<string, number>>;
      outbox: Array<{ channel: string; id: string; tags?: Record<string, string> }>;
      executions: Map<string, string>;
      profiles: Array<{ lifecycleStage: string; rfm: { tier?: string } }>;
      running: number;
    } | undefined;
    const report: DemoReport = await runDemo(population, {
      progress: false,
      out: (line) => printed.push(line),
      beforeStop: async (engine: Engine) => {
        const get = async (path: string) => (await fetch(`${engine.url}${path}`)).json() as Promise<Record<string, unknown>>;
        const { journeys } = (await get('/v1/journeys')) as { journeys: Array<{ id: string }> };
        const stats = new Map<string, Record<string, number>>();
        for (const j of journeys) stats.set(j.id, ((await get(`/v1/journeys/${j.id}/stats`)) as { counters: Record<string, number> }).counters);
        const { messages } = (await get('/v1/outbox?limit=100000')) as { messages: Array<{ channel: string; id: string; tags?: Record<string, string> }> };
        const profiles = await Promise.all(population.customers.map(async (c) => (await get(`/v1/customers/${c.id}`)) as unknown as { lifecycleStage: string; rfm: { tier?: string } }));
        const executions = new Map([...engine.journeys.sfn.executions.values()].map((e) => [e.name, e.journeyId]));
        api = { stats, outbox: messages, executions, profiles, running: [...engine.journeys.sfn.executions.values()].filter((e) => e.status === 'RUNNING').length };
      },
    });
    expect(api).toBeDefined();
    const { stats, outbox, executions, profiles } = api!;
    expect(report.totals.rejected).toBe(0);
    expect(report.totals.accepted).toBe(population.events.length);
    expect(report.lines).toEqual(printed);

    // Messages in the outbox per journey and step: email by its tags, webhooks by their id (<execution>:<step>).
    const sentPerStep = new Map<string, number>();
    for (const m of outbox) {
      const key = m.channel === 'webhook' ? `${executions.get(m.id.slice(0, m.id.lastIndexOf(':')))}/${m.id.slice(m.id.lastIndexOf(':') + 1)}` : `${m.tags!.journey}/${m.tags!.step}`;
      sentPerStep.set(key, (sentPerStep.get(key) ?? 0) + 1);
    }

    expect([...stats.keys()].sort()).toEqual(['complaint-follow-up', 'welcome', 'win-back']);
    let sends = 0;
    for (const [journeyId, counters] of stats) {
      const f = printedFunnel(printed, journeyId);
      expect(f.entered).toBe(counters.entered ?? 0);
      expect({ goal: f.goal, exited: f.exited, completed: f.completed, stopped: f.stopped, failed: f.failed }).toEqual({
        goal: counters.goal ?? 0,
        exited: counters.exited ?? 0,
        completed: counters.completed ?? 0,
        stopped: counters.stopped ?? 0,
        failed: counters.failed ?? 0,
      });
      // The journeys had time to finish: every run that entered has ended, and the books balance.
      expect(f.running).toBe(0);
      expect(f.goal + f.exited + f.completed + f.stopped + f.failed).toBe(f.entered);
      expect(f.check).toContain(' = ');
      for (const [stepId, step] of f.steps) {
        if (step.kind !== 'send' && step.kind !== 'webhook') continue;
        expect(step.sent, `${journeyId}/${stepId} sent`).toBe(counters[`${stepId}.sent`] ?? 0);
        expect(step.sent, `${journeyId}/${stepId} in the outbox`).toBe(sentPerStep.get(`${journeyId}/${stepId}`) ?? 0);
        for (const [key, n] of Object.entries(counters)) if (key.startsWith(`${stepId}.skipped.`)) expect(step.rest).toContain(`${key.slice(stepId.length + 9)} ${n}`);
        sends += step.sent ?? 0;
      }
    }
    // Every message in the outbox is one the funnels count.
    expect(outbox).toHaveLength(sends);
    expect(sends).toBeGreaterThan(0);
    expect(printedFunnel(printed, 'welcome').entered).toBe(population.customers.length);

    // Lifecycle stages and RFM tiers as printed, against the profiles the customer API serves.
    const count = (values: string[]) => values.reduce<Record<string, number>>((acc, v) => ({ ...acc, [v]: (acc[v] ?? 0) + 1 }), {});
    const printedCounts = (label: string) =>
      Object.fromEntries(
        [...printed.find((l) => l.trimStart().startsWith(label))!.trimStart().slice(label.length).trim().matchAll(/([a-z()\- ]+?) (\d+) \([\d.]+%\)(?:, |$)/g)].map((m) => [m[1]!.trim(), Number(m[2])]).filter(([, n]) => n !== 0),
      );
    expect(printedCounts('lifecycle stage')).toEqual(count(profiles.map((p) => p.lifecycleStage)));
    expect(printedCounts('RFM tier')).toEqual(count(profiles.map((p) => p.rfm.tier ?? 'none (never ordered)')));
  }, 120_000);
});

describe('the demo with a journey\'s own categories (sofa, coffee-table): the cross-sell counts', () => {
  it('lists sofa → coffee-table first among the "bought after" pairs, counted as the population bought them', async () => {
    const population = generatePopulation({ customers: 40, days: 120, seed: 11, start: '2026-01-01T00:00:00Z', categories: ['sofa', 'coffee-table'] });
    // The customers who bought a coffee table after a sofa (any order of theirs before any later one), from the events.
    const orders = new Map<string, Array<{ at: string; categories: string[] }>>();
    for (const e of population.events) {
      if (e.event !== 'Order Completed') continue;
      const list = orders.get(e.userId) ?? [];
      list.push({ at: e.timestamp, categories: (e.properties!.products as Array<{ category: string }>).map((p) => p.category) });
      orders.set(e.userId, list);
    }
    const made = (a: string, b: string) => [...orders.values()].filter((os) => os.some((x) => x.categories.includes(a) && os.some((y) => y.at > x.at && y.categories.includes(b)))).length;
    const printed: string[] = [];
    const report = await runDemo(population, { progress: false, drain: false, out: (line) => printed.push(line) });
    expect(report.boughtAfter[0]).toEqual({ pair: 'sofa → coffee-table', customers: made('sofa', 'coffee-table') });
    expect(report.boughtAfter.find((b) => b.pair === 'coffee-table → sofa')?.customers ?? 0).toBe(made('coffee-table', 'sofa'));
    expect(made('sofa', 'coffee-table')).toBeGreaterThan(made('coffee-table', 'sofa'));
    expect(printed.find((l) => l.trimStart().startsWith('bought after'))).toContain(`sofa → coffee-table ${made('sofa', 'coffee-table')}`);
  }, 120_000);
});
