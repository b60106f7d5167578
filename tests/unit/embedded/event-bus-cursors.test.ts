import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalEventBus, type BusEvent } from '../../../infra/embedded/event-bus';
import type { BusEntry, EventPattern } from '../../../shared';

/**
 * The bus's delivery cursors: what a rule had not finished when the process died is delivered again
 * by the next bus on the same folder, and nothing before it. "Dying" here is dropping the bus while
 * deliveries hang (its timed cursor writes are closed first: only what was on disk counts).
 */
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const folder = () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-bus-cursors-'));
  dirs.push(dir);
  return dir;
};

const entry = (id: string, type = 'Product Viewed'): BusEntry => ({ Source: 'rapport.ingest', DetailType: type, Detail: JSON.stringify({ messageId: id, userId: 'u-1' }) });
const idOf = (e: BusEvent) => (e.detail as { messageId: string }).messageId;
const ALL: EventPattern = { source: ['rapport.ingest'] };

/** A target that finishes the deliveries of the ids in `done` and leaves the others hanging (in flight at the crash). */
function hangingTarget(done: ReadonlySet<string>) {
  const delivered: string[] = [];
  return { delivered, target: (e: BusEvent) => (delivered.push(idOf(e)), done.has(idOf(e)) ? Promise.resolve() : new Promise<void>(() => undefined)) };
}

/** A bus on `dir` with a recording rule per name (its pattern `ALL` unless given), resumed. */
function restart(dir: string, rules: Record<string, EventPattern> = { consumer: ALL }) {
  const bus = new LocalEventBus({ dataDir: dir });
  const got: Record<string, string[]> = {};
  for (const [name, pattern] of Object.entries(rules)) {
    got[name] = [];
    bus.addRule({ name, pattern, target: (e) => void got[name]!.push(idOf(e)) });
  }
  const started = bus.resume();
  return { bus, got, started };
}

/** Settle what finished, write the cursors as a timed flush would, and stop writing (the crash). */
async function crash(bus: LocalEventBus): Promise<void> {
  await new Promise<void>((r) => setImmediate(r));
  bus.close();
}

