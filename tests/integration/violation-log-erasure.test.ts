/**
 * Audit 6 (issue 10, erasure vs the tracking-plan violation log).
 *
 * Promise (issue 10; README "Privacy: erasure"): after DELETE answers, no DynamoDB item names the customer's id or
 * email. functions/ingest/violations.ts says of its records: "never a value or a customer id ... (erasure has
 * nothing here)"; the ingest's idempotency records keep "a hash of source and messageId" for the same reason.
 *
 * How it breaks: a `flag` source (every source not named in tracking-plan.yaml) sends an `Order Completed` that
 * breaks the plan (`revenue: "12,50"`). Its messageId is the sender's: here `<customer id>:order:...` and one
 * with the email (a common scheme; Rapport's own tests build messageIds from the customer id). Ingest records the
 * violation with the raw messageId in `TPV#<day>#<shard>` / `<receivedAt>#<source>#<messageId>`, outside the
 * customer's partition. DELETE erases the customer; the violation item keeps the id and the email (sort key and
 * `messageId`) for 30 days (in dynalite's files for good: TTL never deletes there), and
 * `GET /v1/tracking-plan/violations` still lists them.
 *
 * Cause: functions/ingest/violations.ts:47-55 stores `messageId` as sent; nothing in ProfileStore.erase
 * (functions/profile/store.ts) reaches `TPV#` partitions (no pointer in the customer's partition).
 *
 * Suggested fix: key and store a hash of `sourceId\nmessageId` (as the idempotency records do) — the list's use is
 * to fix senders: event, paths and the hash are enough, a sender can hash its own messageId to find it — or keep a
 * pointer in the customer's partition so erasure deletes the violation item.
 */
import { describe, expect, it } from 'vitest';
import { violationMessageHash } from '../../functions/ingest';
import { profileItemsNaming, useTestEngine } from '../helpers/engine';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT' });

describe('a flagged event of a customer who is then erased', () => {
  it('leaves no violation record naming them', async () => {
    const id = 'a6-tpv-cust-1';
    const email = 'a6.tpv.cust@example.org';
    await t.api.sendAndSettle([
      { type: 'identify', userId: id, messageId: `${id}:identify:1`, traits: { email } },
      { type: 'track', userId: id, messageId: `${id}:order:1`, event: 'Order Completed', properties: { orderId: 'o-1', revenue: '12,50', currency: 'EUR' } },
      { type: 'track', userId: id, messageId: `${email}:order:2`, event: 'Order Completed', properties: { orderId: 'o-2', revenue: '9,90', currency: 'EUR' } },
    ]);
    const listed = (await t.api.get('/v1/tracking-plan/violations')).json as unknown as { violations: Array<{ sourceId: string; messageIdHash: string }> };
    // Listed by the hash of source and messageId, which the sender can compute.
    expect(listed.violations.map((v) => v.messageIdHash).sort(), 'the flagged events were recorded').toEqual([violationMessageHash('default', `${email}:order:2`), violationMessageHash('default', `${id}:order:1`)].sort());
    expect(JSON.stringify(listed)).not.toContain(id);

    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);

    expect(await profileItemsNaming(t.engine, [id, email]), 'items naming the erased customer').toEqual([]);
  });
});
