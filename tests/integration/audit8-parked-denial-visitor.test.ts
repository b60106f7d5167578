/**
 * Audit 8 (issue 10, parked denials, a visitor): visitor V (`anon:V`) is erased; a back-dated `Unsubscribed` of V
 * received after the erasure finds no new life and is parked beside V's tombstone. Customer Y (granted earlier) then
 * identifies with V's anonymousId: V's new life is Y's profile, but the parked denial is folded in only by a write
 * to `C#anon:V`, so Y stays `granted` after an unsubscribe Rapport accepted. The control (no erasure) ends `denied`.
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
  const customer = await t.api.customer(y);
  return `${customer.consent.email.status} (anonymousIds ${JSON.stringify(customer.anonymousIds)})`;
}

describe('a parked denial of an erased visitor, then a customer identifies with the visitor id', () => {
  it('control: no erasure, the visitor\'s denial reaches the customer', async () => {
    expect(await scenario('a8-visitor-ctl-v', 'a8-visitor-ctl-y', false)).toMatch(/^denied/);
  }, 30_000);

  // BREAK (audit 8): a denial parked under erased visitor V's tombstone is lost when V links to a known customer; fix idea: claimVisitor of a tombstoned visitor folds (and unparks) its parked denials into the claiming profile.
  it.fails('after erasure: the parked denial reaches the customer the visitor is linked to', async () => {
    expect(await scenario('a8-visitor-erased-v', 'a8-visitor-erased-y', true)).toMatch(/^denied/);
  }, 30_000);
});
