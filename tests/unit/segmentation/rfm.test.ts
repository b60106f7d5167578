import { describe, expect, it } from 'vitest';
import { DEFAULT_SEGMENTATION_CONFIG, evaluateRfm, loadSegmentationConfigOrThrow, rfmScores, valueTier } from '../../../shared/segmentation';
import { at, buyer, DAY, makeProfile, NOW, plusDays } from './profile';

const config = DEFAULT_SEGMENTATION_CONFIG;

describe('rfmScores (defaults: recency [30, 60, 120, 240] days, frequency [2, 3, 5, 10], monetary [100, 250, 500, 1000])', () => {
  it('is all zeros with no tier for a customer who never ordered', () => {
    expect(rfmScores(makeProfile(), config, NOW)).toEqual({ recency: 0, frequency: 0, monetary: 0 });
  });

  it.each([
    [0, 5],
    [29.99, 5],
    [30, 4],
    [59, 4],
    [60, 3],
    [120, 2],
    [239, 2],
    [240, 1],
    [2000, 1],
  ])('scores recency %s days after the last order as %i', (days, score) => {
    expect(rfmScores(buyer({ lastDaysAgo: days }), config, NOW).recency).toBe(score);
  });

  it.each([
    [1, 1],
    [2, 2],
    [3, 3],
    [4, 3],
    [5, 4],
    [9, 4],
    [10, 5],
    [50, 5],
  ])('scores frequency %i orders as %i', (orders, score) => {
    expect(rfmScores(buyer({ orders, lastDaysAgo: 1 }), config, NOW).frequency).toBe(score);
  });

  it.each([
    [0, 1],
    [99.99, 1],
    [100, 2],
    [250, 3],
    [499, 3],
    [500, 4],
    [1000, 5],
    [12_000, 5],
  ])('scores monetary %d total revenue as %i', (revenue, score) => {
    expect(rfmScores(buyer({ revenue, lastDaysAgo: 1 }), config, NOW).monetary).toBe(score);
  });

  it('uses the thresholds of the config', () => {
    const custom = loadSegmentationConfigOrThrow('rfm:\n  recency_days: [7, 14, 21, 28]\n  monetary_revenue: [10, 20, 30, 40]\n', 'x.yaml');
    expect(rfmScores(buyer({ revenue: 25, lastDaysAgo: 15 }), custom, NOW)).toMatchObject({ recency: 3, monetary: 3 });
  });
});

describe('value tier (sleeping: recency <= 2; high-value: R+F+M >= 12; else potential)', () => {
  it('is sleeping when the recency score is 2 or less, whatever was spent', () => {
    expect(rfmScores(buyer({ orders: 20, revenue: 5000, lastDaysAgo: 120 }), config, NOW)).toEqual({
      recency: 2,
      frequency: 5,
      monetary: 5,
      tier: 'sleeping',
    });
  });

  it('is high-value from a total of 12 and potential below it', () => {
    expect(rfmScores(buyer({ orders: 5, revenue: 500, lastDaysAgo: 1 }), config, NOW)).toEqual({
      recency: 5,
      frequency: 4,
      monetary: 4,
      tier: 'high-value',
    });
    expect(rfmScores(buyer({ orders: 3, revenue: 400, lastDaysAgo: 1 }), config, NOW)).toEqual({
      recency: 5,
      frequency: 3,
      monetary: 3,
      tier: 'potential',
    });
  });

  it('applies the documented rule at its edges', () => {
    const tiers = config.rfm.tiers;
    expect(valueTier(3, 1, 1, tiers)).toBe('potential');
    expect(valueTier(2, 5, 5, tiers)).toBe('sleeping');
    expect(valueTier(3, 4, 5, tiers)).toBe('high-value');
    expect(valueTier(3, 4, 4, tiers)).toBe('potential');
    expect(valueTier(4, 4, 4, { sleeping_max_recency: 3, high_value_min_total: 12 })).toBe('high-value');
  });
});

describe('evaluateRfm: when the scores change with time alone', () => {
  it('has no next change for a customer who never ordered or whose recency is already 1', () => {
    expect(evaluateRfm(makeProfile(), config, NOW)).toEqual({ rfm: { recency: 0, frequency: 0, monetary: 0 } });
    expect(evaluateRfm(buyer({ lastDaysAgo: 300 }), config, NOW).nextChangeAt).toBeUndefined();
  });

  it('changes when the recency score drops, and the tier with it', () => {
    const profile = buyer({ orders: 10, revenue: 2000, lastDaysAgo: 10 });
    const steps: string[] = [];
    let now = NOW;
    for (let result = evaluateRfm(profile, config, now); ; result = evaluateRfm(profile, config, now)) {
      steps.push(`${result.rfm.recency}/${result.rfm.tier}@${Math.round((now.getTime() - NOW.getTime()) / DAY) + 10}`);
      if (result.nextChangeAt === undefined) break;
      now = at(result.nextChangeAt);
    }
    expect(steps).toEqual(['5/high-value@10', '4/high-value@30', '3/high-value@60', '2/sleeping@120', '1/sleeping@240']);
  });

  it('reports the first recency boundary after now', () => {
    expect(evaluateRfm(buyer({ lastDaysAgo: 50 }), config, NOW).nextChangeAt).toBe(plusDays(10).toISOString());
  });
});
