import { describe, expect, it } from 'vitest';
import { DEFAULT_SEGMENTATION_CONFIG, evaluateLifecycle, lifecycleStage, loadSegmentationConfigOrThrow } from '../../../shared/segmentation';
import { at, buyer, DAY, makeProfile, NOW, plusDays } from './profile';

const config = DEFAULT_SEGMENTATION_CONFIG;
const stageOf = (profile: Parameters<typeof lifecycleStage>[0], now = NOW) => lifecycleStage(profile, config, now);

describe('lifecycleStage (defaults: new 30d, loyal 5 orders, at-risk 45d, dormant 90d, churned 180d)', () => {
  it('is prospect for a customer who never ordered', () => {
    expect(stageOf(makeProfile())).toBe('prospect');
  });

  it('is new while the first order is less than 30 days old', () => {
    expect(stageOf(buyer({ lastDaysAgo: 0 }))).toBe('new');
    expect(stageOf(buyer({ lastDaysAgo: 29.99 }))).toBe('new');
    expect(stageOf(buyer({ orders: 3, firstDaysAgo: 20, lastDaysAgo: 1 }))).toBe('new');
  });

  it('is active from exactly 30 days after the first order', () => {
    expect(stageOf(buyer({ lastDaysAgo: 30 }))).toBe('active');
    expect(stageOf(buyer({ orders: 2, firstDaysAgo: 100, lastDaysAgo: 10 }))).toBe('active');
  });

  it('is loyal with 5 or more orders and a recent one, even in the first month', () => {
    expect(stageOf(buyer({ orders: 5, firstDaysAgo: 300, lastDaysAgo: 44 }))).toBe('loyal');
    expect(stageOf(buyer({ orders: 5, firstDaysAgo: 10, lastDaysAgo: 1 }))).toBe('loyal');
    expect(stageOf(buyer({ orders: 4, firstDaysAgo: 300, lastDaysAgo: 1 }))).toBe('active');
  });

  it('is at-risk from exactly 45 days without an order, loyal or not', () => {
    const almost = 45 - 1 / DAY; // one millisecond before the boundary
    expect(stageOf(buyer({ orders: 2, firstDaysAgo: 100, lastDaysAgo: almost }))).toBe('active');
    expect(stageOf(buyer({ orders: 2, firstDaysAgo: 100, lastDaysAgo: 45 }))).toBe('at-risk');
    expect(stageOf(buyer({ orders: 9, firstDaysAgo: 400, lastDaysAgo: 45 }))).toBe('at-risk');
    expect(stageOf(buyer({ orders: 9, firstDaysAgo: 400, lastDaysAgo: 89 }))).toBe('at-risk');
  });

  it('is dormant from 90 days and churned from 180 days without an order', () => {
    expect(stageOf(buyer({ lastDaysAgo: 90 }))).toBe('dormant');
    expect(stageOf(buyer({ lastDaysAgo: 179.9 }))).toBe('dormant');
    expect(stageOf(buyer({ lastDaysAgo: 180 }))).toBe('churned');
    expect(stageOf(buyer({ lastDaysAgo: 1000 }))).toBe('churned');
  });

  it('follows the thresholds of the config', () => {
    const custom = loadSegmentationConfigOrThrow(
      'lifecycle:\n  new_customer_days: 7\n  loyal_min_orders: 3\n  at_risk_after_days: 20\n  dormant_after_days: 40\n  churned_after_days: 60\n',
      'segmentation.config.yaml',
    );
    const stage = (p: Parameters<typeof lifecycleStage>[0]) => lifecycleStage(p, custom, NOW);
    expect(stage(buyer({ lastDaysAgo: 6 }))).toBe('new');
    expect(stage(buyer({ lastDaysAgo: 7 }))).toBe('active');
    expect(stage(buyer({ orders: 3, firstDaysAgo: 50, lastDaysAgo: 5 }))).toBe('loyal');
    expect(stage(buyer({ lastDaysAgo: 20 }))).toBe('at-risk');
    expect(stage(buyer({ lastDaysAgo: 40 }))).toBe('dormant');
    expect(stage(buyer({ lastDaysAgo: 60 }))).toBe('churned');
  });
});

describe('evaluateLifecycle: when the stage changes with time alone', () => {
  it('has no next change for a prospect or a churned customer', () => {
    expect(evaluateLifecycle(makeProfile(), config, NOW)).toEqual({ stage: 'prospect' });
    expect(evaluateLifecycle(buyer({ lastDaysAgo: 200 }), config, NOW)).toEqual({ stage: 'churned' });
  });

  it('walks a one-time buyer through new, active, at-risk, dormant and churned', () => {
    const profile = buyer({ lastDaysAgo: 0 });
    const orderedAt = at(profile.stats.lastOrderAt!);
    const seen: string[] = [];
    let now = NOW;
    for (;;) {
      const result = evaluateLifecycle(profile, config, now);
      seen.push(`${result.stage}@${Math.round((now.getTime() - orderedAt.getTime()) / DAY)}`);
      if (result.nextChangeAt === undefined) break;
      now = at(result.nextChangeAt);
      // just before the reported instant the stage is still the old one
      expect(lifecycleStage(profile, config, new Date(now.getTime() - 1))).toBe(result.stage);
      expect(lifecycleStage(profile, config, now)).not.toBe(result.stage);
    }
    expect(seen).toEqual(['new@0', 'active@30', 'at-risk@45', 'dormant@90', 'churned@180']);
  });

  it('skips boundaries that do not change the stage (a loyal customer goes straight to at-risk)', () => {
    const profile = buyer({ orders: 6, firstDaysAgo: 10, lastDaysAgo: 2 });
    const result = evaluateLifecycle(profile, config, NOW);
    expect(result).toEqual({ stage: 'loyal', nextChangeAt: plusDays(43).toISOString() });
  });

  it('reports the change exactly at the boundary, never after it', () => {
    const profile = buyer({ orders: 2, firstDaysAgo: 60, lastDaysAgo: 10 });
    const result = evaluateLifecycle(profile, config, NOW);
    expect(result).toEqual({ stage: 'active', nextChangeAt: plusDays(35).toISOString() });
    expect(evaluateLifecycle(profile, config, at(result.nextChangeAt!)).stage).toBe('at-risk');
  });
});
