import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CO_PURCHASE_ENTRY, CO_PURCHASE_LIMITS } from '../../functions/profile/co-purchases';
import { PROFILE_LIMITS } from '../../functions/profile/limits';
import { PROFILE_TABLE, type Engine } from '../../infra/embedded/engine';
import { MAX_ID_LENGTH, SENDER_LIMITS } from '../../shared';
import { client } from '../helpers/client';
import { startTestEngine, TEST_SECRET } from '../helpers/engine';
import { problemsOf, sendSigned } from '../helpers/webhook';

/**
 * Traits a sender may send are bounded per event (a 400 naming the field and the
 * limit) and a profile is bounded as a whole, so a customer padded to the limits
 * by many valid events still gets every later event applied, and the stored item
 * stays under DynamoDB's 400 KB.
 */
let engine: Engine;
let api: ReturnType<typeof client>;
// No journeys: 100 complaints would start 100 complaint follow-ups, which this test does not need.
const journeys = mkdtempSync(join(tmpdir(), 'rapport-no-journeys-'));
beforeAll(async () => {
  engine = await startTestEngine({ journeysDir: journeys });
  api = client(engine);
});
afterAll(async () => {
  await engine.stop();
  rmSync(journeys, { recursive: true, force: true });
});

const send = (body: unknown) => sendSigned(engine.url, TEST_SECRET, body);
/** Printable ASCII without quote or backslash, at random: as incompressible as JSON text gets (the worst case for the packed item). */
const noise = (n: number) => Array.from({ length: n }, () => String.fromCharCode(0x23 + Math.floor(Math.random() * 0x39))).join('');

/** An item's size as DynamoDB counts it: attribute names plus values (strings and binaries by their bytes). */
function itemBytes(item: Record<string, AttributeValue>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    size += Buffer.byteLength(name);
    if (value.S !== undefined) size += Buffer.byteLength(value.S);
    else if (value.B !== undefined) size += value.B.length;
    else if (value.N !== undefined) size += Math.ceil(value.N.length / 2) + 1;
    else size += Buffer.byteLength(JSON.stringify(value));
  }
  return size;
}

describe('traits a sender sends in one event', () => {
  const identify = (traits: Record<string, unknown>) => ({ type: 'identify', userId: 'pl-bad', traits });

  it.each([
    ['too many traits', Object.fromEntries(Array.from({ length: SENDER_LIMITS.traitsPerEvent + 1 }, (_, i) => [`t${i}`, i])), '$.traits', `holds ${SENDER_LIMITS.traitsPerEvent + 1} traits; the limit is ${SENDER_LIMITS.traitsPerEvent} per event`],
    ['a value over 16 KB', { bio: 'x'.repeat(16 * 1024) }, '$.traits.bio', 'is 16,386 bytes as JSON; the limit is 16 KB per trait'],
    ['over 64 KB in all', Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`pad${i}`, 'x'.repeat(15_000)])), '$.traits', 'is 75,051 bytes as JSON; the limit is 64 KB per event'],
    ['a key over 128 characters', { ['k'.repeat(129)]: 1 }, `$.traits.${'k'.repeat(128)}`, 'trait key is 129 characters; the limit is 128'],
    // A denial sent as a string would be accepted and then silently ignored: marketing would go on.
    ['a consent that is not true or false', { consent: { email: 'false' } }, '$.traits.consent.email', 'expected true (granted) or false (denied), received "false"'],
  ])('refuses %s with a 400 naming the field and the limit', async (_what, traits, path, message) => {
    const res = await send(identify(traits));
    expect(res.status).toBe(400);
    expect(problemsOf(res)).toEqual([{ path, message }]);
  });
});

