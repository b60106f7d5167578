import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { loadTagRules } from '../../shared/segmentation';
import { compileJourney, loadJourneysFromDir } from '../../workflows/journeys';
import { cli } from '../cli/helpers';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { messagesOf, outboxFor, runsOf } from '../helpers/journeys';
import { scheduleEvents } from '../helpers/virtual';

/**
 * The abandoned-browse how-to (docs/journeys-howto.md), followed to the letter:
 * its finished files in docs/examples/abandoned-browse are put where the how-to
 * says (the tag rule appended to tags.yaml, the journey in journeys.d, the
 * template in templates), checked by the compiler and the CLI, then run on the
 * embedded engine against a small scripted population replayed on virtual time.
 */
const ROOT = join(import.meta.dirname, '..', '..');
const EXAMPLE = join(ROOT, 'docs', 'examples', 'abandoned-browse');
const HOUR = 3_600_000;
const START = Date.parse('2026-03-02T08:00:00Z');

let dir: string;

/** The how-to's step 1-3: the tag rule goes at the end of tags.yaml, the journey and the template into their folders. */
function installExample(): string {
  const d = mkdtempSync(join(tmpdir(), 'rapport-howto-'));
  cpSync(join(ROOT, 'workflows', 'journeys.d'), join(d, 'journeys.d'), { recursive: true });
  cpSync(join(ROOT, 'workflows', 'templates'), join(d, 'templates'), { recursive: true });
  cpSync(join(ROOT, 'workflows', 'segmentation.config.yaml'), join(d, 'segmentation.config.yaml'));
  cpSync(join(ROOT, 'workflows', 'topics.yaml'), join(d, 'topics.yaml'));
  const rule = readFileSync(join(EXAMPLE, 'browsing-without-buying.tags.yaml'), 'utf8');
  const entry = rule.slice(rule.indexOf('\ntags:\n') + '\ntags:\n'.length);
  writeFileSync(join(d, 'tags.yaml'), `${readFileSync(join(ROOT, 'workflows', 'tags.yaml'), 'utf8').trimEnd()}\n\n${entry}`);
  cpSync(join(EXAMPLE, 'abandoned-browse.yaml'), join(d, 'journeys.d', 'abandoned-browse.yaml'));
  cpSync(join(EXAMPLE, 'browse-reminder.email.liquid'), join(d, 'templates', 'browse-reminder.email.liquid'));
  return d;
}

