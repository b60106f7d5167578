import { describe, expect, it } from 'vitest';
import {
  ConditionSchema,
  DEFAULT_SEGMENTATION_CONFIG,
  evaluateCondition,
  evaluateTags,
  loadTagRulesOrThrow,
  type Condition,
  type TagRule,
} from '../../../shared/segmentation';
import type { Profile } from '../../../shared';
import { at, buyer, DAY, daysAgo, hoursAgo, makeProfile, NOW, plusDays, recent } from './profile';

/** Parses one condition written in the YAML language, so tests read like tags.yaml. */
function when(yaml: string): Condition {
  const [rule] = loadTagRulesOrThrow(`tags:\n  - name: t\n    when: ${yaml}\n`, 'tags.yaml');
  return rule!.when;
}

const holds = (condition: string, profile: Profile, now: Date = NOW) => evaluateCondition(when(condition), profile, now).holds;
const nextOf = (condition: string, profile: Profile, now: Date = NOW) => evaluateCondition(when(condition), profile, now).nextChangeAt;

describe('stat conditions', () => {
  const p = makeProfile({
    stats: {
      eventCount: 12,
      orderCount: 3,
      totalRevenue: 1000,
      averageOrderValue: 333.33,
      complaintCount: 2,
      openComplaints: ['c-2'],
      resolvedComplaints: ['c-1'],
      lastSurvey: { type: 'nps', score: 4, at: daysAgo(3) },
    },
  });

  it.each([
    ['{ stat: totalRevenue, gte: 1000 }', true],
    ['{ stat: totalRevenue, gt: 1000 }', false],
    ['{ stat: orderCount, eq: 3 }', true],
    ['{ stat: orderCount, ne: 3 }', false],
    ['{ stat: orderCount, in: [1, 2] }', false],
    ['{ stat: orderCount, gte: 2, lt: 5 }', true],
    ['{ stat: averageOrderValue, lt: 300 }', false],
    ['{ stat: eventCount, lte: 12 }', true],
    ['{ stat: complaintCount, eq: 2 }', true],
    ['{ stat: openComplaints, eq: 1 }', true],
    ['{ stat: resolvedComplaints, gte: 2 }', false],
    ['{ stat: productsViewed, eq: 0 }', true],
    ['{ stat: lastSurveyType, eq: nps }', true],
    ['{ stat: lastSurveyType, in: [csat] }', false],
    ['{ stat: lastSurveyScore, lte: 6 }', true],
    ['{ stat: lastSurveyScore, exists: true }', true],
  ])('%s is %s', (condition, expected) => {
    expect(holds(condition, p)).toBe(expected);
  });

  it('a missing stat fails every comparison except exists: false', () => {
    const fresh = makeProfile();
    expect(holds('{ stat: lastSurveyScore, lte: 6 }', fresh)).toBe(false);
    expect(holds('{ stat: lastSurveyScore, ne: 6 }', fresh)).toBe(false);
    expect(holds('{ stat: lastSurveyScore, exists: false }', fresh)).toBe(true);
  });

  it('never changes with time alone', () => {
    expect(evaluateCondition(when('{ stat: orderCount, eq: 3 }'), p, NOW)).toEqual({ holds: true });
  });
});

describe('trait conditions', () => {
  const p = makeProfile({ traits: { plan: 'pro', seats: 12, beta: true, interests: ['baby', 'garden'], signupDate: '2026-01-10' } });

  it.each([
    ['{ trait: plan, eq: pro }', true],
    ['{ trait: plan, eq: Pro }', false],
    ['{ trait: plan, ne: free }', true],
    ['{ trait: plan, in: [free, starter] }', false],
    ['{ trait: seats, gte: 10 }', true],
    ['{ trait: seats, eq: "12" }', false],
    ['{ trait: seats, gt: "10" }', false],
    ['{ trait: signupDate, lt: "2026-02-01" }', true],
    ['{ trait: beta, eq: true }', true],
    ['{ trait: interests, eq: garden }', true],
    ['{ trait: interests, ne: garden }', false],
    ['{ trait: interests, in: [toys, baby] }', true],
    ['{ trait: plan, exists: true }', true],
    ['{ trait: company, exists: true }', false],
    ['{ trait: company, exists: false }', true],
    ['{ trait: company, ne: acme }', false],
    ['{ trait: company, eq: acme }', false],
  ])('%s is %s', (condition, expected) => {
    expect(holds(condition, p)).toBe(expected);
  });

  it('does not read inherited properties as traits', () => {
    expect(holds('{ trait: toString, exists: true }', p)).toBe(false);
  });
});

