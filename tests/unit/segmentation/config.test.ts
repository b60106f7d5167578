import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SEGMENTATION_CONFIG,
  formatProblem,
  loadSegmentationConfig,
  loadSegmentationConfigOrThrow,
  SegmentationConfigError,
  SEGMENTATION_FILES,
} from '../../../shared/segmentation';

const FILE = 'segmentation.config.yaml';
const shipped = readFileSync(fileURLToPath(new URL(`../../../workflows/${SEGMENTATION_FILES.config}`, import.meta.url)), 'utf8');

const errorsOf = (text: string) => {
  const result = loadSegmentationConfig(text, FILE);
  if (result.ok) throw new Error('expected the config to fail');
  return result.errors.map(formatProblem);
};

describe('segmentation config', () => {
  it('has the documented defaults', () => {
    expect(DEFAULT_SEGMENTATION_CONFIG).toEqual({
      lifecycle: { new_customer_days: 30, loyal_min_orders: 5, at_risk_after_days: 45, dormant_after_days: 90, churned_after_days: 180 },
      rfm: {
        recency_days: [30, 60, 120, 240],
        frequency_orders: [2, 3, 5, 10],
        monetary_revenue: [100, 250, 500, 1000],
        tiers: { sleeping_max_recency: 2, high_value_min_total: 12 },
      },
    });
  });

  it('ships a segmentation.config.yaml that loads cleanly and states the defaults', () => {
    expect(loadSegmentationConfig(shipped, FILE)).toEqual({ ok: true, config: DEFAULT_SEGMENTATION_CONFIG });
  });

  it('fills every setting left out, including a section with everything commented out', () => {
    expect(loadSegmentationConfigOrThrow('', FILE)).toEqual(DEFAULT_SEGMENTATION_CONFIG);
    expect(loadSegmentationConfigOrThrow('# nothing\nlifecycle:\n  # at_risk_after_days: 60\nrfm:\n  tiers:\n', FILE)).toEqual(
      DEFAULT_SEGMENTATION_CONFIG,
    );
    const config = loadSegmentationConfigOrThrow('lifecycle:\n  at_risk_after_days: 60\nrfm:\n  tiers: { high_value_min_total: 10 }\n', FILE);
    expect(config.lifecycle).toEqual({ ...DEFAULT_SEGMENTATION_CONFIG.lifecycle, at_risk_after_days: 60 });
    expect(config.rfm.tiers).toEqual({ sleeping_max_recency: 2, high_value_min_total: 10 });
  });

  it('reports every problem with file:line:col, the path and what was expected', () => {
    const text = [
      'lifecycle:',
      '  at_risk_after_days: 100',
      '  new_customer_day: 10',
      '  loyal_min_orders: 1',
      'rfm:',
      '  recency_days: [30, 20, 120, 240]',
      '  frequency_orders: "many"',
      '  tiers:',
      '    high_value_min_total: 20',
    ].join('\n');
    expect(errorsOf(text)).toEqual([
      'segmentation.config.yaml:2:3  lifecycle.dormant_after_days: expected more days than at_risk_after_days (100), got 90',
      'segmentation.config.yaml:3:3  lifecycle.new_customer_day: unknown key "new_customer_day"; expected one of new_customer_days, loyal_min_orders, at_risk_after_days, dormant_after_days, churned_after_days',
      'segmentation.config.yaml:4:21  lifecycle.loyal_min_orders: expected at least 2 orders (with 1, every buyer would be loyal), got 1',
      'segmentation.config.yaml:6:17  rfm.recency_days: expected 4 increasing whole numbers of days like [30, 60, 120, 240]: each must be larger than the one before',
      'segmentation.config.yaml:7:21  rfm.frequency_orders: expected 4 increasing whole numbers of orders like [2, 3, 5, 10], got "many"',
      'segmentation.config.yaml:9:27  rfm.tiers.high_value_min_total: expected a total score from 3 to 15, got 20',
    ]);
  });

  it('reports YAML syntax errors at their position', () => {
    const [problem] = errorsOf('lifecycle:\n  at_risk_after_days: [45\n');
    expect(problem).toMatch(/^segmentation\.config\.yaml:\d+:\d+ {2}\(yaml\): /);
  });

  it('throws SegmentationConfigError with every problem attached', () => {
    let thrown: unknown;
    try {
      loadSegmentationConfigOrThrow('rfm:\n  recency_days: [1, 2, 3]\nextra: 1\n', FILE);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SegmentationConfigError);
    const error = thrown as SegmentationConfigError;
    expect(error.name).toBe('SegmentationConfigError');
    expect(error.retryable).toBe(false);
    expect(error.errors.map((e) => `${e.line}:${e.column} ${e.path}`)).toEqual(['2:17 rfm.recency_days', '3:1 extra']);
    expect(error.message).toContain('segmentation.config.yaml:3:1  extra: unknown key "extra"; expected one of lifecycle, rfm');
  });
});
