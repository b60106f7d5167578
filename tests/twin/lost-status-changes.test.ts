/**
 * The AWS twin loses best-effort events (`EngineOptions.twin.lossProbability`): EventBridge delivers Step
 * Functions' "Execution Status Change" best-effort, so the run-ended function may never hear of a run's end,
 * and that run keeps its lock. A population of customers runs a short journey on the twin (delays,
 * duplicates, and half the status changes lost, seeded); once the reconciling sweep has asked Step Functions
 * (DescribeExecution, over the run index), no run is left running, no lock is left, and every customer can
 * enter the journey again.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/profile';
import { PROFILE_TABLE, type Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { PING_JOURNEY as PING, runsOf } from '../helpers/journeys';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const START = Date.parse('2026-03-02T10:00:00Z');
const SEED = 7;
const CUSTOMERS = 16;
const ids = Array.from({ length: CUSTOMERS }, (_, i) => `ls-${i}`);

describe(`the AWS twin loses status-change events; the reconciling sweep frees every run and lock (seed ${SEED})`, () => {
  let clock: VirtualClock;
  let engine: Engine;
  let api: ReturnType<typeof client>;
  let journeysDir: string;

  beforeAll(async () => {
    journeysDir = mkdtempSync(path.join(tmpdir(), 'rapport-twin-loss-'));
    writeFileSync(path.join(journeysDir, 'ping.yaml'), PING);
    clock = new VirtualClock(START);
    engine = await startTestEngine({
      clock,
      journeysDir,
      sweepEveryMs: 0,
      sendPolicy: { quietHours: undefined },
      logLevel: 'SILENT',
      twin: { seed: SEED, maxDelayMs: 30_000, duplicateProbability: 0.2, lossProbability: 0.5 },
    });
    api = client(engine);
  });
  afterAll(async () => {
    await engine?.stop();
    rmSync(journeysDir, { recursive: true, force: true });
  });

  const pingRuns = async (id: string) => (await runsOf(engine, id)).filter((r) => r.journeyId === 'ping').map((r) => r.status).sort();
  const runningCustomers = async () => (await Promise.all(ids.map(async (id) => ((await pingRuns(id)).includes('running') ? [id] : [])))).flat();
  /** Customers holding a run lock (`L#<journey>#...`), whatever its expiry: a lock the sweep should have freed is still an item. */
  const lockedCustomers = async () => {
    const { Items = [] } = await documentClient(engine.dynamo.client).send(
      new ScanCommand({ TableName: PROFILE_TABLE, ConsistentRead: true, FilterExpression: 'begins_with(SK, :l)', ExpressionAttributeValues: { ':l': 'L#' } }),
    );
    return Items.map((item) => String(item.PK).slice(2)).sort();
  };

  it('loses some ends: their runs stay running and their customers locked out, until the sweep', async () => {
    const t0 = clock.now().getTime();
    await api.send(ids.flatMap((id) => [{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Ping Requested', properties: {} }]));
    await clock.run(t0 + 2 * HOUR);

    // Every execution ended in Step Functions; the news of some of those ends was lost.
    const executions = [...engine.journeys.sfn.executions.values()];
    expect(executions.map((e) => e.status)).toEqual(Array(CUSTOMERS).fill('SUCCEEDED'));
    expect(engine.bus.twinLost).toBeGreaterThan(0);
    expect(engine.bus.twinLost).toBeLessThan(CUSTOMERS);
    const stuck = await runningCustomers();
    expect(stuck).toHaveLength(engine.bus.twinLost);
    expect(await lockedCustomers()).toEqual([...stuck].sort());

    // A stuck customer's new trigger is refused by the lock (and counted).
    const before = (await engine.journeys.records.stats('ping'))['skipped.already-running'] ?? 0;
    await api.send({ type: 'track', userId: stuck[0], event: 'Ping Requested', properties: {} });
    await clock.run(clock.now().getTime() + 10 * MINUTE);
    expect((await engine.journeys.records.stats('ping'))['skipped.already-running']).toBe(before + 1);
  });

  it('the sweep a day on ends every stuck run as the lost event would have, and frees every lock', async () => {
    const lost = engine.bus.twinLost;
    await clock.run(START + DAY + HOUR);
    const swept = await engine.sweep();

    expect(swept.runs).toMatchObject({ failed: 0, ended: lost });
    expect(await runningCustomers()).toEqual([]);
    for (const id of ids) expect(await pingRuns(id), id).toEqual(['completed']);
    expect(await lockedCustomers()).toEqual([]);
    expect((await engine.journeys.records.stats('ping')).completed).toBe(CUSTOMERS);
    // Nothing is left to reconcile: a second sweep asks about nothing.
    expect((await engine.sweep()).runs).toMatchObject({ checked: 0, ended: 0, failed: 0 });
  });

  it('every customer enters the journey again afterwards', async () => {
    const t1 = clock.now().getTime();
    await api.send(ids.map((id) => ({ type: 'track', userId: id, event: 'Ping Requested', properties: {} })));
    await clock.run(t1 + 10 * MINUTE);
    for (const id of ids) expect(await pingRuns(id), id).toEqual(['completed', 'running']);
    expect(engine.deadLetters).toEqual([]);
  });
});

describe('a goal after a run ended on its own, the news of that end lost: the sweep records the end the run had', () => {
  // The router converts such a run (its record still reads running) and, before 2026-12-06, took it out of the run
  // index: with the late news lost, nothing looked at it again and the conversion stood. A run ended by an event now
  // stays in the index until its execution's end is known; the sweep asks Step Functions (DescribeExecution) and,
  // if the execution had succeeded before the event (its stopDate), records that end and moves the count.
  const GOAL_CUSTOMERS = 12;
  const goalIds = Array.from({ length: GOAL_CUSTOMERS }, (_, i) => `lg-${i}`);
  const PING_WITH_GOAL = [...PING.trimEnd().split('\n'), 'goals:', '  - event: Pong', ''].join('\n');

  it('every run completed after the sweep, none converted; the counters agree; the index is left', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rapport-twin-loss-goal-'));
    writeFileSync(path.join(dir, 'ping.yaml'), PING_WITH_GOAL);
    const clock = new VirtualClock(START);
    const engine = await startTestEngine({
      clock,
      journeysDir: dir,
      sweepEveryMs: 0,
      sendPolicy: { quietHours: undefined },
      logLevel: 'SILENT',
      // Half the news lost, the rest up to 3 hours late: a goal is heard before most news of its run's end.
      twin: { seed: 3, maxDelayMs: 1000, duplicateProbability: 0.2, lossProbability: 0.5, statusChangeMaxDelayMs: 3 * HOUR },
    });
    try {
      const api = client(engine);
      const statuses = async () => (await Promise.all(goalIds.map(async (id) => (await runsOf(engine, id)).map((r) => r.status)))).flat();
      await api.send(goalIds.flatMap((id) => [{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Ping Requested', properties: {} }]));
      const ended = async () => [...engine.journeys.sfn.executions.values()].every((e) => e.status === 'SUCCEEDED');
      // The ping journey sends, then waits: every execution has succeeded by 2 hours on; the goals come after.
      await clock.run(START + 2 * HOUR);
      expect(await ended()).toBe(true);
      await api.send(goalIds.map((id) => ({ type: 'track', userId: id, event: 'Pong', properties: {} })));
      await clock.run(START + 8 * HOUR);

      // The late news corrected its runs; the lost news left its runs converted.
      const lost = engine.bus.twinLost;
      expect(lost).toBeGreaterThan(0);
      expect(lost).toBeLessThan(GOAL_CUSTOMERS);
      expect((await statuses()).filter((s) => s === 'converted')).toHaveLength(lost);

      await clock.run(START + DAY + 2 * HOUR);
      const swept = await engine.sweep();
      expect(swept.runs).toMatchObject({ failed: 0, ended: 0, corrected: lost });
      expect(await statuses()).toEqual(goalIds.map(() => 'completed'));
      const stats = await engine.journeys.records.stats('ping');
      expect({ entered: stats.entered, completed: stats.completed, goal: stats.goal ?? 0 }).toEqual({ entered: GOAL_CUSTOMERS, completed: GOAL_CUSTOMERS, goal: 0 });
      // Every run's end is known: none is left in the run index, a second sweep asks about nothing.
      expect((await engine.sweep()).runs).toMatchObject({ checked: 0, ended: 0, failed: 0 });
      expect(engine.deadLetters).toEqual([]);
    } finally {
      await engine.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