describe('days_since conditions (whole days)', () => {
  const p = buyer({ orders: 2, firstDaysAgo: 100, lastDaysAgo: 29.5 });

  it('counts whole days since the date', () => {
    expect(holds('{ days_since: lastOrderAt, eq: 29 }', p)).toBe(true);
    expect(holds('{ days_since: lastOrderAt, gte: 30 }', p)).toBe(false);
    expect(holds('{ days_since: lastOrderAt, lt: 30 }', p)).toBe(true);
    expect(holds('{ days_since: firstOrderAt, gt: 99 }', p)).toBe(true);
    expect(holds('{ days_since: firstSeenAt, in: [200] }', p)).toBe(true);
  });

  it('turns true exactly 30 days after the order, and says so', () => {
    const next = nextOf('{ days_since: lastOrderAt, gte: 30 }', p);
    expect(next).toBe(plusDays(0.5).toISOString());
    expect(holds('{ days_since: lastOrderAt, gte: 30 }', p, new Date(at(next!).getTime() - 1))).toBe(false);
    expect(holds('{ days_since: lastOrderAt, gte: 30 }', p, at(next!))).toBe(true);
  });

  it('gt: 30 turns true at 31 days; eq turns false one day after it turned true', () => {
    expect(nextOf('{ days_since: lastOrderAt, gt: 30 }', p)).toBe(plusDays(1.5).toISOString());
    expect(nextOf('{ days_since: lastOrderAt, eq: 29 }', p)).toBe(plusDays(0.5).toISOString());
  });

  it('reads every profile date', () => {
    const dated = makeProfile({
      lastSeenAt: daysAgo(1),
      stats: { lastComplaintAt: daysAgo(2), lastResolutionAt: daysAgo(3), lastSurvey: { type: 'csat', score: 5, at: daysAgo(4) } },
    });
    expect(holds('{ days_since: lastSeenAt, eq: 1 }', dated)).toBe(true);
    expect(holds('{ days_since: lastComplaintAt, eq: 2 }', dated)).toBe(true);
    expect(holds('{ days_since: lastResolutionAt, eq: 3 }', dated)).toBe(true);
    expect(holds('{ days_since: lastSurveyAt, eq: 4 }', dated)).toBe(true);
  });

  it('a missing date fails comparisons, satisfies exists: false, and never changes with time', () => {
    const fresh = makeProfile();
    expect(evaluateCondition(when('{ days_since: lastOrderAt, gte: 30 }'), fresh, NOW)).toEqual({ holds: false });
    expect(evaluateCondition(when('{ days_since: lastOrderAt, exists: false }'), fresh, NOW)).toEqual({ holds: true });
  });
});

describe('lifecycle conditions', () => {
  it('holds when the stage (recomputed at now) is one of those listed', () => {
    const p = buyer({ orders: 2, firstDaysAgo: 100, lastDaysAgo: 10 }); // stored stage is stale: 'prospect'
    expect(holds('{ lifecycle: active }', p)).toBe(true);
    expect(holds('{ lifecycle: [at-risk, dormant] }', p)).toBe(false);
    expect(holds('{ lifecycle: prospect }', makeProfile())).toBe(true);
  });

  it('changes at the lifecycle boundary', () => {
    const p = buyer({ orders: 2, firstDaysAgo: 100, lastDaysAgo: 10 });
    const next = nextOf('{ lifecycle: [at-risk, dormant] }', p);
    expect(next).toBe(plusDays(35).toISOString());
    expect(holds('{ lifecycle: [at-risk, dormant] }', p, at(next!))).toBe(true);
    // and again when dormant turns into churned
    expect(nextOf('{ lifecycle: [at-risk, dormant] }', p, at(next!))).toBe(plusDays(170).toISOString());
  });

  it('uses the thresholds of the config it is given', () => {
    const p = buyer({ orders: 2, firstDaysAgo: 100, lastDaysAgo: 10 });
    const config = { ...DEFAULT_SEGMENTATION_CONFIG, lifecycle: { ...DEFAULT_SEGMENTATION_CONFIG.lifecycle, at_risk_after_days: 10 } };
    expect(evaluateCondition(when('{ lifecycle: at-risk }'), p, NOW, config).holds).toBe(true);
  });
});