describe('LocalEventBus delivery cursors', () => {
  it('delivers again, after a restart, every event from the oldest one a rule had not finished (low-water mark)', async () => {
    const dir = folder();
    const bus = new LocalEventBus({ dataDir: dir });
    const { target, delivered } = hangingTarget(new Set(['e1', 'e3', 'e4']));
    bus.addRule({ name: 'consumer', pattern: ALL, target });
    bus.resume();
    bus.putEvents([entry('e1'), entry('e2'), entry('e3'), entry('e4')]);
    expect(delivered).toEqual([]);
    await crash(bus);
    expect(delivered).toEqual(['e1', 'e2', 'e3', 'e4']);

    const next = restart(dir);
    await next.bus.drain();
    // e2 was in flight; e3 and e4 finished after it, so they are above the mark too (at least once).
    expect(next.got.consumer).toEqual(['e2', 'e3', 'e4']);
    next.bus.close();

    // Everything finished and the cursor written: the third start delivers nothing again.
    const third = restart(dir);
    expect(third.started).toBe(0);
    expect(third.got.consumer).toEqual([]);
  });

  it('keeps a cursor per rule: events a rule does not match do not hold it back, and a new rule starts at the end', async () => {
    const dir = folder();
    const bus = new LocalEventBus({ dataDir: dir });
    const orders = hangingTarget(new Set());
    bus.addRule({ name: 'orders', pattern: { 'detail-type': ['Order Completed'] }, target: orders.target });
    bus.addRule({ name: 'all', pattern: ALL, target: () => undefined });
    bus.resume();
    bus.putEvents([entry('v1'), entry('o1', 'Order Completed'), entry('v2')]);
    await crash(bus);

    const next = restart(dir, { orders: { 'detail-type': ['Order Completed'] }, all: ALL, added: ALL });
    await next.bus.drain();
    expect(next.got).toEqual({ orders: ['o1'], all: [], added: [] });
  });

  it('numbers events stably: an erasure that rewrites the log neither loses nor shifts what is due, and numbers go on', async () => {
    const dir = folder();
    const bus = new LocalEventBus({ dataDir: dir });
    bus.addRule({ name: 'consumer', pattern: ALL, target: hangingTarget(new Set(['a1'])).target });
    bus.resume();
    bus.putEvents([entry('a1'), entry('a2'), entry('a3'), entry('a4')]);
    // Erase a1 (done) and a3 (due): line numbers shift, sequence numbers do not.
    expect(bus.forget((e) => ['a1', 'a3'].includes(idOf(e)))).toBe(2);
    await crash(bus);

    const next = restart(dir);
    await next.bus.drain();
    expect(next.got.consumer).toEqual(['a2', 'a4']);
    next.bus.putEvents([entry('a5')]);
    const seqs = readFileSync(join(dir, 'bus', 'events.ndjson'), 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { seq: number }).seq);
    expect(seqs).toEqual([2, 4, 5]);
    next.bus.close();
  });

  it('delivers again from the log file what the in-memory log (maxLog) no longer holds', async () => {
    const dir = folder();
    const bus = new LocalEventBus({ dataDir: dir, maxLog: 2 });
    bus.addRule({ name: 'consumer', pattern: ALL, target: hangingTarget(new Set()).target });
    bus.resume();
    bus.putEvents([entry('m1'), entry('m2'), entry('m3'), entry('m4'), entry('m5')]);
    expect(bus.log.map(idOf)).toEqual(['m4', 'm5']);
    await crash(bus);

    const next = new LocalEventBus({ dataDir: dir, maxLog: 2 });
    const got: string[] = [];
    next.addRule({ name: 'consumer', pattern: ALL, target: (e) => void got.push(idOf(e)) });
    expect(next.resume()).toBe(5);
    await next.drain();
    expect(got).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    next.close();
  });

  it('writes the cursors on its own after deliveries finish (no drain), and never past an unfinished one', async () => {
    const dir = folder();
    const bus = new LocalEventBus({ dataDir: dir, cursorFlushEveryMs: 5 });
    bus.addRule({ name: 'consumer', pattern: ALL, target: hangingTarget(new Set(['t1', 't2', 't4'])).target });
    bus.resume();
    const cursor = () => (JSON.parse(readFileSync(join(dir, 'bus', 'cursors.json'), 'utf8')) as Record<string, number>).consumer;
    expect(cursor()).toBe(0);
    bus.putEvents([entry('t1'), entry('t2'), entry('t3'), entry('t4')]);
    const deadline = Date.now() + 5_000;
    while (cursor() !== 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(cursor()).toBe(2);
    bus.close();
  });

  it('numbers a log written before sequence numbers once, in place, and delivers none of it again', () => {
    const dir = folder();
    const legacy = (id: string) => JSON.stringify({ version: '0', id, 'detail-type': 'Product Viewed', source: 'rapport.ingest', account: '0', time: '2026-01-01T00:00:00Z', region: 'local', resources: [], detail: { messageId: id } });
    mkdirSync(join(dir, 'bus'));
    writeFileSync(join(dir, 'bus', 'events.ndjson'), `${legacy('old-1')}\n${legacy('old-2')}\n`);
    const { bus, got, started } = restart(dir);
    expect(started).toBe(0);
    expect(got.consumer).toEqual([]);
    expect(bus.log.map((e) => e.id)).toEqual(['old-1', 'old-2']);
    bus.putEvents([entry('new-1')]);
    const lines = readFileSync(join(dir, 'bus', 'events.ndjson'), 'utf8').split('\n').filter(Boolean);
    expect(lines.map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([1, 2, 3]);
    bus.close();
  });

  it('refuses a second rule of the same name (names key the cursors)', () => {
    const bus = new LocalEventBus();
    bus.addRule({ name: 'r', pattern: ALL, target: () => undefined });
    expect(() => bus.addRule({ name: 'r', pattern: ALL, target: () => undefined })).toThrow(/a bus rule named "r" exists already/);
  });
});
