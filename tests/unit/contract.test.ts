import { describe, expect, it } from 'vitest';
import { CHANNELS, chunkBusEntries, compileTrackingPlan, PUT_EVENTS_MAX_BYTES, detailTypeOf, normaliseEvent, toBusEntry, type NormaliseOptions } from '../../shared';

const options: NormaliseOptions = { sourceId: 'default', receivedAt: new Date('2026-11-23T10:00:00.000Z') };

function ok(raw: unknown, opts: Partial<NormaliseOptions> = {}) {
  const result = normaliseEvent(raw, 0, { ...options, ...opts });
  if (!result.ok) throw new Error(`expected valid, got ${JSON.stringify(result.problems)}`);
  return result.event;
}
function problems(raw: unknown, opts: Partial<NormaliseOptions> = {}) {
  const result = normaliseEvent(raw, 3, { ...options, ...opts });
  if (result.ok) throw new Error('expected problems');
  return result.problems;
}

describe('event contract: normalisation', () => {
  it('normalises a track event to the bus shape', () => {
    const event = ok({
      type: 'track',
      messageId: 'm-1',
      userId: 42,
      event: 'Order Completed',
      properties: { orderId: 'o-1', revenue: 19.5, currency: 'eur', coupon: 'X' },
      timestamp: '2026-11-23T11:00:00+01:00',
      context: { ip: '1.2.3.4' },
      _metadata: { ignored: true },
    });
    expect(event).toEqual({
      specVersion: 1,
      type: 'track',
      messageId: 'm-1',
      userId: '42',
      event: 'Order Completed',
      properties: { orderId: 'o-1', revenue: 19.5, currency: 'EUR', coupon: 'X' },
      traits: {},
      context: { ip: '1.2.3.4' },
      timestamp: '2026-11-23T10:00:00.000Z',
      receivedAt: '2026-11-23T10:00:00.000Z',
      sourceId: 'default',
    });
    expect(detailTypeOf(event)).toBe('Order Completed');
  });

  it('accepts identify, page, screen, group and alias, each with its own fields', () => {
    expect(ok({ type: 'identify', anonymousId: 'a-1', traits: { email: 'x@example.com' } }).traits).toEqual({ email: 'x@example.com' });
    expect(detailTypeOf(ok({ type: 'identify', userId: 'u' }))).toBe('Identify');
    expect(ok({ type: 'page', userId: 'u', name: 'Pricing' }).name).toBe('Pricing');
    expect(ok({ type: 'screen', userId: 'u', name: 'Home' }).name).toBe('Home');
    expect(ok({ type: 'group', userId: 'u', groupId: 'acme' }).groupId).toBe('acme');
    expect(ok({ type: 'alias', userId: 'u', previousId: 'anon-9' }).previousId).toBe('anon-9');
    expect(problems({ type: 'alias', userId: 'u' })).toEqual([{ index: 3, path: '$.previousId', message: 'required: expected string or number' }]);
  });

  it('refuses an identify whose consent trait could not be applied as sent, naming the field (a denial is never silently lost)', () => {
    expect(ok({ type: 'identify', userId: 'u', traits: { consent: { email: false, sms: true } } }).traits).toEqual({ consent: { email: false, sms: true } });
    expect(ok({ type: 'identify', userId: 'u', traits: { consent: {} } }).traits).toEqual({ consent: {} });
    // The consent channels are the channel registry's (shared/channels).
    const expected = `expected {${CHANNELS.map((c) => `"${c}": true | false`).join(', ')}} (true grants, false denies; any subset of the channels)`;
    expect(problems({ type: 'identify', userId: 'u', traits: { consent: { email: 'false' } } })).toEqual([{ index: 3, path: '$.traits.consent.email', message: 'expected true (granted) or false (denied), received "false"' }]);
    expect(problems({ type: 'identify', userId: 'u', traits: { consent: { email: 0, sms: null } } }).map((p) => p.path)).toEqual(['$.traits.consent.email', '$.traits.consent.sms']);
    expect(problems({ type: 'identify', userId: 'u', traits: { consent: { Email: false } } })).toEqual([{ index: 3, path: '$.traits.consent.Email', message: `"Email" is not a channel; ${expected}` }]);
    expect(problems({ type: 'identify', userId: 'u', traits: { consent: { 'e-mail': false } } })[0]!.path).toBe('$.traits.consent["e-mail"]');
    for (const consent of [false, null, 'denied', [false]]) {
      expect(problems({ type: 'identify', userId: 'u', traits: { consent } })).toEqual([{ index: 3, path: '$.traits.consent', message: expected }]);
    }
  });

  it('requires userId or anonymousId, a known type, and names the path of each problem', () => {
    expect(problems({ type: 'track', event: 'X' })).toEqual([{ index: 3, path: '$.userId', message: 'either userId or anonymousId is required' }]);
    expect(problems({ userId: 'u', event: 'X' })[0]).toMatchObject({ path: '$.type', message: expect.stringContaining('required: one of track, identify') });
    expect(problems({ type: 'purchase', userId: 'u' })[0]).toMatchObject({ path: '$.type', message: expect.stringContaining('expected one of track') });
    expect(problems({ type: 'track', userId: 'u', event: '' })[0]).toMatchObject({ path: '$.event', message: 'must not be empty' });
    expect(problems([1, 2])).toEqual([{ index: 3, path: '$', message: 'expected an event object, received an array' }]);
  });

  it('refuses a known id with the visitor profiles\' prefix anon: (it would write into a visitor as if known)', () => {
    const message = 'must not start with "anon:" (the prefix of visitor profiles; send a visitor id as anonymousId)';
    expect(problems({ type: 'identify', userId: 'anon:v-1', traits: { plan: 'pro' } })).toEqual([{ index: 3, path: '$.userId', message }]);
    expect(problems({ type: 'alias', userId: 'u-1', previousId: 'anon:v-1' })).toEqual([{ index: 3, path: '$.previousId', message }]);
    expect(ok({ type: 'identify', anonymousId: 'anon:v-1', traits: {} }).anonymousId).toBe('anon:v-1');
  });

  it('refuses an id that is a URL dot segment (no path could name the customer to export or erase them)', () => {
    const message = 'must not be "." or ".." (a URL path cannot name it: the customer could be neither exported nor erased)';
    expect(problems({ type: 'identify', userId: '..' })).toEqual([{ index: 3, path: '$.userId', message }]);
    expect(problems({ type: 'track', anonymousId: '.', event: 'X' })).toEqual([{ index: 3, path: '$.anonymousId', message }]);
    expect(problems({ type: 'alias', userId: 'u-1', previousId: '..' })).toEqual([{ index: 3, path: '$.previousId', message }]);
    expect(ok({ type: 'identify', userId: '...', traits: {} }).userId).toBe('...');
  });

  it('refuses an id that is not well-formed Unicode (a lone surrogate has no UTF-8 form: no URL could name it)', () => {
    const message = 'must be well-formed Unicode (a lone UTF-16 surrogate, such as "\\ud800", has no UTF-8 form: no URL could name the customer, who could be neither exported nor erased)';
    expect(problems({ type: 'identify', userId: 'a\ud800' })).toEqual([{ index: 3, path: '$.userId', message }]);
    expect(problems({ type: 'track', anonymousId: '\udc00b', event: 'X' })).toEqual([{ index: 3, path: '$.anonymousId', message }]);
    // A surrogate pair (an emoji) is well-formed.
    expect(ok({ type: 'identify', userId: 'u-\ud83d\ude00', traits: {} }).userId).toBe('u-😀');
  });

  it('flags, and publishes as sent, a known event that breaks the default tracking plan', () => {
    const result = normaliseEvent({ type: 'track', userId: 'u', event: 'Order Completed', properties: { revenue: -1, currency: 'euro' } }, 3, options);
    if (!result.ok) throw new Error(`expected accepted, got ${JSON.stringify(result.problems)}`);
    expect(result.event.properties).toEqual({ revenue: -1, currency: 'euro' });
    expect(result.violations).toEqual(
      expect.arrayContaining([
        { path: '$.properties.revenue', message: 'Order Completed: expected an amount (a number >= 0)' },
        { path: '$.properties.currency', message: 'Order Completed: expected an ISO 4217 currency code such as "EUR"' },
      ]),
    );
    // Segment's spec makes no property mandatory: no order id, no revenue is no violation.
    expect(normaliseEvent({ type: 'track', userId: 'u', event: 'Order Completed', properties: { total: 5 } }, 0, options)).toMatchObject({ ok: true, violations: [] });
  });

  it("refuses a known event that breaks the plan of a source whose mode is block, naming event and field", () => {
    const trackingPlan = compileTrackingPlan({ sources: { default: { mode: 'block' } }, events: { 'Order Completed': { properties: { orderId: { type: 'id', required: true } } } } });
    expect(problems({ type: 'track', userId: 'u', event: 'Order Completed', properties: { total: 5 } }, { trackingPlan })).toEqual([
      { index: 3, path: '$.properties.orderId', message: 'Order Completed: required: expected a string or a number' },
    ]);
    expect(problems({ type: 'track', userId: 'u', event: 'Survey Responded', properties: { surveyType: 'nps', score: 11 } }, { trackingPlan: compileTrackingPlan({ sources: { default: { mode: 'block' } }, events: { 'Survey Responded': { properties: { score: { type: 'integer', max: 10 } } } } }) })).toEqual([
      { index: 3, path: '$.properties.score', message: 'Survey Responded: expected a number <= 10' },
    ]);
  });

  it('refuses consent events Rapport could not apply, for every source', () => {
    expect(problems({ type: 'track', userId: 'u', event: 'Unsubscribed', properties: { channel: 'fax' } })[0]?.message).toContain(`expected one of ${[...CHANNELS, 'all'].map((c) => `"${c}"`).join(', ')}`);
    expect(problems({ type: 'track', userId: 'u', event: 'Message Bounced', properties: { channel: 'email' } })[0]?.path).toBe('$.properties.bounceType');
  });

  it("accepts Segment's snake_case e-commerce properties", () => {
    const event = ok({ type: 'track', userId: 'u', event: 'Order Completed', properties: { order_id: 'o-9', revenue: 0, currency: 'USD' } });
    expect(event.properties).toEqual({ orderId: 'o-9', revenue: 0, currency: 'USD' });
  });

  it('accepts unknown event names with generic validation', () => {
    expect(ok({ type: 'track', userId: 'u', event: 'Webinar Attended', properties: { anything: [1, { deep: true }] } }).event).toBe('Webinar Attended');
  });

  it('refuses events that would forge derived events', () => {
    expect(problems({ type: 'track', userId: 'u', event: 'Tag Added' })[0]).toMatchObject({ path: '$.event', message: expect.stringContaining('reserved') });
  });

  it('limits messageId to 100 characters and nesting depth to 32', () => {
    expect(problems({ type: 'track', userId: 'u', event: 'X', messageId: 'm'.repeat(101) })[0]).toMatchObject({ path: '$.messageId', message: 'must be at most 100 characters' });
    let deep: unknown = {};
    for (let i = 0; i < 40; i++) deep = { a: deep };
    expect(problems({ type: 'track', userId: 'u', event: 'X', properties: deep })[0]?.message).toBe('nested deeper than 32 levels');
  });

  it('generates a messageId when absent: derived from the webhook-id, so a redelivery gets the same one', () => {
    const a = ok({ type: 'track', userId: 'u', event: 'X' }, { deliveryId: 'wh_1' });
    const b = ok({ type: 'track', userId: 'u', event: 'X' }, { deliveryId: 'wh_1' });
    const c = ok({ type: 'track', userId: 'u', event: 'X' }, { deliveryId: 'wh_2' });
    expect(a.messageId).toBe(b.messageId);
    expect(a.messageId).not.toBe(c.messageId);
    expect(a.messageId.length).toBeLessThanOrEqual(100);
    expect(ok({ type: 'track', userId: 'u', event: 'X' }).messageId).not.toBe(ok({ type: 'track', userId: 'u', event: 'X' }).messageId);
  });

  it('defaults the timestamp to receipt time, corrects client clock skew, and refuses the far future', () => {
    expect(ok({ type: 'track', userId: 'u', event: 'X' }).timestamp).toBe('2026-11-23T10:00:00.000Z');
    // The client clock is 1 hour fast: it stamped 10:59:00 and sent at 11:00:00; we received at 10:00:00.
    expect(ok({ type: 'track', userId: 'u', event: 'X', originalTimestamp: '2026-11-23T10:59:00Z', sentAt: '2026-11-23T11:00:00Z' }).timestamp).toBe('2026-11-23T09:59:00.000Z');
    expect(problems({ type: 'track', userId: 'u', event: 'X', timestamp: '2026-11-25T10:00:00Z' })[0]).toMatchObject({ path: '$.timestamp', message: 'is more than 24 hours in the future' });
    expect(problems({ type: 'track', userId: 'u', event: 'X', timestamp: 'yesterday' })[0]?.message).toContain('ISO 8601');
  });
});

