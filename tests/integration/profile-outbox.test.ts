/**
 * The profile keeps the derived events of its recent changes in a compact form
 * (cause, messageId, name, properties, time) and rebuilds the bus entry when a
 * redelivered cause republishes them: the republished event is byte-identical
 * to the first, and profiles written in the earlier form (the whole bus entry
 * per derived event) still republish the same way.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/profile/aws';
import { readContents } from '../../functions/profile/item';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import { PROFILE_TABLE_LAYOUT } from '../../shared';
import { isSegmentEntry } from '../../shared/segmentation';
import { redeliverIngested, useTestEngine } from '../helpers/engine';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT' });

const profileKey = (id: string) => ({ [PROFILE_TABLE_LAYOUT.partitionKey]: `C#${id}`, [PROFILE_TABLE_LAYOUT.sortKey]: 'P' });
/** The derived events of a cause (`context.causedBy`: the event's source and messageId). */
const derivedOf = (cause: string) => t.engine.bus.log.filter((e) => e.source === 'rapport.profile' && (e.detail as { context: { causedBy?: string } }).context.causedBy === cause);

describe('the derived-event outbox on the profile', () => {
  it('stores each derived event in a few hundred bytes and republishes it byte-identical on redelivery', async () => {
    await t.api.sendAndSettle([
      { type: 'identify', userId: 'ob-1', messageId: 'ob-1-identify', traits: { email: 'ob-1@example.com' } },
      { type: 'track', userId: 'ob-1', event: 'Order Completed', messageId: 'ob-1-order', properties: { orderId: 'ob-1-o1', revenue: 1500, currency: 'EUR' } },
    ]);
    const first = derivedOf('default/ob-1-order');
    expect(first.map((e) => e['detail-type']).sort()).toEqual(expect.arrayContaining(['Lifecycle Stage Changed', 'Tag Added']));

    const doc = documentClient(t.engine.dynamo.client);
    const { Item } = await doc.send(new GetCommand({ TableName: PROFILE_TABLE, Key: profileKey('ob-1') }));
    const outbox = readContents(Item!, 'ob-1').outbox.filter((o) => o.cause === 'default/ob-1-order');
    // Segment changes ride in the outbox too (applied to the counts, never published).
    const stored = outbox.filter((o) => !isSegmentEntry(o));
    expect(stored).toHaveLength(first.length);
    expect(outbox.filter(isSegmentEntry).map((o) => o.properties)).toContainEqual(expect.objectContaining({ segment: 'lifecycle:new', into: true }));
    for (const o of stored) {
      expect(Object.keys(o).sort()).toEqual(['at', 'causeReceivedAt', 'cause', 'causedAt', 'messageId', 'name', 'properties'].sort());
      expect(JSON.stringify(o).length).toBeLessThan(300); // with the cause's time and receipt (trigger.max_age)
    }

    await redeliverIngested(t.engine, 'ob-1-order');
    const again = derivedOf('default/ob-1-order');
    expect(again).toHaveLength(2 * first.length);
    expect(again.slice(first.length).map((e) => JSON.stringify(e.detail))).toEqual(first.map((e) => JSON.stringify(e.detail)));
  });

  it('reads a profile written with whole bus entries in its outbox, and republishes them the same', async () => {
    await t.api.sendAndSettle([
      { type: 'identify', userId: 'ob-2', messageId: 'ob-2-identify', traits: { email: 'ob-2@example.com' } },
      { type: 'track', userId: 'ob-2', event: 'Order Completed', messageId: 'ob-2-order', properties: { orderId: 'ob-2-o1', revenue: 1500, currency: 'EUR' } },
    ]);
    const first = derivedOf('default/ob-2-order');
    expect(first.length).toBeGreaterThan(0);
    // Rewrite the item as the earlier code stored it: plain attributes, the outbox as { cause, entry: the bus entry with Time as a string }.
    const doc = documentClient(t.engine.dynamo.client);
    const { Item } = await doc.send(new GetCommand({ TableName: PROFILE_TABLE, Key: profileKey('ob-2') }));
    const legacy = first.map((e) => ({ cause: 'default/ob-2-order', entry: { Source: e.source, DetailType: e['detail-type'], Detail: JSON.stringify(e.detail), Time: e.time } }));
    const { body: _body, applied: _applied, ...plain } = Item!;
    const contents = readContents(Item!, 'ob-2');
    await doc.send(new PutCommand({ TableName: PROFILE_TABLE, Item: { ...plain, profile: contents.profile, applied: contents.applied, outbox: legacy } }));

    await redeliverIngested(t.engine, 'ob-2-order');
    const again = derivedOf('default/ob-2-order');
    expect(again).toHaveLength(2 * first.length);
    expect(again.slice(first.length).map((e) => JSON.stringify(e.detail))).toEqual(first.map((e) => JSON.stringify(e.detail)));
    // And the profile is still whole: the redelivery changed nothing.
    expect((await t.api.customer('ob-2')).stats.orderCount).toBe(1);
  });
});
