/**
 * Parked denials follow an alias join (issue 10; from audit 8): X is erased; a back-dated `Unsubscribed` of X received
 * after the erasure finds no new life and is parked beside X's tombstone. X then comes back as a known customer Y joined
 * by an alias (`alias {userId: Y, previousId: X}`): X's new life is Y's profile, so the join (`claimKnown`) folds the
 * denials parked for X into Y and deletes them. Y ends `denied`, as without the erasure, and nothing stays parked.
 */
import { describe, expect, it } from 'vitest';
import { useTestEngine } from '../helpers/engine';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: undefined } });

async function scenario(a: string, b: string, erase: boolean): Promise<string> {
  await t.api.sendAndSettle([{ type: 'identify', userId: a, traits: { email: `${a}@example.org` } }]);
  const erasureBegan = Date.now();
  if (erase) expect((await t.api.del(`/v1/customers/${a}`)).status).toBe(200);
  await t.api.sendAndSettle([{ type: 'identify', userId: b, traits: { email: `${b}@example.org`, consent: { email: true } } }]);
  // Received after the erasure completed (and after Y's grant), dated before the erasure: parked, no new life yet.
  await t.api.sendAndSettle([{ type: 'track', userId: a, event: 'Unsubscribed', properties: { channel: 'email' }, timestamp: new Date(erasureBegan - 1_000).toISOString() }]);
  await t.api.sendAndSettle([{ type: 'alias', userId: b, previousId: a }]);
  // Folded into Y, the parked denial is deleted.
  if (erase) {
    const tombstone = await t.engine.profiles.tombstone(a, new Date());
    expect(tombstone).toBeDefined();
    expect(await t.engine.profiles.parkedDenials(a, tombstone!, new Date())).toEqual([]);
  }
  return (await t.api.customer(b)).consent.email.status;
}

describe('a parked denial, then an alias joins the erased id into another customer', () => {
  it('control: no erasure, the denial reaches the customer the alias joins it into', async () => {
    expect(await scenario('a8-alias-ctl-a', 'a8-alias-ctl-b', false)).toBe('denied');
  }, 30_000);

  it('after erasure: the parked denial reaches the customer the alias joins the id into', async () => {
    expect(await scenario('a8-alias-erased-a', 'a8-alias-erased-b', true)).toBe('denied');
  }, 30_000);
});
