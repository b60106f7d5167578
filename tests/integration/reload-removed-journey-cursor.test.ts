/**
 * A journey removed by `POST /v1/admin/reload` starts nothing for what is logged while it is away (audit 15; durable
 * data folder). The reload removes its trigger rule and forgets the rule's place in the log; when the journey comes
 * back (its file restored, the engine restarted) its rule begins at the end of the log: customers tagged while it
 * was removed are not enrolled days later ("a removed journey starts nothing new, an added one starts now"). A
 * journey a reload changes keeps its rule's place. On virtual time.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { ROOT } from '../cli/helpers';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';

const HOUR = 3_600_000;
const START = Date.parse('2026-03-02T10:00:00Z');
const GOLD = ['id: gold', 'name: Gold', 'version: 1', 'trigger: { event: Tag Added, where: { tag: [crm-gold] } }', 'steps:', '  - id: hello', '    send: { channel: email, template: welcome }', ''].join('\n');

const folder = mkdtempSync(join(tmpdir(), 'rapport-audit15-reload-cursor-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const setUp = (name: string) => {
  const root = join(folder, name);
  cpSync(join(ROOT, 'workflows'), join(root, 'workflows'), { recursive: true });
  writeFileSync(join(root, 'workflows/journeys.d/gold.yaml'), GOLD);
  const options = (clock: VirtualClock) => ({ clock, dataDir: join(root, 'data'), journeysDir: join(root, 'workflows/journeys.d'), templatesDir: join(root, 'workflows/templates'), sweepEveryMs: 0, sendPolicy: { quietHours: undefined }, logLevel: 'SILENT' as const });
  return { root, gold: join(root, 'workflows/journeys.d/gold.yaml'), options };
};
const gilded = (id: string) => [{ type: 'identify', userId: id, traits: { email: `${id}@example.com`, tags: ['crm-gold'] } }];
const goldRuns = async (engine: Engine, id: string) => ((await client(engine).get(`/v1/customers/${id}/journeys`)).json as unknown as { runs: { journeyId: string }[] }).runs.filter((r) => r.journeyId === 'gold').length;
const reload = async (engine: Engine) => (await fetch(`${engine.url}/v1/admin/reload`, { method: 'POST' })).status;

/** Start, stop (the gold rule's cursor is now stored), start again: the session the reload happens in. */
async function secondSession(options: (clock: VirtualClock) => Parameters<typeof startTestEngine>[0]) {
  const first = await startTestEngine(options(new VirtualClock(START)));
  try {
    await client(first).sendAndSettle(gilded('c-0'));
    expect(await goldRuns(first, 'c-0')).toBe(1);
  } finally {
    await first.stop();
  }
  const clock = new VirtualClock(START + HOUR);
  return { clock, engine: await startTestEngine(options(clock)) };
}

describe('audit 15: a journey removed by a reload, its cursor, and its return', () => {
  it('control: removed and restored within a session, it starts only for customers tagged after its return', async () => {
    const { gold, options } = setUp('control');
    const { engine } = await secondSession(options);
    try {
      rmSync(gold);
      expect(await reload(engine)).toBe(200);
      await client(engine).sendAndSettle(gilded('c-away'));
      writeFileSync(gold, GOLD);
      expect(await reload(engine)).toBe(200);
      await client(engine).sendAndSettle(gilded('c-back'));
      expect({ away: await goldRuns(engine, 'c-away'), back: await goldRuns(engine, 'c-back') }).toEqual({ away: 0, back: 1 });
    } finally {
      await engine.stop();
    }
  }, 60_000);

  it('a journey removed by a reload and restored at a restart starts nothing for customers tagged while it was away', async () => {
    const { gold, options } = setUp('break');
    const { engine } = await secondSession(options);
    try {
      rmSync(gold);
      expect(await reload(engine)).toBe(200);
      await client(engine).sendAndSettle(gilded('c-away'));
      expect(await goldRuns(engine, 'c-away')).toBe(0);
    } finally {
      await engine.stop();
    }
    writeFileSync(gold, GOLD);
    const later = new VirtualClock(START + 2 * HOUR);
    const third = await startTestEngine(options(later));
    try {
      await later.run(START + 3 * HOUR);
      await client(third).sendAndSettle(gilded('c-back'));
      expect({ away: await goldRuns(third, 'c-away'), back: await goldRuns(third, 'c-back') }).toEqual({ away: 0, back: 1 });
    } finally {
      await third.stop();
    }
  }, 60_000);
});