describe('tag conditions (journey branches)', () => {
  const tagged = makeProfile({ computedTags: ['vip'], manualTags: ['crm-gold'] });
  const branch = (c: unknown, p: Profile) => evaluateCondition(ConditionSchema.parse(c), p, NOW);
  it('holds when the customer has the tag now, computed or manual; a list means any of them', () => {
    expect(branch({ tag: 'vip' }, tagged).holds).toBe(true);
    expect(branch({ tag: 'crm-gold' }, tagged).holds).toBe(true);
    expect(branch({ tag: ['churned', 'crm-gold'] }, tagged).holds).toBe(true);
    expect(branch({ tag: 'churned' }, tagged).holds).toBe(false);
    expect(branch({ not: { tag: 'vip' } }, makeProfile()).holds).toBe(true);
    expect(branch({ all: [{ tag: 'vip' }, { stat: 'orderCount', eq: 0 }] }, tagged).holds).toBe(true);
  });
  it('does not change with time alone', () => {
    expect(branch({ tag: 'vip' }, tagged).nextChangeAt).toBeUndefined();
  });
  it('says what a tag condition expects', () => {
    const r = ConditionSchema.safeParse({ tag: [] });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toBe('expected at least one tag');
    expect(ConditionSchema.safeParse({ tag: 3 }).error?.issues[0]?.message).toBe('expected a tag name or a list of them, like vip or [vip, loyal]');
  });
});

describe('rfm conditions', () => {
  const p = buyer({ orders: 5, revenue: 600, lastDaysAgo: 50 }); // R4 F4 M4 = 12

  it.each([
    ['{ rfm: recency, eq: 4 }', true],
    ['{ rfm: frequency, gte: 4 }', true],
    ['{ rfm: monetary, lt: 4 }', false],
    ['{ rfm: tier, eq: high-value }', true],
    ['{ rfm: tier, in: [potential, sleeping] }', false],
  ])('%s is %s', (condition, expected) => {
    expect(holds(condition, p)).toBe(expected);
  });

  it('a customer who never ordered has no scores: comparisons fail, exists: false holds', () => {
    expect(holds('{ rfm: recency, lte: 2 }', makeProfile())).toBe(false);
    expect(holds('{ rfm: tier, ne: high-value }', makeProfile())).toBe(false);
    expect(holds('{ rfm: tier, exists: false }', makeProfile())).toBe(true);
  });

  it('changes when the recency score drops', () => {
    const next = nextOf('{ rfm: tier, eq: high-value }', p);
    expect(next).toBe(plusDays(10).toISOString()); // recency 4 -> 3 at 60 days: total 11, potential
    expect(holds('{ rfm: tier, eq: potential }', p, at(next!))).toBe(true);
  });
});

