/**
 * Malformed input, property-based (fast-check), against the running engine's
 * ingest endpoints: Standard Webhooks (`/v1/events`) and the Segment API
 * (`/v1/track`, `/v1/identify`, `/v1/batch`). Random JSON, wrong types, huge
 * strings, deep nesting, bad UTF-8, wrong content types and oversized bodies
 * always get a 4xx with a specific error (a known code and a message naming the
 * problem), never a 5xx; the valid events sent alongside bad ones still land in
 * their customers' profiles.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../../infra/embedded/engine';
import { client } from '../../helpers/client';
import { startTestEngine, TEST_SECRET, TEST_WRITE_KEY } from '../../helpers/engine';
import { post, signedRequest } from '../../helpers/webhook';

const ERROR_CODES = ['invalid_events', 'invalid_json', 'invalid_utf8', 'unsupported_media_type', 'payload_too_large', 'batch_too_large'];
const RUNS = 40;

let engine: Engine;
beforeAll(async () => {
  engine = await startTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT' });
});
afterAll(() => engine.stop());

/** Valid events sent inside bad requests: each must reach its own customer's profile. */
const landed: string[] = [];
let seq = 0;
const validEvent = () => {
  const userId = `fz-${++seq}`;
  landed.push(userId);
  return { type: 'track', userId, event: 'Product Viewed', messageId: `fz-valid-${seq}`, properties: { productId: `p-${seq}` } };
};

// --- arbitraries ---------------------------------------------------------------------------------
/**
 * Deep nesting (33 to 20,000 levels) stands in the generated values as a marker
 * string, and is written out only when the body is serialised: fast-check can
 * then print and shrink the values without recursing 20,000 levels.
 */
const deep = fc.integer({ min: 33, max: 20_000 }).map((d) => `\u0000DEEP:${d}`);
const serialise = (value: unknown) =>
  JSON.stringify(value).replace(/"\\u0000DEEP:(\d+)"/g, (_m, d: string) => '{"a":['.repeat(Math.ceil(Number(d) / 2)) + '1' + ']}'.repeat(Math.ceil(Number(d) / 2)));
const huge = fc.oneof(fc.integer({ min: 129, max: 300 }), fc.integer({ min: 10_000, max: 400_000 })).map((n) => 'x'.repeat(n));
const wrong = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.jsonValue(), { maxLength: 3 }), fc.string(), fc.object({ maxDepth: 2 }), deep, huge);
/** Wrong for an identifier: numbers are accepted there (some SDKs send them) and kept as strings. */
const wrongId = fc.oneof(fc.boolean(), fc.constant(null), fc.constant(''), fc.array(fc.string(), { maxLength: 2 }), fc.object({ maxDepth: 1 }), huge.filter((x) => x.length > 256), fc.constant(Number.NaN));
/** An event with at least one field of the wrong type or shape (never a valid event). */
const badEvent = fc.oneof(
  fc.record({ type: fc.constant('track'), userId: fc.constant('fz-bad'), event: wrong.filter((v) => typeof v !== 'string'), properties: fc.constant({}) }),
  fc.record({ type: fc.constant('track'), userId: wrongId, event: fc.constant('Signed Up') }),
  fc.record({ type: fc.oneof(wrong, fc.constantFrom('tracks', 'TRACK', '')), userId: fc.constant('fz-bad'), event: fc.constant('Signed Up') }),
  // A known event breaking the tracking plan is accepted (flag, the default); a consent event Rapport could not apply is not.
  fc.record({ type: fc.constant('track'), userId: fc.constant('fz-bad'), event: fc.constant('Unsubscribed'), properties: fc.record({ channel: wrong.filter((v) => !['email', 'sms', 'push', 'all'].includes(v as string)) }) }),
  fc.record({ type: fc.constant('identify'), userId: fc.constant('fz-bad'), traits: fc.oneof(fc.string(), fc.array(fc.integer()), deep) }),
  fc.record({ type: fc.constant('track'), userId: fc.constant('fz-bad'), event: fc.constant('Signed Up'), timestamp: fc.oneof(fc.string(), fc.integer(), fc.constant('2026-13-45T99:00:00Z')) }),
  fc.record({ type: fc.constant('track'), userId: fc.constant('fz-bad'), event: fc.constant('Signed Up'), properties: deep }),
  fc.record({ type: fc.constant('track'), userId: fc.constant('fz-bad'), event: huge, properties: fc.constant({}) }),
  fc.jsonValue({ maxDepth: 3 }).filter((v) => typeof v !== 'object' || v === null || Array.isArray(v) || !('type' in v)),
);

/** A whole body that is not a usable request: not JSON, not UTF-8, not an object, a bad batch envelope. */
const badBody = fc.oneof(
  fc.string({ minLength: 1 }).filter((s) => !isJson(s)).map((s) => ({ raw: s })),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.concat([Buffer.from('{"type":"track","x":"'), Buffer.from(b), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])).map((raw) => ({ raw })),
  fc.oneof(fc.constant([]), fc.constant(null), fc.integer(), fc.string()).map((v) => ({ raw: JSON.stringify(v) })),
  fc.record({ batch: fc.oneof(wrong, fc.constant([])), context: fc.oneof(wrong, fc.constant({})), sentAt: fc.oneof(fc.constant(undefined), wrong) }).map((v) => ({ raw: serialise(v) })),
  fc.record({ batch: fc.constant([{ type: 'track', userId: 'fz-bad', event: 'X' }]), context: deep }).map((v) => ({ raw: serialise(v) })),
);

