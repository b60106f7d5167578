import { describe, expect, it } from 'vitest';
import { applyEvent, appliedMark, emptyProfile } from '../../../functions/profile';
import { brotliCompressSync, constants } from 'node:zlib';
import { packContents, packMarks, readContents, UnreadableProfileError, windowBits, type OutboxEntry } from '../../../functions/profile/item';
import type { Profile } from '../../../shared';
import { ev, identify } from '../../helpers/events';

const now = new Date('2026-11-23T12:00:00Z');

/** A profile like one in steady state: 60 days of views and orders, with the recent events kept. */
function busyProfile(): Profile {
  let p = applyEvent(emptyProfile('cust-1', '2026-09-20T08:00:00Z'), identify('2026-09-20T08:00:00Z', { email: 'ada@example.com', name: 'Ada', timezone: 'Europe/Paris' }), now);
  for (let i = 0; i < 120; i++) {
    const at = new Date(Date.parse('2026-09-24T10:00:00Z') + i * 12 * 3_600_000).toISOString();
    const e = i % 10 === 0 ? ev('Order Completed', at, { orderId: `o-${i}`, revenue: 20 + i, currency: 'EUR' }) : ev('Product Viewed', at, { productId: `p-${i % 37}`, category: ['baby', 'toys', 'home'][i % 3], price: 9.5 + (i % 7) });
    p = applyEvent(p, e, now);
  }
  return p;
}
const outbox: OutboxEntry[] = [
  { cause: 'm-1', messageId: 'drv-1', name: 'Tag Added', properties: { tag: 'vip' }, at: '2026-11-23T11:00:00.000Z' },
  { cause: 'm-1', messageId: 'drv-2', name: 'Lifecycle Stage Changed', properties: { from: 'new', to: 'active' }, at: '2026-11-23T11:00:00.000Z' },
];
const marks = Array.from({ length: 200 }, (_, i) => appliedMark(`message-${i}`));

describe('the profile item codec', () => {
  it('gives back exactly the profile, marks and outbox it packed', () => {
    const contents = { profile: busyProfile(), applied: marks, outbox };
    const item = packContents(contents);
    expect(readContents(item, 'cust-1')).toEqual(contents);
  });

  it('packs a steady-state profile into a fraction of its JSON: ~9 bytes per mark, the rest compressed', () => {
    const contents = { profile: busyProfile(), applied: marks, outbox };
    const { body, applied } = packContents(contents);
    expect(applied.length).toBe(200 * 9);
    const json = Buffer.byteLength(JSON.stringify({ profile: contents.profile, outbox }));
    expect(json).toBeGreaterThan(6_000);
    expect(body.length).toBeLessThan(json / 3);
  });

  it("packs with a window just holding the JSON: as small as brotli's default 4 MB window, and read back whatever the size", () => {
    expect([0, 1, 1_024, 1_025, 8_000, 330_000, 40_000_000].map(windowBits)).toEqual([10, 10, 11, 11, 13, 19, 24]);
    for (const traits of [{}, { notes: 'x'.repeat(200_000), bio: Array.from({ length: 2_000 }, (_, i) => `line ${i} of a long biography`).join('\n') }]) {
      const profile = { ...busyProfile(), traits: { ...busyProfile().traits, ...traits } };
      const contents = { profile, applied: marks, outbox };
      const { body } = packContents(contents);
      const json = Buffer.from(JSON.stringify({ profile, outbox }));
      const withDefaultWindow = brotliCompressSync(json, { params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT } });
      expect(body.length - 1).toBeLessThanOrEqual(Math.ceil(withDefaultWindow.length * 1.01));
      expect(readContents(packContents(contents), 'cust-1')).toEqual(contents);
    }
  });

  it('reads an item written in the earlier plain form', () => {
    const profile = busyProfile();
    const legacyOutbox = [
      { cause: 'm-1', entry: { Source: 'rapport.profile', DetailType: 'Tag Added', Detail: JSON.stringify({ messageId: 'drv-1', properties: { customerId: 'cust-1', tag: 'vip' }, timestamp: '2026-11-23T11:00:00.000Z' }), Time: '2026-11-23T11:00:00Z' } },
    ];
    expect(readContents({ profile, applied: marks.slice(0, 3), outbox: legacyOutbox }, 'cust-1')).toEqual({ profile, applied: marks.slice(0, 3), outbox: [outbox[0]] });
  });

  it('refuses an unreadable item with an error naming the customer and what was wrong, instead of an empty profile', () => {
    const { body, applied } = packContents({ profile: busyProfile(), applied: marks, outbox });
    expect(() => readContents({ body: Buffer.concat([Buffer.of(7), body.subarray(1)]), applied }, 'cust-1')).toThrow(/profile item of cust-1: body format 7 is unknown/);
    expect(() => readContents({ body: body.subarray(0, 20), applied }, 'cust-1')).toThrow(UnreadableProfileError);
    expect(() => readContents({ body, applied: applied.subarray(0, 10) }, 'cust-1')).toThrow(/applied is 10 bytes, expected a multiple of 9/);
    expect(() => readContents({ body: 'not binary', applied }, 'cust-1')).toThrow(/body is string, expected binary/);
    expect(() => readContents({ version: 3 }, 'cust-1')).toThrow(/neither a packed body nor a profile map/);
  });

  it('refuses to pack a mark that is not a 12-character base64url hash', () => {
    expect(() => packMarks(['short'])).toThrow(/applied mark "short": expected 12 base64url characters/);
  });

  it('refuses a crafted body that unpacks beyond 4 MiB with a clear error, without unpacking it all', () => {
    // 64 MiB of JSON-ish text packs to a few hundred bytes: unbounded, ~1,000 such reads would exhaust a Lambda's memory.
    const bomb = brotliCompressSync(Buffer.concat([Buffer.from('{"profile":{"traits":{"pad":"'), Buffer.alloc(64 * 1024 * 1024, 0x61), Buffer.from('"}},"outbox":[]}')]));
    expect(bomb.length).toBeLessThan(10_000);
    const item = { body: Buffer.concat([Buffer.of(1), bomb]), applied: packMarks([]) };
    const before = process.memoryUsage().arrayBuffers;

    expect(() => readContents(item, 'cust-bomb')).toThrow(UnreadableProfileError);
    expect(() => readContents(item, 'cust-bomb')).toThrow('profile item of cust-bomb: body unpacks to more than 4 MiB, the limit; refused rather than exhausting memory');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * 1024 * 1024);
  });
});
