/**
 * Erasure keeps the ingest's idempotency records (a hash of source and
 * messageId, no id, email or phone; 72 hours): a sender's retry of an erased
 * customer's event, even without a timestamp of its own (dated at receipt,
 * so after the erasure), is a duplicate at the door and cannot start a new
 * profile with their data.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { IDEMPOTENCY_TABLE } from '../../infra/embedded/engine';
import { useTestEngine } from '../helpers/engine';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT' });

const records = async () => (await t.engine.dynamo.client.send(new ScanCommand({ TableName: IDEMPOTENCY_TABLE, ConsistentRead: true }))).Items?.length ?? 0;
const eventsOf = (id: string) => [
  { type: 'identify', userId: id, messageId: `${id}-identify`, traits: { email: `${id}@example.com` } },
  { type: 'track', userId: id, event: 'Order Completed', messageId: `${id}-order`, properties: { orderId: `${id}-o1`, revenue: 10, currency: 'EUR' } },
];

describe('erasure and the ingest idempotency records', () => {
  it("keeps the records, so a sender's retry after the erasure is a duplicate and recreates nothing", async () => {
    // Two visits as a visitor first: their records go too.
    await t.api.sendAndSettle([{ type: 'page', anonymousId: 'er-visitor', messageId: 'er-visit-1', name: 'Home' }]);
    await t.api.sendAndSettle([{ ...eventsOf('er-gone')[0], anonymousId: 'er-visitor' }, eventsOf('er-gone')[1]]);
    await t.api.sendAndSettle(eventsOf('er-kept'));
    const before = await records();

    expect((await t.api.del('/v1/customers/er-gone')).status).toBe(200);
    expect(await records()).toBe(before);

    // The kept customer's events are still known: a redelivery is a duplicate.
    expect((await t.api.send(eventsOf('er-kept'))).duplicates).toEqual(['er-kept-identify', 'er-kept-order']);
    // So are the erased customer's: a retry (dated at receipt, after the erasure) is a duplicate, not a new life.
    expect((await t.api.sendAndSettle(eventsOf('er-gone'))).duplicates).toEqual(['er-gone-identify', 'er-gone-order']);
    expect((await t.api.get('/v1/customers/er-gone')).status).toBe(404);
  });
});
