import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyEvent, emptyProfile, mergeProfiles } from '../../../functions/profile';
import type { NormalisedEvent, Profile } from '../../../shared';
import { evaluateCondition, evaluateTags, loadTagRulesOrThrow, recentEventsSpec, type RecentEventsSpec } from '../../../shared/segmentation';
import { ev, identify } from '../../helpers/events';
import { builtIn, loadOk, compileTest, ROOT } from '../journeys/helpers';

const now = new Date('2026-11-23T12:00:00Z');
const rules = loadTagRulesOrThrow(
  `tags:
  - name: baby
    when: { event: Product Viewed, where: { category: [baby] }, within: 7d, at_least: 2 }
  - name: quiet
    when:
      all:
        - { event: Complaint Filed, within: 30d }
        - { no_event: Order Completed, since: Complaint Filed }
`,
  'tags.yaml',
);
const journey = compileTest(
  loadOk(`id: test
name: J
version: 1
trigger: { event: Signed Up }
goals:
  - { event: Subscribed, where: { $or: [{ channel: [email] }, { plan: [pro] }] } }
steps:
  - id: check
    branch:
      - when: { event: Cart Updated, where: { value: [{ numeric: [">", 50] }] }, within: 2d }
        next: hello
      - else: end
  - id: hello
    send: { channel: email, template: hello }
`),
);
const spec = recentEventsSpec(rules, [journey])!;
const fold = (events: NormalisedEvent[], keep?: RecentEventsSpec, start: Profile = emptyProfile('cust-1', events[0]!.timestamp)) =>
  events.reduce((p, e) => applyEvent(p, e, now, keep), start);

/** A mixed history: what the rules read, among much they do not. */
const history: NormalisedEvent[] = [
  identify('2026-11-01T09:00:00Z', { email: 'ada@example.com' }),
  ev('Complaint Filed', '2026-09-01T10:00:00Z', { complaintId: 'c-0', text: 'old' }),
  ev('Product Viewed', '2026-11-10T10:00:00Z', { productId: 'p-0', category: 'baby', price: 10 }),
  ev('Complaint Filed', '2026-11-20T10:00:00Z', { complaintId: 'c-1', text: 'broken' }),
  ev('Product Viewed', '2026-11-21T10:00:00Z', { productId: 'p-1', category: 'baby', price: 12, name: 'Pram' }),
  ev('Product Viewed', '2026-11-22T10:00:00Z', { productId: 'p-2', category: 'baby', price: 30, name: 'Cot' }),
  ev('Cart Updated', '2026-11-22T11:00:00Z', { value: 80, items: 3 }),
  ev('Subscribed', '2026-11-22T12:00:00Z', { channel: 'email', plan: 'pro', source: 'footer' }),
  ...Array.from({ length: 50 }, (_, i) => ev('Page Viewed', `2026-11-22T13:${String(i).padStart(2, '0')}:00Z`, { path: `/p/${i}`, referrer: 'x' }, { type: 'page' })),
];

