/**
 * Audit 7 (issue 10, erasure of a customer whose first identify was half applied; the sixth audit's 3af0261).
 *
 * Promise (issue 10; README "Privacy: erasure"): after DELETE answers no item names the customer's id or email;
 * erasure reaches "their visitor ids"; the sixth audit's fix erases the visitor a dropped identify of the erased
 * customer links.
 *
 * How it breaks: visitor V leaves their email. The account's identify `{userId: X, anonymousId: V}` is delivered;
 * the consumer links V first (alias `A#V` -> X, V's profile frozen `mergedInto: X`), then X's first profile write
 * fails (DynamoDB 500s, on every attempt): the event is dead-lettered. DELETE X answers 200: X has no profile, so
 * the eraser never learns of V (nothing in X's partition names it), and its redaction takes the dead letter away,
 * so the identify never comes back to be dropped (and V erased) either. V's frozen profile (the email) and the
 * alias item naming X stay for good.
 *
 * Cause: functions/profile/consumer.ts `claimVisitor` writes the link outside X's partition (the alias item, the
 * visitor's frozen record) before X's profile exists; functions/profile/store.ts `erase`/`#reach` finds visitors
 * only through X's profile and timeline; infra/embedded/engine.ts `erasure.redact` removes the dead letter.
 *
 * Suggested fix: write a marker of the link in X's partition before the alias (e.g. `V#<anonymousId>`), which the
 * eraser reads like the timeline's identify events; or have erasure follow the visitor's frozen record/alias.
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
