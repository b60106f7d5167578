/**
 * Parked denials follow a visitor's link (issue 10; from audit 8): visitor V (`anon:V`) is erased; a back-dated
 * `Unsubscribed` of V received after the erasure finds no new life and is parked beside V's tombstone. Customer Y
 * (granted earlier) then identifies with V's anonymousId: V's new life is Y's profile, so the link (`claimVisitor`)
 * folds the denials parked for V into Y and deletes them. Y ends `denied`, as without the erasure, and nothing stays parked.
 */
import { describe, expect, it } from 'vitest';
import { useTestEngine } from '../helpers/engine';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: undefined } });

async function scenario(v: string, y: string, erase: boolean): Promise<string> {
  await t.api.sendAndSettle([{ type: 'page', anonymousId: v, name: 'Home' }]);
  const erasureBegan = Date.now();
  if (erase) expect((await t.api.del(`/v1/customers/anon:${v}`)).status).toBe(200);
  await t.api.sendAndSettle([{ type: 'identify', userId: y, traits: { email: `${y}@example.org`, consent: { email: true } } }]);
  // Received after the erasure completed (and after Y's grant), dated before the erasure: parked, no new life yet.
  await t.api.sendAndSettle([{ type: 'track', anonymousId: v, event: 'Unsubscribed', properties: { channel: 'email' }, timestamp: new Date(erasureBegan - 1_000).toISOString() }]);
  await t.api.sendAndSettle([{ type: 'identify', userId: y, anonymousId: v, traits: {} }]);
  // Folded into Y, the parked denial is deleted.
  if (erase) {
    const tombstone = await t.engine.profiles.tombstone(`anon:${v}`, new Date());
    expect(tombstone).toBeDefined();
    expect(await t.engine.profiles.parkedDenials(`anon:${v}`, tombstone!, new Date())).toEqual([]);
  }
  const customer = await t.api.customer(y);
  return `${customer.consent.email.status} (anonymousIds ${JSON.stringify(customer.anonymousIds)})`;
}

describe('a parked denial of an erased visitor, then a customer identifies with the visitor id', () => {
  it('control: no erasure, the visitor\'s denial reaches the customer', async () => {
    expect(await scenario('a8-visitor-ctl-v', 'a8-visitor-ctl-y', false)).toMatch(/^denied/);
  }, 30_000);

  it('after erasure: the parked denial reaches the customer the visitor is linked to', async () => {
    expect(await scenario('a8-visitor-erased-v', 'a8-visitor-erased-y', true)).toMatch(/^denied/);
  }, 30_000);
});
