/**
 * Experiment statistics against hand-computed examples (two-proportion z-test, pooled, two-sided), and the
 * variant draw: by weight, the same for the same run and step.
 */
import { describe, expect, it } from 'vitest';
import { experimentView, holdoutView, normalCdf, twoProportionPValue } from '../../../functions/journeys';
import { pickVariant } from '../../../functions/journeys/steps';

describe('experiments', () => {
  it('Φ matches the table', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-1)).toBeCloseTo(0.158655, 6);
  });

  it('p-value: 10/100 against 20/100 is 0.0477 (z = 1.980), 30/1000 against 45/1000 is 0.0775 (z = 1.765)', () => {
    // By hand: pooled 0.15, se = sqrt(0.15 * 0.85 * (1/100 + 1/100)) = 0.050498, z = 0.1 / 0.050498 = 1.98030, p = 2 (1 - Φ(1.98030)).
    expect(twoProportionPValue(10, 100, 20, 100)).toBeCloseTo(0.04767, 4);
    expect(twoProportionPValue(30, 1000, 45, 1000)).toBeCloseTo(0.07748, 4);
    // Symmetric, and no test with fewer than 5 successes or failures in a variant.
    expect(twoProportionPValue(20, 100, 10, 100)).toBeCloseTo(0.04767, 4);
    expect(twoProportionPValue(4, 100, 20, 100)).toBeNull();
    expect(twoProportionPValue(10, 12, 20, 100)).toBeNull();
  });

  it('the view: per variant sent, conversions, revenue, rate, lift and p-value against the control', () => {
    const counters = {
      'offer.variant.control.sent': 100,
      'offer.variant.control.converted': 10,
      'offer.variant.control.attribution.conversions': 12,
      'offer.variant.control.attribution.revenue': 400,
      'offer.variant.bold.sent': 100,
      'offer.variant.bold.converted': 20,
      'offer.variant.bold.attribution.conversions': 26,
      'offer.variant.bold.attribution.revenue': 900.5,
    };
    const view = experimentView(counters, 'offer', ['control', 'bold']);
    // The rate counts converted messages (trials that succeeded), not every order: a customer may order twice.
    expect(view.variants[0]).toEqual({ id: 'control', control: true, sent: 100, converted: 10, conversions: 12, revenue: 400, conversionRate: 0.1, lift: null, pValue: null });
    expect(view.variants[1]).toMatchObject({ id: 'bold', control: false, sent: 100, converted: 20, conversions: 26, revenue: 900.5, conversionRate: 0.2, lift: 1 });
    expect(view.variants[1]!.pValue).toBeCloseTo(0.04767, 4);
    expect(view.method).toMatch(/two-proportion z-test/);
  });

  it('draws variants by weight, the same for the same seed', () => {
    const variants = [
      { id: 'a', weight: 80 },
      { id: 'b', weight: 20 },
    ];
    const draws = Array.from({ length: 10_000 }, (_, i) => pickVariant(variants, `exec-${i}\nstep\nvariant`).id);
    const share = draws.filter((d) => d === 'a').length / draws.length;
    expect(share).toBeGreaterThan(0.78);
    expect(share).toBeLessThan(0.82);
    expect(pickVariant(variants, 'exec-7\nstep\nvariant')).toBe(pickVariant(variants, 'exec-7\nstep\nvariant'));
  });

  it('the holdout: lift of the treated over the held, with its 95% interval (hand-computed)', () => {
    // 1,000 entered, 100 held (8 converted), 900 treated (135 converted): 15% - 8% = 7 points;
    // se = sqrt(0.15 * 0.85 / 900 + 0.08 * 0.92 / 100) = 0.029625, so 0.07 -/+ 1.96 * 0.029625 = [0.01194, 0.12806].
    const view = holdoutView({ entered: 1000, holdout: 100, goal: 143, 'holdout.goal': 8 })!;
    expect(view).toMatchObject({ held: 100, heldConversions: 8, treated: 900, treatedConversions: 135 });
    expect(view.lift).toBeCloseTo(0.07, 10);
    expect(view.ci95![0]).toBeCloseTo(0.01194, 4);
    expect(view.ci95![1]).toBeCloseTo(0.12806, 4);
    expect(holdoutView({ entered: 10, goal: 2 })).toBeUndefined();
    expect(holdoutView({ entered: 20, holdout: 10, goal: 3, 'holdout.goal': 1 })!.ci95).toBeNull();
  });
});
