/**
 * A hostile or unlucky sender against "erasure removes everything": a late event (dated before the
 * erasure) that names an erased id as the one to join — an alias's `previousId`, an identify's
 * `anonymousId` — must not bring the id back (a forwarding record, an alias item, a profile listing
 * it), and the event leaves the bus log. An event of the id's new life (dated and received after
 * the erasure) still joins as usual.
 */
import { describe, expect, it } from 'vitest';
import { useTestEngine } from '../helpers/engine';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT' });
const hourAgo = () => new Date(Date.now() - 3_600_000).toISOString();
const onBus = (needle: string) => t.engine.bus.log.filter((e) => JSON.stringify(e.detail).includes(needle));
const itemsNaming = async (customerId: string, needle: string) => JSON.stringify(await t.engine.profiles.allItems(customerId)).includes(needle);

describe('a late event naming an erased id to join', () => {
  it('an alias with an erased previousId joins nothing and leaves no trace of it', async () => {
    await t.api.sendAndSettle([{ type: 'identify', userId: 'hx-gone-1', traits: { email: 'hx-gone-1@example.org' }, timestamp: hourAgo() }]);
    expect((await t.api.del('/v1/customers/hx-gone-1')).status).toBe(200);
    await t.api.sendAndSettle([{ type: 'identify', userId: 'hx-live-1', traits: { email: 'hx-live-1@example.org' } }]);

    await t.api.sendAndSettle([{ type: 'alias', previousId: 'hx-gone-1', userId: 'hx-live-1', timestamp: hourAgo() }]);

    const live = await t.api.customer('hx-live-1');
    expect(live.anonymousIds).toEqual([]);
    expect((live as unknown as { mergedIds: string[] }).mergedIds).toEqual([]);
    expect((await t.api.get('/v1/customers/hx-gone-1')).status).toBe(404);
    expect(await itemsNaming('hx-live-1', 'hx-gone-1')).toBe(false);
    expect(await t.engine.profiles.allItems('hx-gone-1')).toEqual([]);
    expect(onBus('hx-gone-1')).toEqual([]);
  });

  it('an identify linking an erased visitor id does not link it', async () => {
    await t.api.sendAndSettle([{ type: 'track', event: 'Product Viewed', anonymousId: 'hx-visitor-2', properties: { productId: 'p-1' }, timestamp: hourAgo() }]);
    expect((await t.api.del('/v1/customers/anon:hx-visitor-2')).status).toBe(200);

    await t.api.sendAndSettle([{ type: 'identify', userId: 'hx-live-2', anonymousId: 'hx-visitor-2', traits: { email: 'hx-live-2@example.org' }, timestamp: hourAgo() }]);

    const live = await t.api.customer('hx-live-2');
    expect(live.anonymousIds).toEqual([]);
    expect(live.traits).toEqual({ email: 'hx-live-2@example.org' });
    expect(await itemsNaming('hx-live-2', 'hx-visitor-2')).toBe(false);
    expect(await t.engine.profiles.allItems('anon:hx-visitor-2')).toEqual([]);
    expect(onBus('hx-visitor-2')).toEqual([]);
  });

  it('an alias of the erased id’s new life (dated and received after the erasure) joins it', async () => {
    await t.api.sendAndSettle([{ type: 'identify', userId: 'hx-back-3', traits: { email: 'hx-back-3@example.org' }, timestamp: hourAgo() }]);
    expect((await t.api.del('/v1/customers/hx-back-3')).status).toBe(200);
    await t.api.sendAndSettle([{ type: 'identify', userId: 'hx-live-3', traits: { email: 'hx-live-3@example.org' } }]);
    await t.api.sendAndSettle([{ type: 'alias', previousId: 'hx-back-3', userId: 'hx-live-3' }]);
    expect((await t.api.customer('hx-live-3') as unknown as { mergedIds: string[] }).mergedIds).toEqual(['hx-back-3']);
  });
});