describe('event contract: bus entries', () => {
  it('maps an event to Source rapport.ingest, DetailType = name, Detail = the normalised event', () => {
    const event = ok({ type: 'track', userId: 'u', event: 'Signed Up', timestamp: '2026-11-20T08:00:00Z' });
    const entry = toBusEntry(event, 'rapport-dev');
    expect(entry).toEqual({ Source: 'rapport.ingest', DetailType: 'Signed Up', Detail: JSON.stringify(event), Time: new Date('2026-11-20T08:00:00Z'), EventBusName: 'rapport-dev' });
  });

  it('chunks by 10 entries and by the 256 KB request limit, keeping order', () => {
    const small = Array.from({ length: 25 }, (_, i) => ({ Source: 's', DetailType: 'd', Detail: String(i) }));
    expect(chunkBusEntries(small).map((c) => c.length)).toEqual([10, 10, 5]);
    expect(chunkBusEntries(small).flat().map((e) => e.Detail)).toEqual(small.map((e) => e.Detail));
    const big = Array.from({ length: 5 }, () => ({ Source: 's', DetailType: 'd', Detail: 'x'.repeat(100_000) }));
    expect(chunkBusEntries(big).map((c) => c.length)).toEqual([2, 2, 1]);
    expect(PUT_EVENTS_MAX_BYTES).toBe(262_144);
  });
});

describe('event contract: JSON Schema for integrators', () => {
  it('is committed in shared/contract/schema and matches the zod schemas (run `npm run schema` after changing them)', async () => {
    const { readFileSync } = await import('node:fs');
    const { contractJsonSchemas } = await import('../../shared');
    for (const [file, schema] of Object.entries(contractJsonSchemas())) {
      const committed = JSON.parse(readFileSync(`shared/contract/schema/${file}`, 'utf8')) as unknown;
      expect(committed, file).toEqual(JSON.parse(JSON.stringify(schema)));
    }
  });
});

describe('order amounts (Segment: revenue, else total, else value)', () => {
  it('takes revenue first, then total, then value, and skips what is not an amount', async () => {
    const { orderAmount } = await import('../../shared');
    expect(orderAmount({ revenue: 10, total: 20, value: 30 })).toBe(10);
    expect(orderAmount({ total: 27.5, currency: 'EUR' })).toBe(27.5);
    expect(orderAmount({ value: 12.5 })).toBe(12.5);
    expect(orderAmount({ revenue: -1, total: '19.90' })).toBe(19.9);
    expect(orderAmount({ revenue: 'n/a' })).toBe(0);
    expect(orderAmount({})).toBe(0);
  });
});