const badContentType = fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/json; charset=latin1', 'json', ' ');

function isJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

// --- senders -------------------------------------------------------------------------------------
type Endpoint = '/v1/events' | '/v1/track' | '/v1/identify' | '/v1/batch';
const endpoint = fc.constantFrom<Endpoint>('/v1/events', '/v1/track', '/v1/identify', '/v1/batch');

function request(path: Endpoint, body: string | Buffer, contentType = 'application/json') {
  if (path === '/v1/events') return signedRequest(TEST_SECRET, undefined, { rawBody: body, contentType });
  return { headers: { 'content-type': contentType, authorization: `Basic ${Buffer.from(`${TEST_WRITE_KEY}:`).toString('base64')}` }, body };
}

/** A 4xx with a known error code and a message; what the property demands of every bad request. */
async function expectSpecific4xx(path: Endpoint, body: string | Buffer, contentType?: string) {
  const res = await post(`${engine.url}${path}`, request(path, body, contentType));
  expect(res.status, `${path} answered ${res.status}: ${res.text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
  expect(res.status, `${path} answered ${res.status}: ${res.text.slice(0, 300)}`).toBeLessThan(500);
  expect(ERROR_CODES, res.text.slice(0, 300)).toContain(res.json.error);
  expect(typeof res.json.message === 'string' && res.json.message.length > 0, res.text.slice(0, 300)).toBe(true);
  return res;
}

describe('fuzzing the ingest endpoints with malformed input', () => {
  it('answers a batch mixing valid and bad events with 400, naming each bad event, and accepts the valid ones', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<Endpoint>('/v1/events', '/v1/batch'), fc.array(badEvent, { minLength: 1, maxLength: 3 }), fc.nat(), async (path, bad, at) => {
        const good = [validEvent(), validEvent()];
        const batch: unknown[] = [...bad];
        batch.splice(at % (batch.length + 1), 0, good[0]);
        batch.push(good[1]);
        const body = serialise({ batch });
        if (Buffer.byteLength(body) > 1024 * 1024) return; // the oversized case is its own property
        const res = await expectSpecific4xx(path, body);
        expect(res.status).toBe(400);
        expect(res.json.error).toBe('invalid_events');
        expect(res.json.accepted).toEqual(expect.arrayContaining(good.map((g) => g.messageId)));
        const rejected = res.json.rejected as Array<{ index: number; problems: Array<{ path: string; message: string }> }>;
        expect(rejected.map((r) => r.index).sort()).toEqual(batch.map((e, i) => (good.includes(e as never) ? -1 : i)).filter((i) => i >= 0).sort());
        for (const r of rejected) for (const p of r.problems) expect(p).toEqual({ path: expect.stringMatching(/^\$/), message: expect.any(String) });
      }),
      { numRuns: RUNS, seed: 42 },
    );
  });

  it('answers a single bad event on every endpoint with a specific 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(endpoint, badEvent, async (path, bad) => {
        const body = serialise(bad);
        if (Buffer.byteLength(body) > 1024 * 1024) return;
        await expectSpecific4xx(path, body);
      }),
      { numRuns: RUNS, seed: 7 },
    );
  });

  it('answers a body that is not JSON, not UTF-8 or not a valid envelope with a specific 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(endpoint, badBody, async (path, { raw }) => {
        await expectSpecific4xx(path, raw);
      }),
      { numRuns: RUNS, seed: 3 },
    );
  });

  it('answers another content type with 415 and an oversized body with 413', async () => {
    await fc.assert(
      fc.asyncProperty(endpoint, badContentType, async (path, contentType) => {
        const res = await expectSpecific4xx(path, JSON.stringify(validEvent()), contentType);
        landed.pop(); // refused as a whole: this one does not land
        expect(res.status).toBe(415);
      }),
      { numRuns: 15, seed: 5 },
    );
    await fc.assert(
      fc.asyncProperty(endpoint, fc.integer({ min: 1024 * 1024 + 1, max: 3 * 1024 * 1024 }), async (path, size) => {
        const filler = 'y'.repeat(size);
        const res = await expectSpecific4xx(path, JSON.stringify({ type: 'track', userId: 'fz-big', event: 'Signed Up', properties: { filler } }));
        expect(res.status).toBe(413);
      }),
      { numRuns: 4, seed: 9 },
    );
    const tooMany = await expectSpecific4xx('/v1/batch', JSON.stringify({ batch: Array.from({ length: 501 }, () => ({ type: 'track', userId: 'fz-many', event: 'X' })) }));
    expect(tooMany.status).toBe(413);
  });

  it('is still up after all that, and every valid event sent among bad ones reached its profile', async () => {
    await engine.settle();
    expect((await fetch(`${engine.url}/health`)).status).toBe(200);
    expect(landed.length).toBeGreaterThan(RUNS);
    const api = client(engine);
    for (const id of landed) {
      const view = await api.customer(id);
      expect(view.stats.eventCount, id).toBe(1);
    }
    expect(engine.bus.log.some((e) => (e.detail as { userId?: string }).userId === 'fz-bad')).toBe(false);
  });
});