beforeAll(() => {
  dir = installExample();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the example files of the how-to', () => {
  it('are the files the how-to shows, verbatim', () => {
    const howto = readFileSync(join(ROOT, 'docs', 'journeys-howto.md'), 'utf8');
    const blocks = [...howto.matchAll(/```(yaml|liquid)\n([\s\S]*?)```/g)].map((m) => m[2]!);
    const rule = readFileSync(join(EXAMPLE, 'browsing-without-buying.tags.yaml'), 'utf8');
    expect(blocks).toContain(rule.slice(rule.indexOf('\ntags:\n') + '\ntags:\n'.length));
    expect(blocks).toContain(readFileSync(join(EXAMPLE, 'abandoned-browse.yaml'), 'utf8'));
    expect(blocks).toContain(readFileSync(join(EXAMPLE, 'browse-reminder.email.liquid'), 'utf8'));
  });

  it('the tag rule file is valid on its own and defines browsing-without-buying', () => {
    const result = loadTagRules(readFileSync(join(EXAMPLE, 'browsing-without-buying.tags.yaml'), 'utf8'), 'browsing-without-buying.tags.yaml');
    expect(result.ok ? result.rules.map((r) => r.name) : result.errors).toEqual(['browsing-without-buying']);
  });

  it('the journey loads and compiles with the built-in journeys, started by the tag', () => {
    const loaded = loadJourneysFromDir(join(dir, 'journeys.d'), join(dir, 'templates'), { webhookTargets: ['support', 'supervisor'] });
    const found = loaded.journeys.find((j) => j.journey.id === 'abandoned-browse');
    expect(found).toBeDefined();
    const compiled = compileJourney(found!.journey, { stepFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:steps', ...loaded.catalog, webhookTargets: ['support', 'supervisor'] });
    expect(compiled.triggerPatterns).toEqual([{ source: ['rapport.profile'], 'detail-type': ['Tag Added'], detail: { properties: { tag: ['browsing-without-buying'] } } }]);
  });

  it('`rapport validate` accepts the workflows with the example in them, and `rapport graph` draws it', async () => {
    const validated = await cli(['validate', '--config', dir]);
    expect(validated.stdout).toMatch(/^ok: 4 journeys, \d+ templates, \d+ tag rules and the segmentation config in .* are valid$/m);
    expect(validated.code).toBe(0);
    const graph = await cli(['graph', 'abandoned-browse', '--config', dir]);
    expect(graph.code).toBe(0);
    expect(graph.stdout).toMatch(/^graph TD$/m);
    expect(graph.stdout).toContain('send email: browse-reminder');
    expect(graph.stdout).toContain('wait 1d');
    expect(graph.stdout).toContain('still-not-ordered');
  }, 60_000);
});

/** Who does what, in hours from the start, and whether the how-to's journey must remind them. */
interface Script {
  id: string;
  views: number[];
  orders?: number[];
  unsubscribeAt?: number;
  reminded: boolean;
  why: string;
}
const SCRIPTS: Script[] = [
  { id: 'ab-browser', views: [1, 1.2, 1.4], reminded: true, why: '3 views in 24 hours, no order' },
  { id: 'ab-many', views: [2, 2.5, 3, 3.5, 4], reminded: true, why: '5 views in a morning, no order: one reminder' },
  { id: 'ab-converts', views: [2, 2.2, 2.4], orders: [60], reminded: true, why: 'reminded a day later, orders the day after' },
  { id: 'ab-buyer', views: [1, 1.2, 1.4], orders: [4], reminded: false, why: 'orders 3 hours after browsing' },
  { id: 'ab-ordered-first', views: [1, 1.2, 1.4], orders: [0.5], reminded: false, why: 'ordered half an hour before browsing' },
  { id: 'ab-two-views', views: [1, 1.5], reminded: false, why: 'only 2 views' },
  { id: 'ab-slow', views: [1, 26, 51], reminded: false, why: '3 views, but a day apart' },
  { id: 'ab-unsubscribed', views: [3, 3.2, 3.4], unsubscribeAt: 0.5, reminded: false, why: 'unsubscribed from email: outside the audience' },
];

function history(s: Script): Array<Record<string, unknown>> {
  const at = (hours: number) => new Date(START + hours * HOUR).toISOString();
  const events: Array<Record<string, unknown>> = [{ type: 'identify', userId: s.id, traits: { email: `${s.id}@example.com`, firstName: s.id.slice(3) }, timestamp: at(0) }];
  s.views.forEach((h, i) => events.push({ type: 'track', userId: s.id, event: 'Product Viewed', properties: { productId: `p-${i + 1}`, category: 'home' }, timestamp: at(h) }));
  s.orders?.forEach((h, i) => events.push({ type: 'track', userId: s.id, event: 'Order Completed', properties: { orderId: `${s.id}-${i + 1}`, revenue: 30, currency: 'EUR' }, timestamp: at(h) }));
  if (s.unsubscribeAt !== undefined) events.push({ type: 'track', userId: s.id, event: 'Unsubscribed', properties: { channel: 'email' }, timestamp: at(s.unsubscribeAt) });
  return events;
}

describe('the abandoned-browse journey on the embedded engine (on virtual time)', () => {
  let engine: Engine;
  const reminded = SCRIPTS.filter((s) => s.reminded).map((s) => s.id);
  const notReminded = SCRIPTS.filter((s) => !s.reminded).map((s) => s.id);

  beforeAll(async () => {
    const clock = new VirtualClock(START);
    engine = await startTestEngine({ clock, configDir: dir, journeysDir: join(dir, 'journeys.d'), templatesDir: join(dir, 'templates'), sendPolicy: { quietHours: undefined }, sweepEveryMs: 0 });
    const api = client(engine);
    // Each event when the journey clock reaches its timestamp, as a sender would post it; then every run
    // ends by itself (a day's wait, then up to 3 days for an order) and no timer is left.
    const replay = scheduleEvents(clock, (batch) => api.send(batch), SCRIPTS.flatMap(history));
    await clock.run();
    replay.check();
  }, 120_000);
  afterAll(() => engine?.stop());

  it('tags exactly the customers who viewed 3 products in 24 hours without an order', async () => {
    const api = client(engine);
    const tagged: string[] = [];
    for (const s of SCRIPTS) if (engine.bus.log.some((e) => e['detail-type'] === 'Tag Added' && (e.detail as { userId: string; properties: { tag: string } }).userId === s.id && (e.detail as { properties: { tag: string } }).properties.tag === 'browsing-without-buying')) tagged.push(s.id);
    expect(tagged.sort()).toEqual(['ab-browser', 'ab-buyer', 'ab-converts', 'ab-many', 'ab-unsubscribed']);
    // The profile API shows the tag's current state: the buyers lost it with their order.
    expect((await api.customer('ab-buyer')).tags).not.toContain('browsing-without-buying');
  });

  it.each(SCRIPTS.map((s) => [s.id, s.why, s.reminded] as const))('%s (%s): reminded = %s', async (id, _why, expected) => {
    const sent = outboxFor(engine, id).filter((m) => m.step === 'send-reminder');
    expect(sent).toHaveLength(expected ? 1 : 0);
    if (expected) expect(sent[0]).toMatchObject({ channel: 'email', to: `${id}@example.com`, subject: `Still thinking it over, ${id.slice(3)}?` });
    const records = (await messagesOf(engine, id)).filter((m) => m.journeyId === 'abandoned-browse');
    expect(records.filter((m) => m.status === 'sent').map((m) => m.template)).toEqual(expected ? ['browse-reminder'] : []);
  });

  it('counts the funnel: entered, not entered (audience), reminded, converted before and after the reminder', async () => {
    const res = await fetch(`${engine.url}/v1/journeys/abandoned-browse/stats`);
    const { counters } = (await res.json()) as { counters: Record<string, number> };
    expect(counters).toMatchObject({ entered: 4, 'skipped.audience': 1, 'send-reminder.sent': reminded.length });
    // ab-buyer's order ends the run as a goal, or (when it reached Rapport before the run started) at the branch.
    expect((counters.goal ?? 0) + (counters.completed ?? 0)).toBe(4);
    expect(counters.goal).toBeGreaterThanOrEqual(1);
    const runs = Object.fromEntries(await Promise.all(SCRIPTS.map(async (s) => [s.id, (await runsOf(engine, s.id)).find((r) => r.journeyId === 'abandoned-browse')?.status] as const)));
    expect(runs).toEqual({
      'ab-browser': 'completed',
      'ab-many': 'completed',
      'ab-converts': 'converted',
      'ab-buyer': expect.stringMatching(/^(converted|completed)$/),
      'ab-ordered-first': undefined,
      'ab-two-views': undefined,
      'ab-slow': undefined,
      'ab-unsubscribed': undefined,
    });
    expect(notReminded.every((id) => outboxFor(engine, id).length === 0)).toBe(true);
  });
});