describe('a customer padded to the limits by many valid events', () => {
  it('gets every later valid event applied, keeps within the profile limits and stays under 400 KB', async () => {
    const id = 'pl-padded';
    // 16 identifies, each at the per-event limit with new keys: 4 values of 15 KB of noise (~1 MB offered in all).
    for (let n = 0; n < 16; n += 4) {
      await api.sendAndSettle(
        Array.from({ length: 4 }, (_, k) => ({ type: 'identify', userId: id, messageId: `${id}-id-${n + k}`, traits: Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`pad-${n + k}-${i}`, noise(15_000)])) })),
      );
    }
    // Hundreds of keys across identifies: the key limit.
    for (let n = 0; n < 3; n++) {
      await api.sendAndSettle({ type: 'identify', userId: id, messageId: `${id}-keys-${n}`, traits: Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`k-${n}-${i}-${noise(40)}`, null])) });
    }
    // Behaviour at its limits too: events with 20 long properties (recent events), and 110 open complaints with 200-character ids.
    // (In batches of 8: one customer's events in parallel only race for the same item.)
    const inBatches = async (events: unknown[]) => {
      for (let i = 0; i < events.length; i += 8) await api.sendAndSettle(events.slice(i, i + 8));
    };
    await inBatches(Array.from({ length: 24 }, (_, n) => ({ type: 'track', userId: id, event: 'Page Scrolled', messageId: `${id}-ev-${n}`, properties: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`${noise(60)}${i}`, noise(200)])) })));
    await inBatches(Array.from({ length: 104 }, (_, n) => ({ type: 'track', userId: id, event: 'Complaint Filed', messageId: `${id}-c-${n}`, properties: { complaintId: `${n}-${noise(190)}` } })));
    // Cross-sell at its limits: orders a day apart of 10 products with long new ids and categories fill the purchases
    // (20 items) and make the most pairs a write counts, whose entries the outbox keeps (co-purchases.ts).
    await inBatches(
      Array.from({ length: 12 }, (_, n) => ({
        type: 'track',
        userId: id,
        event: 'Order Completed',
        messageId: `${id}-xo-${n}`,
        timestamp: new Date(Date.parse('2026-01-01T00:00:00Z') + n * 86_400_000).toISOString(),
        properties: { orderId: `xo-${n}`, revenue: 10, currency: 'EUR', products: Array.from({ length: 10 }, (_, i) => ({ productId: `${n}-${i}-${noise(120)}`, category: `${n}-${i}-${noise(120)}`, price: 1 })) },
      })),
    );

    // Later valid events: a new value for a known trait, an order.
    await api.sendAndSettle([
      { type: 'identify', userId: id, messageId: `${id}-later`, traits: { 'pad-0-0': 'short now', email: 'padded@example.com' } },
      { type: 'track', userId: id, event: 'Order Completed', messageId: `${id}-order`, properties: { orderId: 'o-1', revenue: 10, currency: 'EUR' } },
    ]);

    expect(engine.deadLetters).toEqual([]);
    const customer = await api.customer(id);
    expect(customer.traits['pad-0-0']).toBe('short now');
    expect(customer.stats.orderCount).toBe(13);
    const stored = (await engine.profiles.get(id))!.profile;
    expect(Object.keys(stored.traitTimes).length).toBeLessThanOrEqual(PROFILE_LIMITS.traitKeys);
    expect(Buffer.byteLength(JSON.stringify(stored.traits)) + Buffer.byteLength(JSON.stringify(stored.traitTimes))).toBeLessThanOrEqual(PROFILE_LIMITS.traitBytes);
    expect(stored.refusedTraits?.length).toBeGreaterThan(0);
    expect(stored.purchases).toHaveLength(20);
    // The outbox keeps the pairs of the latest orders only, each entry at most pairsPerWriteMax.
    const pairEntries = (await engine.profiles.get(id))!.outbox.filter((o) => o.name === CO_PURCHASE_ENTRY);
    expect(pairEntries).toHaveLength(CO_PURCHASE_LIMITS.entriesKept);
    for (const o of pairEntries) expect((o.properties.pairs as unknown[]).length).toBe(CO_PURCHASE_LIMITS.pairsPerWriteMax);

    const { Item } = await engine.dynamo.client.send(new GetItemCommand({ TableName: PROFILE_TABLE, Key: { PK: { S: `C#${id}` }, SK: { S: 'P' } } }));
    const size = itemBytes(Item!);
    const json = Buffer.byteLength(JSON.stringify(stored));
    expect(size, `stored item ${size.toLocaleString('en-US')} bytes (profile JSON ${json.toLocaleString('en-US')} bytes) must stay under 400 KB (measured: ~125,500 bytes, JSON ~187,900)`).toBeLessThan(400 * 1024);
  }, 120_000);
});