describe('recent events kept on the profile: only what tag rules, branches and goals read', () => {
  it('the spec names every referenced event with its referenced properties and how long a condition looks back', () => {
    const entries = Object.fromEntries([...spec.events].map(([name, e]) => [name, { properties: [...e.properties].sort(), days: e.keepMs / 86_400_000 }]));
    expect(entries).toEqual({
      'Product Viewed': { properties: ['category'], days: 7 },
      'Complaint Filed': { properties: [], days: 90 },
      'Order Completed': { properties: [], days: 90 },
      'Cart Updated': { properties: ['value'], days: 2 },
      Subscribed: { properties: ['channel', 'plan'], days: 90 },
    });
  });

  it('drops events nothing reads, properties nothing reads, and events older than every window that reads them', () => {
    const p = fold(history, spec);
    expect(p.recentEvents.map((e) => [e.name, e.at.slice(0, 10), e.properties])).toEqual([
      ['Subscribed', '2026-11-22', { channel: 'email', plan: 'pro' }],
      ['Cart Updated', '2026-11-22', { value: 80 }],
      ['Product Viewed', '2026-11-22', { category: 'baby' }],
      ['Product Viewed', '2026-11-21', { category: 'baby' }],
      ['Complaint Filed', '2026-11-20', {}],
      ['Complaint Filed', '2026-09-01', {}],
    ]);
    expect(p.recentEvents.every((e) => typeof e.messageId === 'string' && e.messageId.length > 0)).toBe(true);
    // Everything else the profile folds is unchanged.
    expect(p.stats).toEqual(fold(history).stats);
    expect(p.stats.eventCount).toBe(history.length);
  });

  it('tags and branch conditions read the trimmed profile exactly as the full one, now and as time passes', () => {
    const full = fold(history);
    const trimmed = fold(history, spec);
    const branch = journey.branchConditions[0]!;
    const parsedBranch = loadTagRulesOrThrow(`tags:\n  - name: b\n    when: ${JSON.stringify(branch)}\n`, 'b.yaml')[0]!.when;
    for (const hours of [0, 12, 30, 24 * 3, 24 * 8, 24 * 40]) {
      const at = new Date(now.getTime() + hours * 3_600_000);
      expect(evaluateTags(rules, trimmed, at), `tags after ${hours}h`).toEqual(evaluateTags(rules, full, at));
      expect(evaluateCondition(parsedBranch, trimmed, at), `branch after ${hours}h`).toEqual(evaluateCondition(parsedBranch, full, at));
    }
    expect(evaluateTags(rules, trimmed, now).tags).toEqual(['baby', 'quiet']);
  });

  it('keeps an event a condition reads with a window up to a year that long, and no other older than 90 days', () => {
    const longRules = loadTagRulesOrThrow('tags:\n  - name: buyer-this-year\n    when: { event: Order Completed, within: 300d }\n', 'tags.yaml');
    const longSpec = recentEventsSpec(longRules, [journey])!;
    const p = fold([ev('Order Completed', '2026-05-01T10:00:00Z', { orderId: 'o-1', revenue: 20 }), ev('Complaint Filed', '2026-05-02T10:00:00Z', { complaintId: 'c-9' })], longSpec);
    expect(p.recentEvents.map((e) => [e.name, e.at.slice(0, 10)])).toEqual([['Order Completed', '2026-05-01']]);
    expect(evaluateTags(longRules, p, now).tags).toEqual(['buyer-this-year']);
  });

  it("a visitor's events merged into a known customer are trimmed the same way", () => {
    const visitor = fold(history.slice(0, 6));
    const known = fold([ev('Page Viewed', '2026-11-22T09:00:00Z', { path: '/' }, { type: 'page' })], spec);
    const merged = mergeProfiles(known, visitor, 'anon-1', now, spec);
    expect(merged.recentEvents.map((e) => [e.name, e.properties])).toEqual([
      ['Product Viewed', { category: 'baby' }],
      ['Product Viewed', { category: 'baby' }],
      ['Complaint Filed', {}],
      ['Complaint Filed', {}],
    ]);
  });

  it('without a spec, or when a journey does not say what it reads, every recent event is kept as before', () => {
    expect(fold(history).recentEvents).toHaveLength(history.length);
    expect(recentEventsSpec(rules, [{ goalPatterns: [] }])).toBeUndefined();
    expect(recentEventsSpec(rules, [{ goalPatterns: [{ 'detail-type': [{ prefix: 'Order' }] }], branchConditions: [] }])).toBeUndefined();
    expect(recentEventsSpec(rules, [{ goalPatterns: [], branchConditions: [{ nonsense: 1 }] }])).toBeUndefined();
  });

  it("the shipped tags and journeys keep what they read and not page views or identifies", () => {
    const shipped = loadTagRulesOrThrow(readFileSync(join(ROOT, 'workflows', 'tags.yaml'), 'utf8'), 'tags.yaml');
    const shippedSpec = recentEventsSpec(shipped, Object.values(builtIn()))!;
    expect(shippedSpec.events.get('Product Viewed')?.properties.has('category')).toBe(true);
    expect(shippedSpec.events.has('Complaint Filed')).toBe(true);
    expect(shippedSpec.events.has('Order Completed')).toBe(true);
    const p = fold(history, shippedSpec);
    expect(p.recentEvents.some((e) => e.name === 'Page Viewed' || e.name === 'identify')).toBe(false);
    expect(evaluateTags(shipped, p, now)).toEqual(evaluateTags(shipped, fold(history), now));
  });
});