describe('event conditions', () => {
  const views = (...ages: number[]) => ages.map((age) => recent('Product Viewed', daysAgo(age), { productId: `p-${age}`, category: 'baby', price: 20 }));

  it('holds with at least one such event among the recent ones', () => {
    expect(holds('{ event: Product Viewed }', makeProfile({ recentEvents: views(89) }))).toBe(true);
    expect(holds('{ event: Product Viewed }', makeProfile({ recentEvents: views(90) }))).toBe(false);
    expect(holds('{ event: Order Completed }', makeProfile({ recentEvents: views(1) }))).toBe(false);
  });

  it('within: an event counts for less than the window, and leaves it exactly at the end', () => {
    const edge = makeProfile({ recentEvents: [recent('Product Viewed', daysAgo(7))] });
    const inside = makeProfile({ recentEvents: [recent('Product Viewed', new Date(NOW.getTime() - 7 * DAY + 1).toISOString())] });
    expect(holds('{ event: Product Viewed, within: 7d }', edge)).toBe(false);
    expect(holds('{ event: Product Viewed, within: 7d }', inside)).toBe(true);
    expect(holds('{ event: Product Viewed, within: 1w }', inside)).toBe(true);
    expect(holds('{ event: Product Viewed, within: 168h }', inside)).toBe(true);
    expect(holds('{ event: Product Viewed, within: 12h }', makeProfile({ recentEvents: [recent('Product Viewed', hoursAgo(11))] }))).toBe(true);
    expect(holds('{ event: Product Viewed, within: 12h }', makeProfile({ recentEvents: [recent('Product Viewed', hoursAgo(13))] }))).toBe(false);
  });

  it('at_least and at_most count the events in the window', () => {
    const p = makeProfile({ recentEvents: views(1, 2, 3, 10) });
    expect(holds('{ event: Product Viewed, within: 7d, at_least: 3 }', p)).toBe(true);
    expect(holds('{ event: Product Viewed, within: 7d, at_least: 4 }', p)).toBe(false);
    expect(holds('{ event: Product Viewed, at_least: 4 }', p)).toBe(true);
    expect(holds('{ event: Product Viewed, within: 7d, at_most: 2 }', p)).toBe(false);
    expect(holds('{ event: Product Viewed, within: 7d, at_least: 2, at_most: 3 }', p)).toBe(true);
    expect(holds('{ event: Order Completed, at_most: 2 }', p)).toBe(true);
  });

  it('where filters on the event properties with EventBridge patterns', () => {
    const p = makeProfile({
      recentEvents: [
        recent('Product Viewed', daysAgo(1), { productId: 'p-1', category: 'baby', price: 20 }),
        recent('Product Viewed', daysAgo(2), { productId: 'p-2', category: 'garden', price: 80 }),
        recent('Order Completed', daysAgo(3), { orderId: 'o-1', revenue: 120, currency: 'EUR' }),
      ],
    });
    expect(holds('{ event: Product Viewed, where: { category: [baby] } }', p)).toBe(true);
    expect(holds('{ event: Product Viewed, where: { category: [baby] }, at_least: 2 }', p)).toBe(false);
    expect(holds('{ event: Product Viewed, where: { category: [baby, garden] }, at_least: 2 }', p)).toBe(true);
    expect(holds('{ event: Product Viewed, where: { category: [toys] } }', p)).toBe(false);
    expect(holds('{ event: Product Viewed, where: { price: [{ numeric: [">=", 50] }] } }', p)).toBe(true);
    expect(holds('{ event: Product Viewed, where: { category: [{ prefix: gar }], price: [{ numeric: ["<", 50] }] } }', p)).toBe(false);
    expect(holds('{ event: Product Viewed, where: { category: [{ anything-but: [baby, garden] }] } }', p)).toBe(false);
    expect(holds('{ event: Order Completed, where: { coupon: [{ exists: false }] } }', p)).toBe(true);
    expect(holds('{ event: Order Completed, where: { currency: [{ equals-ignore-case: eur }] } }', p)).toBe(true);
  });

  it('since: counts the events after the latest such event; false when there is none', () => {
    const complaintThenOrder = makeProfile({
      recentEvents: [recent('Complaint Filed', daysAgo(10)), recent('Order Completed', daysAgo(5))],
    });
    const orderThenComplaint = makeProfile({
      recentEvents: [recent('Order Completed', daysAgo(10)), recent('Complaint Filed', daysAgo(5))],
    });
    expect(holds('{ event: Order Completed, since: Complaint Filed }', complaintThenOrder)).toBe(true);
    expect(holds('{ event: Order Completed, since: Complaint Filed }', orderThenComplaint)).toBe(false);
    expect(holds('{ event: Order Completed, since: Signed Up }', complaintThenOrder)).toBe(false);
  });

  it('since { event, where }: counts the events after the latest such event that matches the pattern', () => {
    // A sofa 40 days ago, a chair 10 days ago; views 20 and 5 days ago.
    const p = makeProfile({
      recentEvents: [
        recent('Order Completed', daysAgo(40), { orderId: 'o-sofa', products: [{ sku: 's-1', category: 'sofa' }] }),
        recent('Product Viewed', daysAgo(20), { productId: 'p-1', category: 'table' }),
        recent('Order Completed', daysAgo(10), { orderId: 'o-chair', products: [{ sku: 'c-1', category: 'chair' }] }),
        recent('Product Viewed', daysAgo(5), { productId: 'p-2', category: 'table' }),
      ],
    });
    expect(holds('{ event: Product Viewed, since: { event: Order Completed, where: { products: { category: [sofa] } } }, at_least: 2 }', p)).toBe(true);
    expect(holds('{ event: Product Viewed, since: Order Completed, at_least: 2 }', p)).toBe(false);
    expect(holds('{ no_event: Order Completed, since: { event: Order Completed, where: { products: { category: [sofa] } } } }', p)).toBe(false);
    expect(holds('{ event: Product Viewed, since: { event: Order Completed, where: { products: { category: [lamp] } } } }', p)).toBe(false);
  });

  it('within up to a year: an order 200 days ago is within 300d, not within 90d', () => {
    const p = makeProfile({ recentEvents: [recent('Order Completed', daysAgo(200), { orderId: 'o-old' })] });
    expect(holds('{ event: Order Completed, within: 300d }', p)).toBe(true);
    expect(holds('{ event: Order Completed, within: 90d }', p)).toBe(false);
    expect(holds('{ event: Order Completed }', p)).toBe(false);
    expect(nextOf('{ event: Order Completed, within: 300d }', p)).toBe(plusDays(100).toISOString());
  });

  it('within in months: a month is 30 days', () => {
    const p = makeProfile({ recentEvents: [recent('Product Viewed', daysAgo(59))] });
    expect(holds('{ event: Product Viewed, within: 2mo }', p)).toBe(true);
    expect(holds('{ event: Product Viewed, within: 1mo }', p)).toBe(false);
  });

  it('the next change is when the deciding event leaves the window', () => {
    const p = makeProfile({ recentEvents: views(1, 2, 3, 10) });
    const rule = '{ event: Product Viewed, within: 7d, at_least: 3 }';
    const next = nextOf(rule, p);
    expect(next).toBe(plusDays(4).toISOString()); // the 3-day-old view leaves the 7-day window
    expect(holds(rule, p, new Date(at(next!).getTime() - 1))).toBe(true);
    expect(holds(rule, p, at(next!))).toBe(false);
    expect(nextOf(rule, p, at(next!))).toBeUndefined();
  });

  it('without within, the next change is when the event leaves the recent-events window', () => {
    expect(nextOf('{ event: Product Viewed }', makeProfile({ recentEvents: views(80) }))).toBe(plusDays(10).toISOString());
  });
});

