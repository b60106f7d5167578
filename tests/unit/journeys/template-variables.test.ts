import { describe, expect, it } from 'vitest';
import { checkTemplate, templateVariableProblems } from '../../../workflows/journeys';
import { loadErrors } from './helpers';

/** Template variables against what a journey's runs give them (workflows/journeys/template-variables.ts). */
const check = (event: string, source: string, channel: 'email' | 'sms' | 'webhook' = 'sms', where?: Record<string, unknown>) =>
  templateVariableProblems({ id: 'j', trigger: { event, ...(where && { where }) } }, channel, 't.liquid', source).map((p) => `${p.line}:${p.column} ${p.message}`);

describe('template variables', () => {
  it('accepts the render context: profile fields, tags, traits, rfm, trigger schema, journey, unsubscribe_url, locals', () => {
    const source = [
      '{{ profile.id }} {{ profile.tags | join: ", " }} {{ profile.traits.name | default: "there" }} {{ profile.stats.orderCount }} {{ profile.rfm.tier }}',
      '{{ trigger.orderId }} {{ trigger.revenue }} {{ journey.id }} {{ journey.step }} {{ triggerEvent.event }} {{ customer.id }} {{ unsubscribe_url }}',
      '{% for tag in profile.tags %}{{ tag }}{{ forloop.index }}{% endfor %}{% assign n = profile.traits.name %}{{ n }}',
    ].join('\n');
    expect(check('Order Completed', source)).toEqual([]);
  });

  it('derived events carry customerId and their own properties; a where key is carried too', () => {
    expect(check('Tag Added', '{{ trigger.tag }} {{ trigger.customerId }}')).toEqual([]);
    expect(check('Lifecycle Stage Changed', '{{ trigger.from }} {{ trigger.to }} {{ trigger.tag }}')).toEqual([
      expect.stringMatching(/^1:40 unknown variable "trigger\.tag": journey "j" starts with "Lifecycle Stage Changed", whose properties are customerId, from, to;/),
    ]);
    expect(check('Order Completed', '{{ trigger.coupon }}', 'sms', { coupon: [{ exists: true }] })).toEqual([]);
  });

  it('accepts any property of a custom event (not known), and a known event extra with a default', () => {
    expect(check('Order Shipped', '{{ trigger.trackingUrl }}')).toEqual([]);
    expect(check('Order Completed', '{{ trigger.coupon | default: "none" }}')).toEqual([]);
    expect(check('Order Completed', '{{ trigger.coupon | upcase }}')).toHaveLength(1);
  });

  it('refuses a list property of the trigger: the run carries scalars only', () => {
    expect(check('Order Completed', '{{ trigger.products.size }}')).toEqual([
      '1:4 "trigger.products" is a list or an object: a run carries only the trigger\'s scalar properties (text, number, true/false) of "Order Completed": orderId, checkoutId, revenue, total, value, subtotal, currency',
    ]);
  });

  it('refuses what a run never has: unsubscribe_url in a webhook body, an unknown root, a profile field outside the view', () => {
    expect(check('Signed Up', '{ "u": {{ unsubscribe_url | json }} }', 'webhook')).toEqual([
      '1:11 unknown variable "unsubscribe_url" (journey "j"): a template has profile, customer, trigger, triggerEvent, journey',
    ]);
    expect(check('Signed Up', 'Hi {{ name }}\n{{ profile.recentEvents.size }}')).toEqual([
      expect.stringMatching(/^1:7 unknown variable "name"/),
      expect.stringMatching(/^2:4 unknown variable "profile\.recentEvents" \(journey "j"\): profile has id, traits,/),
    ]);
  });
});

describe('recommendations (cross-sell)', () => {
  it('accepts recommendations.categories and .products in email and SMS, refuses a typo and a webhook body', () => {
    const source = '{{ recommendations.categories | join: ", " }}{% for p in recommendations.products %}{{ p }}{% endfor %}{{ recommendations.categories.first }}';
    expect(check('Order Completed', source, 'email')).toEqual([]);
    expect(check('Order Completed', source, 'sms')).toEqual([]);
    expect(check('Order Completed', '{{ recommendations.categorys | join: ", " }}\n{{ recomendations.categories }}', 'email')).toEqual([
      '1:4 unknown variable "recommendations.categorys" (journey "j"): recommendations has categories, products',
      expect.stringMatching(/^2:4 unknown variable "recomendations" \(journey "j"\): a template has profile, customer, trigger, triggerEvent, journey, unsubscribe_url, preferences_url, recommendations$/),
    ]);
    expect(check('Order Completed', '{ "r": {{ recommendations.categories | json }} }', 'webhook')).toEqual([expect.stringMatching(/^1:11 unknown variable "recommendations"/)]);
  });
});

describe('webhook bodies are checked as JSON with a sample of every field', () => {
  it('accepts profile.tags, rfm and stats written with the json filter', () => {
    const source = '{ "tags": {{ profile.tags | json }}, "tier": {{ profile.rfm.tier | json }}, "orders": {{ profile.stats.orderCount | json }}, "stage": {{ profile.lifecycleStage | json }} }';
    expect(checkTemplate('crm.webhook.liquid', 'webhook', source)).toEqual([]);
  });
});

describe('trigger references in step config', () => {
  it('refuses "{{ trigger.complaintId }}" in wait_for.where and update.value of a journey started by Order Completed', () => {
    const text = `id: test
name: Test
version: 1
trigger: { event: Order Completed }
steps:
  - id: wait
    wait_for:
      event: Complaint Resolved
      where: { complaintId: ["{{ trigger.complaintId }}"], orderId: ["{{ trigger.orderId }}"] }
      timeout: 1d
  - id: note
    update: { trait: lastComplaint, value: "{{ trigger.complaintId }}" }
`;
    const message = 'unknown trigger property "complaintId": journey "test" starts with "Order Completed", whose runs carry orderId, checkoutId, revenue, total, value, subtotal, currency (and messageId); name one of them, or add it to the trigger\'s where';
    expect(loadErrors(text).map((e) => [e.path, e.line, e.message])).toEqual([
      ['steps[0].wait_for.where.complaintId[0]', 9, message],
      ['steps[1].update.value', 12, message],
    ]);
  });
});
