import { describe, expect, it } from 'vitest';
import { applyEvent, emptyProfile } from '../../../functions/profile';
import { segmentationConditions } from '../../../functions/journeys';
import { INGEST_EVENT_SOURCE, matchesEventPattern, type NormalisedEvent, type Profile } from '../../../shared';
import { evaluateTags, loadTagRulesOrThrow, recentEventsSpec } from '../../../shared/segmentation';
import { ev } from '../../helpers/events';
import { compileTest, loadOk } from '../journeys/helpers';

/**
 * Conditions see what triggers see: a tag rule or a branch with `where` on an
 * array of objects (`products: { category: [sofa] }`) holds exactly when the
 * same pattern, as a trigger, matches the event on the bus (EventBridge: a
 * pattern on an array field matches when any element does).
 */
const now = new Date('2026-11-23T12:00:00Z');
const SOFA_WHERE = { products: { category: ['sofa'] } };
const rules = loadTagRulesOrThrow(
  `tags:
  - name: sofa-buyer
    when: { event: Order Completed, where: { products: { category: [sofa] } }, within: 30d }
`,
  'tags.yaml',
);
const journey = compileTest(
  loadOk(`id: sofa
name: Sofa
version: 1
trigger: { event: Order Completed }
steps:
  - id: pick
    branch:
      - when: { event: Order Completed, where: { products: { category: [sofa] } } }
        next: hello
      - else: end
  - id: hello
    send: { channel: email, template: hello }
`, "sofa.yaml"),
);
const spec = recentEventsSpec(rules, [journey])!;
const branch = segmentationConditions();
const sofaCondition = { event: 'Order Completed', where: SOFA_WHERE };

const order = (products: unknown[], at = '2026-11-20T10:00:00Z') => ev('Order Completed', at, { orderId: 'o-1', revenue: 900, currency: 'EUR', products });
const asBusEvent = (e: NormalisedEvent) => ({ source: INGEST_EVENT_SOURCE, 'detail-type': e.event, detail: e });
const fold = (events: NormalisedEvent[], keep = spec): Profile => events.reduce((p, e) => applyEvent(p, e, now, keep), emptyProfile('cust-1', events[0]!.timestamp));

describe('event conditions on arrays of objects', () => {
  const sofa = order([
    { productId: 'p-1', name: 'Lamp', category: 'lighting', price: 40 },
    { productId: 'p-2', name: 'Sofa', category: 'sofa', price: 860 },
  ]);
  const lamp = order([{ productId: 'p-1', name: 'Lamp', category: 'lighting', price: 40 }]);

  it('the trigger matcher matches the sofa order and not the lamp order (the reference)', () => {
    const trigger = { 'detail-type': ['Order Completed'], detail: { properties: SOFA_WHERE } };
    expect(matchesEventPattern(trigger, asBusEvent(sofa))).toBe(true);
    expect(matchesEventPattern(trigger, asBusEvent(lamp))).toBe(false);
  });

  for (const [label, keep] of [
    ['with the retention spec', spec],
    ['keeping every event (no spec)', undefined],
  ] as const) {
    it(`a tag rule and a branch hold for an order with a sofa in its products, ${label}`, () => {
      const p = fold([sofa], keep);
      expect(evaluateTags(rules, p, now).tags).toEqual(['sofa-buyer']);
      expect(branch(sofaCondition, p, now)).toBe(true);
    });

    it(`and not for an order without one, ${label}`, () => {
      const p = fold([lamp], keep);
      expect(evaluateTags(rules, p, now).tags).toEqual([]);
      expect(branch(sofaCondition, p, now)).toBe(false);
    });
  }

  it('a goal with the same pattern keeps the same part, so the goal-before-start check sees it too', () => {
    const withGoal = compileTest(
      loadOk(
        `id: goal
name: Goal
version: 1
trigger: { event: Signed Up }
goals:
  - { event: Order Completed, where: { products: { category: [sofa] }, revenue: [{ numeric: [">", 100] }] } }
steps:
  - id: hello
    send: { channel: email, template: hello }
`,
        'goal.yaml',
      ),
    );
    const goalSpec = recentEventsSpec([], [withGoal])!;
    expect(goalSpec.events.get('Order Completed')?.shape).toEqual({ products: { category: true }, revenue: true });
    const [kept] = fold([sofa], goalSpec).recentEvents;
    const asGoalSees = { source: INGEST_EVENT_SOURCE, 'detail-type': kept!.name, detail: { type: 'track', event: kept!.name, properties: kept!.properties } };
    expect(withGoal.goalPatterns.some((p) => matchesEventPattern(p, asGoalSees))).toBe(true);
  });

  it('keeps only what the conditions read: the category of each product, not names or prices', () => {
    const p = fold([sofa]);
    expect(p.recentEvents[0]!.properties).toEqual({ products: [{ category: 'lighting' }, { category: 'sofa' }] });
  });

  it('a product list of any length keeps the profile within its bounds, and a sofa among the first products still counts', () => {
    const many = Array.from({ length: 5_000 }, (_, i) => ({ productId: `p-${i}`, name: 'x'.repeat(150), category: i === 10 ? 'sofa' : `cat-${i}`, tags: ['a', 'b'] }));
    for (const keep of [spec, undefined]) {
      const p = fold([order(many)], keep);
      expect(Buffer.byteLength(JSON.stringify(p.recentEvents[0]))).toBeLessThanOrEqual(5 * 1024);
      expect(branch(sofaCondition, p, now)).toBe(true);
    }
    // What the rules read (each product's category) is kept for the first 50 products.
    expect((fold([order(many)]).recentEvents[0]!.properties.products as unknown[]).length).toBe(50);
  });
});
