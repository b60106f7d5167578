import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROFILE_TABLE, type Engine } from '../../infra/embedded/engine';
import type { DynamoCall } from '../../infra/embedded/faults';
import { cli, lines } from '../cli/helpers';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { post } from '../helpers/webhook';

/**
 * Dead letters of the embedded engine: kept in the data folder across a restart, listed and
 * redriven (API and `rapport dead-letters`), and redacted when their customer is erased.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'rapport-dead-letters-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Customers whose profile writes fail (a DynamoDB outage for them): their events dead-letter after the retries. */
const down = new Set<string>();
const READS = new Set(['GetItem', 'Query', 'BatchGetItem', 'Scan']);
const failing = (call: DynamoCall) => (call.table === PROFILE_TABLE && !READS.has(call.operation) && [...down].some((id) => JSON.stringify(call.input).includes(`C#${id}`)) ? 'InternalServerError' : undefined);
const start = () => startTestEngine({ dataDir, sweepEveryMs: 0, logLevel: 'SILENT', faults: { dynamo: failing } });

interface Letter {
  id: string;
  rule: string;
  event: { detail: { userId: string; messageId: string } };
}
const lettersOf = async (engine: Engine) => ((await client(engine).get('/v1/admin/dead-letters')).json as unknown as { deadLetters: Letter[] }).deadLetters;
const order = (userId: string, n: number) => ({ type: 'track', userId, event: 'Order Completed', messageId: `${userId}-o${n}`, properties: { orderId: `${userId}-o${n}`, revenue: 10, currency: 'EUR' } });
const orderCount = async (engine: Engine, id: string) => (await engine.profiles.get(id))?.profile.stats.orderCount ?? 0;

describe('dead letters', () => {
  it('are kept across a restart, listed, and redriven by the CLI (all, then by id after failing again)', { timeout: 180_000 }, async () => {
    let engine = await start();
    try {
      down.add('dlq-a');
      await client(engine).sendAndSettle([order('dlq-a', 1), order('dlq-b', 1)]);
      expect((await lettersOf(engine)).map((l) => [l.rule, l.event.detail.messageId])).toEqual([['profile-consumer', 'dlq-a-o1']]);
      expect(await orderCount(engine, 'dlq-b')).toBe(1);
    } finally {
      await engine.stop();
    }

    engine = await start();
    try {
      const [letter] = await lettersOf(engine);
      expect(letter).toMatchObject({ id: 'dl-1', rule: 'profile-consumer', event: { detail: { messageId: 'dlq-a-o1' } } });

      const list = await cli(['dead-letters', 'list', '--engine', engine.url]);
      expect(list.code, list.stderr).toBe(0);
      expect(lines(list.stdout)).toEqual([expect.stringMatching(/^dl-1 {2}\S+ {2}profile-consumer {2}Order Completed {2}dlq-a {2}dlq-a-o1 {2}after 3 attempts: /), '1 dead letter']);

      // Still down: the redrive fails again, and the letter comes back under a new id.
      const again = await cli(['dead-letters', 'redrive', '--engine', engine.url]);
      expect(again.code).toBe(1);
      expect(lines(again.stdout)).toEqual(['dl-1  dead-lettered again, now dl-2', '0 of 1 redriven dead letters delivered']);
      expect((await lettersOf(engine)).map((l) => l.id)).toEqual(['dl-2']);

      down.delete('dlq-a');
      const unknown = await cli(['dead-letters', 'redrive', '--engine', engine.url, '--ids', 'dl-1']);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('dl-1: no such dead letter');
      const redriven = await cli(['dead-letters', 'redrive', '--engine', engine.url, '--ids', 'dl-2']);
      expect(redriven.code, redriven.stderr).toBe(0);
      expect(lines(redriven.stdout)).toEqual(['dl-2  delivered', '1 of 1 redriven dead letters delivered']);
      expect(await orderCount(engine, 'dlq-a')).toBe(1);
      expect(await lettersOf(engine)).toEqual([]);
    } finally {
      await engine.stop();
    }
    expect(readFileSync(join(dataDir, 'dead-letters.ndjson'), 'utf8')).not.toContain('dlq-a-o1');
  });

  it('refuses a redrive body it cannot read, naming the field', async () => {
    const engine = await startTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT' });
    try {
      const redrive = (body: string) => post(`${engine.url}/v1/admin/dead-letters/redrive`, { headers: { 'content-type': 'application/json' }, body });
      expect((await redrive('{"ids": "dl-1"}')).json).toEqual({ error: 'invalid_request', message: '"ids" must be a non-empty array of dead-letter ids (strings such as "dl-1")' });
      expect((await redrive('{"id": ["dl-1"]}')).json).toEqual({ error: 'invalid_request', message: 'unknown field "id": the body takes "ids" only' });
      expect((await redrive('nope')).status).toBe(400);
      expect((await redrive('')).json).toEqual({ redriven: [], notFound: [], noRule: [] });
    } finally {
      await engine.stop();
    }
  });

  it('of an erased customer are removed, from the list and from the file', { timeout: 60_000 }, async () => {
    const engine = await start();
    try {
      await client(engine).sendAndSettle([{ type: 'identify', userId: 'dlq-e', traits: { email: 'dlq-e@example.com' } }]);
      down.add('dlq-e');
      await client(engine).sendAndSettle([order('dlq-e', 1), order('dlq-f', 1)]);
      down.delete('dlq-e');
      expect((await lettersOf(engine)).map((l) => l.event.detail.userId)).toEqual(['dlq-e']);
      expect(readFileSync(join(dataDir, 'dead-letters.ndjson'), 'utf8')).toContain('dlq-e-o1');

      expect((await fetch(`${engine.url}/v1/customers/dlq-e`, { method: 'DELETE' })).status).toBe(200);
      expect(await lettersOf(engine)).toEqual([]);
      expect(readFileSync(join(dataDir, 'dead-letters.ndjson'), 'utf8')).not.toContain('dlq-e');
    } finally {
      await engine.stop();
    }
  });
});
