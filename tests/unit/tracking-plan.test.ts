import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TRACKING_PLAN, loadTrackingPlan, TrackingPlanFileSchema } from '../../shared';
import { formatProblem } from '../../shared/segmentation';

const FILE = 'workflows/tracking-plan.yaml';

describe('tracking-plan.yaml', () => {
  it('the committed plan is the default plan (what Rapport uses without a file)', () => {
    const result = loadTrackingPlan(readFileSync(FILE, 'utf8'), FILE);
    if (!result.ok) throw new Error(result.errors.map(formatProblem).join('\n'));
    expect(result.file).toEqual(TrackingPlanFileSchema.parse(DEFAULT_TRACKING_PLAN));
  });

  it('refuses a broken plan with every problem as file:line:col', () => {
    const text = [
      'sources:',
      '  shop: { mode: refuse }',
      'events:',
      '  Order Completed:',
      '    properties:',
      '      revenue: { type: cash }',
      '      orderId: { type: id, requird: true }',
      '      score: { type: string, min: 1 }',
      '  Tag Added:',
      '    properties: {}',
    ].join('\n');
    const result = loadTrackingPlan(text, 'tracking-plan.yaml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map(formatProblem)).toEqual([
      'tracking-plan.yaml:2:17  sources.shop.mode: expected one of flag, block, got "refuse"',
      'tracking-plan.yaml:6:24  events["Order Completed"].properties.revenue.type: expected one of string, number, integer, boolean, object, array, id, money, currency, got "cash"',
      'tracking-plan.yaml:7:28  events["Order Completed"].properties.orderId.requird: unknown key "requird"; Unrecognized key: "requird"',
      'tracking-plan.yaml:9:3  events["Tag Added"]: is an event Rapport derives itself; senders cannot send it',
    ]);
  });

  it('refuses bounds that do not fit the type', () => {
    const result = loadTrackingPlan('events:\n  X:\n    properties:\n      n: { type: string, min: 1 }\n      m: { type: integer, min: 5, max: 1 }\n', 'p.yaml');
    expect(result.ok ? [] : result.errors.map(formatProblem)).toEqual([
      'p.yaml:4:31  events.X.properties.n.min: min and max apply to type number, integer or money, not string',
      'p.yaml:5:40  events.X.properties.m.max: expected max >= min (5), got 1',
    ]);
  });
});
