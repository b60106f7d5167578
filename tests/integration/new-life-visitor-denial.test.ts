/**
 * Audit 6 (issue 10, consent vs the came-back rule; the fifth audit's `denialsOnly`/`namedTombstone` fixes).
 *
 * Promise (README "Privacy: erasure" and "Which consent change wins"): a denial received after the erasure
 * completed "applies to the new life whatever its date, as a denial received after a grant always wins";
 * a denial sent only with a visitor's `anonymousId` counts "once that visitor is linked to the customer".
 *
 * How it breaks: customer X browsed as visitor V; X is erased (V with them). X comes back on the same device:
 * an identify of the new life links V to X again, and X subscribes. Then the device's queued `Unsubscribed`
 * arrives with the anonymousId V only, dated (by the device's clock) before the erasure. Received after the
 * erasure completed and after the grant: it must win. With `userId: X` it does (the fifth audit's test,
 * control below); with V only it is dropped, and consent stays `granted`.
 *
 * Cause: functions/profile/consumer.ts:236-237 — for an event that resolved through another id (`namedId` anon:V,
 * which has its own tombstone), `newLifeDenial` returns `denialsOnly(event)` only if `!ofErasedLife(event,
 * profile)`; X's profile is a new life (`rebornAfter`) and the event is dated before it, so `ofErasedLife` is
 * true and it returns undefined without trying the new-life branch below; the event is then dropped as
 * `ofNamedErasedLife`. Ingest's hold under anon:V is undone too (functions/profile/store.ts `#undoHoldIfErased`:
 * `hasNewLife('anon:V')` is false, the visitor's frozen record has no `rebornAfter`).
 *
 * Suggested fix: in `newLifeDenial`, a denial received after the erasure of the id it names (namedTombstone) and
 * after the erasure of the customer it resolved to (or that customer never erased) applies as `denialsOnly`
 * whether or not it is dated in the customer's erased life; i.e. drop the `!ofErasedLife` guard and fall through
 * to the new-life branch. Keep the visitor's hold when the visitor is linked to a customer with a new life.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';

describe('a back-dated denial of a visitor erased with the customer and linked again in their new life', () => {
  let engine: Engine | undefined;
  afterAll(() => engine?.stop());

  it('unsubscribes the new life as the same denial naming the customer does', async () => {
    engine = await startTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: undefined } });
    const api = client(engine);
    const cases = { byUserId: { id: 'a6-nlv-1', visitor: 'a6-nlv-device-1' }, byVisitor: { id: 'a6-nlv-2', visitor: 'a6-nlv-device-2' } };
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();

    for (const { id, visitor } of Object.values(cases)) {
      await api.sendAndSettle([{ type: 'identify', userId: id, anonymousId: visitor, messageId: `${id}-old`, traits: { email: `${id}@example.org` }, timestamp: hourAgo }]);
    }
    const erasureBegan = Date.now();
    for (const { id } of Object.values(cases)) expect((await api.del(`/v1/customers/${id}`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 20));

    // They come back on the same device, and subscribe.
    for (const { id, visitor } of Object.values(cases)) {
      await api.sendAndSettle([
        { type: 'identify', userId: id, anonymousId: visitor, messageId: `${id}-new`, traits: { email: `${id}@example.org` } },
        { type: 'track', userId: id, messageId: `${id}-sub`, event: 'Subscribed', properties: { channel: 'email' } },
      ]);
      const back = await api.customer(id);
      expect(back.anonymousIds).toEqual([visitor]);
      expect(back.consent.email.status).toBe('granted');
    }
    await new Promise((r) => setTimeout(r, 20));

    // The device's queued Unsubscribed, dated before the erasure.
    const unsub = (extra: Record<string, string>, messageId: string) => ({ type: 'track', ...extra, messageId, event: 'Unsubscribed', properties: { channel: 'email' }, timestamp: new Date(erasureBegan - 1_000).toISOString() });
    await api.sendAndSettle([unsub({ userId: cases.byUserId.id }, 'a6-nlv-unsub-1')]);
    await api.sendAndSettle([unsub({ anonymousId: cases.byVisitor.visitor }, 'a6-nlv-unsub-2')]);

    expect((await api.customer(cases.byUserId.id)).consent.email.status, 'control: naming the customer').toBe('denied');
    expect((await api.customer(cases.byVisitor.id)).consent.email.status, 'naming the visitor linked again in the new life').toBe('denied');
  }, 60_000);
});