describe('no_event conditions', () => {
  it('within: holds when no such event is in the window', () => {
    const p = makeProfile({ recentEvents: [recent('Order Completed', daysAgo(10))] });
    expect(holds('{ no_event: Order Completed, within: 7d }', p)).toBe(true);
    expect(holds('{ no_event: Order Completed, within: 14d }', p)).toBe(false);
    expect(holds('{ no_event: Order Completed }', p)).toBe(false);
    expect(holds('{ no_event: Order Completed }', makeProfile())).toBe(true);
    expect(nextOf('{ no_event: Order Completed, within: 14d }', p)).toBe(plusDays(4).toISOString());
  });

  it('where: only matching events count', () => {
    const p = makeProfile({ recentEvents: [recent('Order Completed', daysAgo(1), { revenue: 10 })] });
    expect(holds('{ no_event: Order Completed, where: { revenue: [{ numeric: [">", 100] }] } }', p)).toBe(true);
    expect(holds('{ no_event: Order Completed, where: { revenue: [{ numeric: ["<", 100] }] } }', p)).toBe(false);
  });

  it('since: holds when nothing happened after the latest such event, false when there is none', () => {
    const quiet = makeProfile({
      recentEvents: [recent('Order Completed', daysAgo(20)), recent('Complaint Filed', daysAgo(15)), recent('Complaint Filed', daysAgo(5))],
    });
    const orderedSince = makeProfile({
      recentEvents: [recent('Complaint Filed', daysAgo(15)), recent('Order Completed', daysAgo(10)), recent('Complaint Filed', daysAgo(20))],
    });
    expect(holds('{ no_event: Order Completed, since: Complaint Filed }', quiet)).toBe(true);
    expect(holds('{ no_event: Order Completed, since: Complaint Filed }', orderedSince)).toBe(false);
    expect(holds('{ no_event: Order Completed, since: Complaint Filed }', makeProfile())).toBe(false);
  });

  it('since: stops holding when the anchoring event leaves the recent-events window', () => {
    const p = makeProfile({ recentEvents: [recent('Complaint Filed', daysAgo(85))] });
    const rule = '{ no_event: Order Completed, since: Complaint Filed }';
    expect(holds(rule, p)).toBe(true);
    const next = nextOf(rule, p);
    expect(next).toBe(plusDays(5).toISOString());
    expect(holds(rule, p, at(next!))).toBe(false);
  });
});