describe('visitor ids linked to one customer', () => {
  it(`list the newest ${PROFILE_LIMITS.anonymousIds}; an older visitor leaves the list and stays linked, merged once`, async () => {
    const visitors = Array.from({ length: PROFILE_LIMITS.anonymousIds + 5 }, (_, i) => `pl-visitor-${String(i).padStart(3, '0')}`);
    // Each visitor browses first, then identifies as the same customer, in order.
    await api.sendAndSettle(visitors.map((v) => ({ type: 'track', event: 'Product Viewed', anonymousId: v, properties: { productId: v } })));
    for (let i = 0; i < visitors.length; i += 50) {
      await api.sendAndSettle(visitors.slice(i, i + 50).map((v) => ({ type: 'identify', userId: 'pl-many-visitors', anonymousId: v, traits: { plan: 'pro' } })));
    }
    const customer = await api.customer('pl-many-visitors');
    // Every visitor is linked and merged once; the list keeps the newest.
    expect(customer.anonymousIds).toEqual(visitors.slice(-PROFILE_LIMITS.anonymousIds));
    expect(customer.stats.eventCount).toBe(2 * visitors.length);
    // An evicted visitor's events still land on the customer: it has no profile of its own.
    await api.sendAndSettle({ type: 'track', event: 'Product Viewed', anonymousId: visitors[0]!, properties: { productId: 'again' } });
    expect((await api.customer('pl-many-visitors')).stats.eventCount).toBe(2 * visitors.length + 1);
    expect((await api.get(`/v1/customers/anon:${visitors[0]!}`)).status).toBe(404);
  }, 60_000);
});

describe('known ids joined by alias (mergedIds)', () => {
  it(`an alias past ${PROFILE_LIMITS.mergedIds} joined ids joins nothing, is applied, and no valid event becomes a dead letter`, async () => {
    const id = 'pl-merged';
    await api.sendAndSettle({ type: 'identify', userId: id, traits: { email: 'pl-merged@example.com' } });
    // Never-seen ids of the longest length a sender may send, many more than the limit.
    const ids = Array.from({ length: PROFILE_LIMITS.mergedIds + 5 }, (_, i) => `${String(i).padStart(4, '0')}-${noise(MAX_ID_LENGTH - 5)}`);
    for (let i = 0; i < ids.length; i += 60) await api.sendAndSettle(ids.slice(i, i + 60).map((previousId) => ({ type: 'alias', userId: id, previousId })));
    await api.sendAndSettle({ type: 'track', userId: id, event: 'Order Completed', messageId: 'pl-merged-order', properties: { orderId: 'o1', revenue: 10, currency: 'EUR' } });

    expect(engine.deadLetters).toEqual([]);
    const customer = await api.customer(id);
    expect(customer.stats.orderCount).toBe(1);
    expect(customer.stats.eventCount).toBe(ids.length + 2); // every alias applied as an event of the customer
    const merged = (customer as unknown as { mergedIds: string[] }).mergedIds;
    expect(merged).toHaveLength(PROFILE_LIMITS.mergedIds);
    expect(merged.every((m) => ids.includes(m))).toBe(true);
    // An id past the limit stays its own: not forwarded to the customer, so its events make a profile of its own.
    const past = ids.find((i) => !merged.includes(i))!;
    expect((await api.get(`/v1/customers/${encodeURIComponent(past)}`)).status).toBe(404);
    await api.sendAndSettle({ type: 'identify', userId: past, traits: { name: 'Still separate' } });
    expect((await api.customer(past)).traits).toEqual({ name: 'Still separate' });
    expect((await api.customer(id)).traits.name).toBeUndefined();
  }, 180_000);
});
