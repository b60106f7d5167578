/**
 * Issue 10 (a half-applied identify; found by the seventh audit). Visitor V leaves an email; `identify {userId: X,
 * anonymousId: V}` is delivered, the consumer links V (alias `A#V` -> X, V frozen into X), then X's first profile
 * write fails on every attempt and the event is dead-lettered (and redacted on DELETE, so it never comes back).
 * Proves that the link is marked in X's partition before it is written (`markLinks`) and that DELETE X follows the
 * mark: V's frozen record, timeline and alias go with X, and no item names X, the email or V.
 */
import { describe, expect, it } from 'vitest';
import type { DynamoCall } from '../../infra/embedded/faults';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import { profileItemsNaming, useTestEngine } from '../helpers/engine';

const id = 'a7-half-linked-1';
let armed = false;
let failed = 0;
/** While armed: every write of the customer's profile item fails (a DynamoDB 500 streak). */
const failing = (call: DynamoCall) => {
  const item = (call.input.Item ?? {}) as Record<string, { S?: string }>;
  const hit = armed && call.table === PROFILE_TABLE && call.operation === 'PutItem' && item.PK?.S === `C#${id}` && item.SK?.S === 'P';
  if (hit) failed++;
  return hit ? ('InternalServerError' as const) : undefined;
};
const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT', faults: { dynamo: failing } });

describe('DELETE of a customer whose identify linked a visitor and then failed', () => {
  it('leaves no item naming the customer or the email', async () => {
    const visitor = 'a7-half-linked-device-1';
    const email = 'a7.half.linked@example.org';
    await t.api.sendAndSettle([
      { type: 'page', anonymousId: visitor, messageId: 'a7-hl-page-1', name: 'Pricing', properties: {} },
      { type: 'identify', anonymousId: visitor, messageId: 'a7-hl-newsletter-1', traits: { email } },
    ]);

    armed = true;
    await t.api.sendAndSettle({ type: 'identify', userId: id, anonymousId: visitor, messageId: 'a7-hl-account-1', traits: { email } });
    armed = false;
    expect(failed, 'the fault took').toBeGreaterThan(0);
    expect(JSON.stringify((await t.api.get('/v1/admin/dead-letters')).json), 'the identify was dead-lettered').toContain('a7-hl-account-1');

    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
    await t.engine.settle();

    const left = await profileItemsNaming(t.engine, [id, email, `C#anon:${visitor}`]);
    expect(left.map((item) => item.slice(0, 100)), 'items naming the erased customer or their visitor').toEqual([]);
  });
});
