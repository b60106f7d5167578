/**
 * `alias` joins a customer who came back after their erasure (a new life: their profile carries `rebornAfter`) into
 * another known customer, and a visitor who came back likewise into the customer who identifies them.
 *
 * Promise (issue 10: what a customer who comes back gets is a new, ordinary profile; issue 11: alias joins known
 * customers): the new life is joined like any record. The freeze writes the joined record over the version and life it
 * read (a profile write is conditioned on the life as well as the version, so an erased life's late write cannot land
 * on a new life): the record read has a life, the record written (a forwarding record) has none. Conditioned on the
 * life it writes, the freeze failed every attempt and the alias was dead-lettered. Found reviewing 029b4f2.
 */
import { describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';

const { t, later } = offerScenario({ name: 'alias-new-life' });

describe('alias joins a record that came back after its erasure', () => {
  it('the known customer who came back is joined: their later events land on the survivor, nothing is dead-lettered', async () => {
    await t.api.sendAndSettle([
      { type: 'identify', userId: 'nl-old', traits: { email: 'nl-old@example.org' } },
      { type: 'identify', userId: 'nl-new', traits: { email: 'nl-new@example.org' } },
    ]);
    await later(60_000);
    expect((await t.api.del('/v1/customers/nl-old')).status).toBe(200);
    await later(60_000);
    await t.api.sendAndSettle({ type: 'identify', userId: 'nl-old', messageId: 'nl-old-back', traits: { email: 'nl-back@example.org' } });
    expect((await t.api.get('/v1/customers/nl-old')).status).toBe(200);
    await later(60_000);

    await t.api.sendAndSettle({ type: 'alias', previousId: 'nl-old', userId: 'nl-new', messageId: 'nl-alias' });
    await later(60_000);
    await t.api.sendAndSettle({ type: 'track', userId: 'nl-old', event: 'Order Completed', messageId: 'nl-order', properties: { orderId: 'nl-o1', revenue: 20, currency: 'EUR' } });

    expect((await t.api.get('/v1/customers/nl-new')).json).toMatchObject({ id: 'nl-new', mergedIds: ['nl-old'], stats: { orderCount: 1 } });
    expect(t.engine.deadLetters).toEqual([]);
  }, 60_000);

  it('the visitor who came back is linked by the identify that names them', async () => {
    await t.api.sendAndSettle({ type: 'track', anonymousId: 'nl-device', event: 'Product Viewed', messageId: 'nl-view-1', properties: { productId: 'p-1' } });
    await later(60_000);
    expect((await t.api.del('/v1/customers/anon:nl-device')).status).toBe(200);
    await later(60_000);
    await t.api.sendAndSettle({ type: 'track', anonymousId: 'nl-device', event: 'Product Viewed', messageId: 'nl-view-2', properties: { productId: 'p-2' } });
    await later(60_000);

    await t.api.sendAndSettle({ type: 'identify', userId: 'nl-shopper', anonymousId: 'nl-device', messageId: 'nl-shopper-id', traits: { email: 'nl-shopper@example.org' } });
    await later(60_000);
    await t.api.sendAndSettle({ type: 'track', anonymousId: 'nl-device', event: 'Order Completed', messageId: 'nl-order-2', properties: { orderId: 'nl-o2', revenue: 20, currency: 'EUR' } });

    expect((await t.api.get('/v1/customers/nl-shopper')).json).toMatchObject({ id: 'nl-shopper', anonymousIds: ['nl-device'], stats: { orderCount: 1 } });
    expect(t.engine.deadLetters).toEqual([]);
  }, 60_000);
});
