import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { client } from '../helpers/client';
import { startTestEngine, TEST_SECRET } from '../helpers/engine';
import { CHILD_PROCESS_TIMEOUT, cli, lines } from './helpers';

/**
 * `rapport import` (a child process) against an embedded engine running in the
 * test: CSV and NDJSON history lands on the profiles with its own timestamps, a
 * re-run imports nothing twice, bad lines are named, an interrupted import resumes.
 */
let engine: Engine;
let api: ReturnType<typeof client>;
const tmp = mkdtempSync(join(tmpdir(), 'rapport-import-'));
const DAY = 86_400_000;
const yearAgo = new Date(Date.now() - 365 * DAY).toISOString();
const monthsAgo = new Date(Date.now() - 300 * DAY).toISOString();

beforeAll(async () => {
  engine = await startTestEngine({ logLevel: 'SILENT', sweepEveryMs: 0 });
  api = client(engine);
}, 60_000);

afterAll(async () => {
  await engine?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const run = (file: string, ...more: string[]) => cli(['import', file, '--engine', engine.url, '--secret', TEST_SECRET, ...more]);

describe('rapport import', { timeout: CHILD_PROCESS_TIMEOUT }, () => {
  it('imports a CSV (identify + track per row); history starts no journey; a re-run reports duplicates and changes nothing', async () => {
    const file = join(tmp, 'customers.csv');
    writeFileSync(
      file,
      [
        'userId,email,first_name,event,timestamp,properties.orderId,properties.revenue,properties.currency',
        `imp-ada,ada@example.com,Ada,Signed Up,${yearAgo},,,`,
        `imp-ada,,,Order Completed,${monthsAgo},o-1,42.5,EUR`,
        `imp-bob,bob@example.com,"Bob, Jr.",,,,,`,
        `,nobody@example.com,Nobody,,,,,`,
        // A Subscribed without its channel is refused for every source (the tracking plan only flags orders).
        `imp-eve,eve@example.com,Eve,Subscribed,${monthsAgo},,,`,
      ].join('\n'),
    );
    const first = await run(file);
    expect(first.code, first.stderr).toBe(1); // two lines rejected
    expect(first.stdout).toContain('imported 5, duplicates 0, rejected 2');
    expect(first.stdout).toMatch(/line 5: no userId/);
    expect(first.stdout).toMatch(/line 6: .*channel/);
    expect(first.stderr).toMatch(/\[#+\] 6\/6 lines/);
    await engine.settle();
    const ada = await api.customer('imp-ada');
    expect(ada.traits).toMatchObject({ email: 'ada@example.com', first_name: 'Ada' });
    expect(ada.stats).toMatchObject({ orderCount: 1, totalRevenue: 42.5 });
    expect((await api.customer('imp-bob')).traits).toMatchObject({ first_name: 'Bob, Jr.' });
    expect(engine.outbox.entries.filter((m) => 'tags' in m && m.tags.customer === 'imp-ada')).toEqual([]);

    const busBefore = engine.bus.log.length;
    const again = await run(file);
    expect(again.stdout).toContain('imported 0, duplicates 5, rejected 2');
    await engine.settle();
    expect(engine.bus.log.length).toBe(busBefore);
    expect((await api.customer('imp-ada')).stats).toMatchObject({ orderCount: 1 });
  });

  it('imports NDJSON in the Segment shape, and resumes an interrupted import from its checkpoint', async () => {
    const file = join(tmp, 'events.ndjson');
    const events = Array.from({ length: 10 }, (_, i) => JSON.stringify({ type: 'track', userId: 'imp-nd', event: 'Product Viewed', timestamp: monthsAgo, properties: { productId: `p-${i}` } }));
    writeFileSync(file, [...events.slice(0, 5), '{not json', ...events.slice(5)].join('\n'));
    const part = await run(file, '--batch-size', '3', '--max-batches', '2');
    expect(part.code, part.stderr).toBe(0);
    expect(part.stderr).toContain('stopped after 2 batch(es)');
    expect(existsSync(`${file}.import-checkpoint.json`)).toBe(true);
    const rest = await run(file, '--batch-size', '3');
    expect(rest.stderr).toMatch(/resuming after line \d+/);
    expect(rest.code).toBe(1);
    expect(lines(rest.stdout)).toEqual(['imported 10, duplicates 0, rejected 1', expect.stringMatching(/^ {2}line 6: not JSON/)]);
    expect(existsSync(`${file}.import-checkpoint.json`)).toBe(false);
    await engine.settle();
    expect((await api.customer('imp-nd')).stats.eventCount).toBe(10);
  });

  it('groups a window of lines by customer, and a resumed import sends the rest of the window begun, none twice', async () => {
    const file = join(tmp, 'interleaved.ndjson');
    const who = ['imp-w1', 'imp-w2', 'imp-w3'];
    // Interleaved in the file: w1, w2, w3, w1, ... (4 events each).
    const events = Array.from({ length: 12 }, (_, i) => JSON.stringify({ type: 'track', userId: who[i % 3], event: 'Product Viewed', timestamp: monthsAgo, properties: { productId: `p-${i}` } }));
    writeFileSync(file, events.join('\n'));
    const part = await run(file, '--batch-size', '4', '--max-batches', '1');
    expect(part.code, part.stderr).toBe(0);
    // One window (the whole file); its first batch, of one whole customer, is done.
    const checkpoint = JSON.parse(readFileSync(`${file}.import-checkpoint.json`, 'utf8')) as { line: number; imported: number; window?: { to: number; batches: number } };
    expect(checkpoint).toMatchObject({ line: 0, imported: 4, window: { to: 12, batches: 1 } });
    await engine.settle();
    expect((await api.customer('imp-w1')).stats.eventCount).toBe(4);
    const rest = await run(file, '--batch-size', '4');
    expect(rest.code, rest.stderr).toBe(0);
    expect(lines(rest.stdout)).toEqual(['imported 12, duplicates 0, rejected 0']);
    await engine.settle();
    for (const id of who) expect((await api.customer(id)).stats.eventCount).toBe(4);
  });
});
