/**
 * Issue 10 (consent vs the "came back" rule; found by the seventh audit). After an erasure the customer's app sends
 * a queued `Unsubscribed` (dated before the erasure) and, in the next request a few ms later, the comeback identify
 * granting email, dated before the first request was sent: the grant happened before the denial reached Rapport,
 * so the denial must win. Proves that a denial received after the erasure completed that finds no new life yet is
 * not dropped (nor blocks the customer's queue waiting for it): it is parked beside the tombstone and the comeback
 * folds it in, so the new life ends `denied`. The control sends both in one request.
 */
import { describe, expect, it } from 'vitest';
import { useTestEngine } from '../helpers/engine';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: undefined } });

describe('a back-dated denial of an erased customer, then their comeback in the next request', () => {
  it('unsubscribes the new life: the grant happened before the denial reached Rapport', async () => {
    const id = 'a7-nl-next-request';
    await t.api.sendAndSettle([{ type: 'identify', userId: id, messageId: `${id}-old`, traits: { email: `${id}@example.org` }, timestamp: new Date(Date.now() - 60_000).toISOString() }]);
    const erasureBegan = Date.now();
    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);

    // The sender builds both events now (after the erasure completed), and sends them in two requests.
    const builtAt = new Date().toISOString();
    const denial = { type: 'track', userId: id, messageId: `${id}-unsub`, event: 'Unsubscribed', properties: { channel: 'email' }, timestamp: new Date(erasureBegan - 1_000).toISOString() };
    const comeback = { type: 'identify', userId: id, messageId: `${id}-new`, traits: { email: `${id}@example.org`, consent: { email: true } }, timestamp: builtAt };
    await t.api.send([denial]);
    await t.api.send([comeback]);
    await t.engine.settle();

    const consent = (await t.api.customer(id)).consent.email;
    expect(consent.status, `consent.email (grant dated ${builtAt}, before the denial's receipt)`).toBe('denied');
  }, 30_000);

  it('control: the same two events in one request', async () => {
    const id = 'a7-nl-same-request';
    await t.api.sendAndSettle([{ type: 'identify', userId: id, messageId: `${id}-old`, traits: { email: `${id}@example.org` }, timestamp: new Date(Date.now() - 60_000).toISOString() }]);
    const erasureBegan = Date.now();
    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
    const builtAt = new Date().toISOString();
    await t.api.sendAndSettle([
      { type: 'track', userId: id, messageId: `${id}-unsub`, event: 'Unsubscribed', properties: { channel: 'email' }, timestamp: new Date(erasureBegan - 1_000).toISOString() },
      { type: 'identify', userId: id, messageId: `${id}-new`, traits: { email: `${id}@example.org`, consent: { email: true } }, timestamp: builtAt },
    ]);
    expect((await t.api.customer(id)).consent.email.status).toBe('denied');
  }, 30_000);
});
