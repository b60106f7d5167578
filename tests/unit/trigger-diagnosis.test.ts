/**
 * `rapport simulate` says why nobody entered: the trigger's matches among the events on the bus and, with
 * none, the closest miss (which field failed, with its value) or the event names that came instead.
 */
import { describe, expect, it } from 'vitest';
import { diagnoseTrigger } from '../../infra/cli/trigger-diagnosis';
import type { EventPattern } from '../../shared/pattern';

const SOFA: EventPattern = { source: ['rapport.ingest'], 'detail-type': ['Order Completed'], detail: { properties: { products: { category: ['sofa'] } } } };
const bus = (name: string, properties: Record<string, unknown>) => ({ source: 'rapport.ingest', 'detail-type': name, detail: { type: 'track', event: name, properties } });

describe('diagnoseTrigger', () => {
  it('says nothing when the trigger matched', () => {
    expect(diagnoseTrigger([bus('Order Completed', { products: [{ category: 'chair' }, { category: 'sofa' }] })], [SOFA])).toEqual([]);
  });

  it('names the closest miss: the field that failed, its value and what was expected', () => {
    const events = [bus('Product Viewed', { productId: 'p-1' }), bus('Order Completed', { products: [{ category: 'chair' }] }), bus('Order Completed', { orderId: 'o-2' })];
    expect(diagnoseTrigger(events, [SOFA])).toEqual([
      'the trigger matched 0 of 3 events on the bus',
      '2 Order Completed event(s) came, none matching; the closest had properties.products.category ["chair"] (expected ["sofa"])',
      'a population whose orders have these categories: npm run demo -- --categories sofa --out demo.ndjson --generate-only',
    ]);
  });

  it('with no event of the trigger\'s name, lists the names that came and the nearest', () => {
    const events = [bus('Order Complete', { total: 3 }), bus('Product Viewed', {}), bus('Product Viewed', {})];
    expect(diagnoseTrigger(events, [SOFA])).toEqual([
      'the trigger matched 0 of 3 events on the bus',
      'no Order Completed event came (did you mean Order Complete?); the events were: Product Viewed 2, Order Complete 1',
    ]);
  });
});
