import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RECENT_EVENTS_DAYS, RECENT_EVENTS_MAX as CONSUMER_RECENT_EVENTS_MAX } from '../../../functions/profile';
import { ManualClock } from '../../../shared';
import {
  createSegmenter,
  DEFAULT_SEGMENTATION_CONFIG,
  loadSegmentationConfigOrThrow,
  loadTagRulesOrThrow,
  RECENT_EVENTS_MAX,
  RECENT_EVENTS_WINDOW_DAYS,
  segment,
  SEGMENTATION_FILES,
  type Segmentation,
  type SegmentationSetup,
} from '../../../shared/segmentation';
import { at, buyer, DAY, daysAgo, HOUR, makeProfile, NOW, plusDays, recent } from './profile';

const read = (name: string) => readFileSync(fileURLToPath(new URL(`../../../workflows/${name}`, import.meta.url)), 'utf8');
const shipped: SegmentationSetup = {
  config: loadSegmentationConfigOrThrow(read(SEGMENTATION_FILES.config), SEGMENTATION_FILES.config),
  rules: loadTagRulesOrThrow(read(SEGMENTATION_FILES.tags), SEGMENTATION_FILES.tags),
};

describe('segment', () => {
  it('computes stage, RFM and tags in one call, with the earliest next change of the three', () => {
    const p = buyer({ orders: 6, revenue: 1200, firstDaysAgo: 300, lastDaysAgo: 20 });
    p.recentEvents = [recent('Complaint Filed', daysAgo(2), { complaintId: 'c-1' })];
    p.stats.openComplaints = ['c-1'];
    expect(segment(p, shipped, NOW)).toEqual({
      lifecycleStage: 'loyal',
      rfm: { recency: 5, frequency: 4, monetary: 5, tier: 'high-value' },
      computedTags: ['complained-and-quiet', 'open-complaint', 'repeat-buyer', 'vip'],
      namedSegments: [],
      nextChangeAt: plusDays(10).toISOString(), // recency 5 -> 4 at 30 days
    });
  });

  it('has no next change when nothing can change with time', () => {
    expect(segment(makeProfile(), shipped, NOW)).toEqual({
      lifecycleStage: 'prospect',
      rfm: { recency: 0, frequency: 0, monetary: 0 },
      computedTags: [],
      namedSegments: [],
    });
  });

  it('createSegmenter gives the (profile, now) function the profile consumer calls', () => {
    const segmenter = createSegmenter(shipped);
    const p = buyer({ lastDaysAgo: 3 });
    expect(segmenter(p, NOW)).toEqual(segment(p, shipped, NOW));
  });

  it('a customer who stops ordering moves through the stages as the sweep advances the clock', () => {
    const segmenter = createSegmenter(shipped);
    const p = buyer({ orders: 3, revenue: 600, firstDaysAgo: 200, lastDaysAgo: 0 });
    const clock = new ManualClock(NOW);
    const stages: string[] = [];
    for (let result = segmenter(p, clock.now()); ; result = segmenter(p, clock.now())) {
      if (stages.at(-1) !== result.lifecycleStage) stages.push(result.lifecycleStage);
      if (result.nextChangeAt === undefined) break;
      clock.advance(at(result.nextChangeAt).getTime() - clock.now().getTime());
    }
    expect(stages).toEqual(['active', 'at-risk', 'dormant', 'churned']);
  });
});

describe('recent-events limits', () => {
  it('match what the profile consumer keeps', () => {
    expect(RECENT_EVENTS_WINDOW_DAYS).toBe(RECENT_EVENTS_DAYS);
    expect(RECENT_EVENTS_MAX).toBe(CONSUMER_RECENT_EVENTS_MAX);
  });
});

describe('nextChangeAt is never late (property)', () => {
  const NAMES = ['Product Viewed', 'Order Completed', 'Complaint Filed', 'Signed Up'] as const;
  const eventArb = fc.record({
    name: fc.constantFrom(...NAMES),
    ageMs: fc.integer({ min: -HOUR, max: 95 * DAY }),
    category: fc.constantFrom('baby', 'garden'),
  });
  const profileArb = fc.record({
    events: fc.array(eventArb, { maxLength: 25 }),
    orders: fc.integer({ min: 0, max: 12 }),
    revenue: fc.integer({ min: 0, max: 3000 }),
    lastOrderAgeMs: fc.integer({ min: 0, max: 250 * DAY }),
    firstOrderExtraMs: fc.integer({ min: 0, max: 60 * DAY }),
    surveyScore: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
  });

  const rules = loadTagRulesOrThrow(
    [
      'tags:',
      '  - name: lapsing',
      '    when: { all: [{ days_since: lastOrderAt, gte: 20 }, { not: { lifecycle: [dormant, churned] } }] }',
      '  - name: many-views',
      '    when: { event: Product Viewed, where: { category: [baby] }, within: 5d, at_least: 2, at_most: 4 }',
      '  - name: sleeping-buyer',
      '    when: { any: [{ rfm: tier, eq: sleeping }, { no_event: Order Completed, since: Complaint Filed }] }',
      '  - name: recent-signup',
      '    when: { event: Signed Up, within: 36h }',
    ].join('\n'),
    'tags.yaml',
  );
  const setup: SegmentationSetup = { config: DEFAULT_SEGMENTATION_CONFIG, rules: [...shipped.rules, ...rules] };
  const same = (a: Segmentation, b: Segmentation) =>
    a.lifecycleStage === b.lifecycleStage && JSON.stringify(a.rfm) === JSON.stringify(b.rfm) && a.computedTags.join() === b.computedTags.join();

  it('holds the result until nextChangeAt, changes it there, and no change is missed before it', () => {
    fc.assert(
      fc.property(profileArb, (input) => {
        const ordered = input.orders > 0;
        const p = makeProfile({
          stats: {
            orderCount: input.orders,
            totalRevenue: ordered ? input.revenue : 0,
            ...(ordered && {
              lastOrderAt: new Date(NOW.getTime() - input.lastOrderAgeMs).toISOString(),
              firstOrderAt: new Date(NOW.getTime() - input.lastOrderAgeMs - input.firstOrderExtraMs).toISOString(),
            }),
            ...(input.surveyScore !== undefined && { lastSurvey: { type: 'nps' as const, score: input.surveyScore, at: daysAgo(1) } }),
          },
          recentEvents: input.events.map((e) => recent(e.name, new Date(NOW.getTime() - e.ageMs).toISOString(), { category: e.category })),
        });
        const now = segment(p, setup, NOW);
        const horizon = now.nextChangeAt === undefined ? NOW.getTime() + 400 * DAY : at(now.nextChangeAt).getTime();
        // sample every 6 hours (and the last millisecond) before the reported change: nothing may differ
        for (let t = NOW.getTime() + 6 * HOUR; t < horizon; t += 6 * HOUR) {
          if (!same(now, segment(p, setup, new Date(t)))) return false;
        }
        if (horizon - 1 > NOW.getTime() && !same(now, segment(p, setup, new Date(horizon - 1)))) return false;
        // and at the reported instant something does change
        return now.nextChangeAt === undefined || !same(now, segment(p, setup, new Date(horizon)));
      }),
      { numRuns: 150 },
    );
  });
});