describe('combinators', () => {
  const p = buyer({ orders: 2, revenue: 1200, firstDaysAgo: 100, lastDaysAgo: 10 });

  it('all, any and not', () => {
    expect(holds('{ all: [{ stat: orderCount, gte: 2 }, { stat: totalRevenue, gte: 1000 }] }', p)).toBe(true);
    expect(holds('{ all: [{ stat: orderCount, gte: 2 }, { stat: totalRevenue, gte: 5000 }] }', p)).toBe(false);
    expect(holds('{ any: [{ stat: orderCount, gte: 20 }, { stat: totalRevenue, gte: 1000 }] }', p)).toBe(true);
    expect(holds('{ any: [{ stat: orderCount, gte: 20 }, { lifecycle: churned }] }', p)).toBe(false);
    expect(holds('{ not: { lifecycle: churned } }', p)).toBe(true);
    expect(holds('{ not: { not: { lifecycle: churned } } }', p)).toBe(false);
    expect(holds('{ all: [{ any: [{ trait: plan, eq: pro }, { stat: orderCount, eq: 2 }] }, { not: { stat: openComplaints, gte: 1 } }] }', p)).toBe(true);
  });

  it('the next change of a combination is the first instant its truth changes, not the first boundary of a part', () => {
    // days_since flips at 20 days, but the rule only changes once both parts hold: at-risk at 45 days
    const rule = '{ all: [{ days_since: lastOrderAt, gte: 30 }, { lifecycle: at-risk }] }';
    expect(nextOf(rule, p)).toBe(plusDays(35).toISOString());
    expect(nextOf('{ not: { days_since: lastOrderAt, lt: 30 } }', p)).toBe(plusDays(20).toISOString());
    expect(nextOf('{ any: [{ days_since: lastOrderAt, gte: 30 }, { lifecycle: at-risk }] }', p)).toBe(plusDays(20).toISOString());
  });
});

describe('evaluateTags', () => {
  const rules: TagRule[] = loadTagRulesOrThrow(
    [
      'tags:',
      '  - name: vip',
      '    when: { stat: totalRevenue, gte: 1000 }',
      '  - name: complained-and-quiet',
      '    when:',
      '      all:',
      '        - { event: Complaint Filed, within: 30d }',
      '        - { no_event: Order Completed, since: Complaint Filed }',
      '  - name: browsing-baby-gear',
      '    when: { event: Product Viewed, where: { category: [baby] }, within: 7d, at_least: 3 }',
      '  - name: about-to-lapse',
      '    when: { days_since: lastOrderAt, gte: 40 }',
    ].join('\n'),
    'tags.yaml',
  );

  it('returns the tags that hold, sorted, and none when nothing holds', () => {
    const p = makeProfile({
      stats: { orderCount: 1, totalRevenue: 1500, lastOrderAt: daysAgo(50), firstOrderAt: daysAgo(50) },
      recentEvents: [recent('Complaint Filed', daysAgo(10))],
    });
    expect(evaluateTags(rules, p, NOW).tags).toEqual(['about-to-lapse', 'complained-and-quiet', 'vip']);
    expect(evaluateTags(rules, makeProfile(), NOW)).toEqual({ tags: [] });
    expect(evaluateTags([], p, NOW)).toEqual({ tags: [] });
  });

  it('nextChangeAt is the earliest change over all rules, and advancing to it changes the tags', () => {
    const p = makeProfile({
      stats: { orderCount: 1, totalRevenue: 80, lastOrderAt: daysAgo(30), firstOrderAt: daysAgo(30) },
      recentEvents: [
        recent('Complaint Filed', daysAgo(25)),
        ...[1, 2, 5].map((d) => recent('Product Viewed', daysAgo(d), { category: 'baby' })),
      ],
    });
    const first = evaluateTags(rules, p, NOW);
    expect(first).toEqual({ tags: ['browsing-baby-gear', 'complained-and-quiet'], nextChangeAt: plusDays(2).toISOString() });
    const second = evaluateTags(rules, p, at(first.nextChangeAt!)); // the 5-day-old view left the 7-day window
    expect(second).toEqual({ tags: ['complained-and-quiet'], nextChangeAt: plusDays(5).toISOString() });
    const third = evaluateTags(rules, p, at(second.nextChangeAt!)); // the complaint is 30 days old
    expect(third).toEqual({ tags: [], nextChangeAt: plusDays(10).toISOString() });
    expect(evaluateTags(rules, p, at(third.nextChangeAt!))).toEqual({ tags: ['about-to-lapse'] });
  });

  it('an order after the complaint removes complained-and-quiet at once', () => {
    const p = makeProfile({
      recentEvents: [recent('Complaint Filed', daysAgo(3)), recent('Order Completed', daysAgo(1))],
    });
    expect(evaluateTags(rules, p, NOW).tags).toEqual([]);
  });
});
