/**
 * The AWS twin delivers Step Functions' "Execution Status Change" late and twice
 * (`EngineOptions.twin.statusChangeMaxDelayMs`, `statusChangeDuplicateProbability`), as EventBridge may: the
 * run-ended function then hears of a run's end hours after it, more than once, and after the same customer has
 * entered the journey again and a newer run holds the lock. Such news must end only its own run and free only
 * its own lock.
 *
 * Each customer of a population (seeded, virtual time): a ping starts run A; a goal (Pong) 20 minutes later
 * converts it, which frees the lock at once (A's own ABORTED news comes later, maybe twice); a ping at 40
 * minutes starts run B, holding the lock; a ping at 60 minutes is refused (B runs); a goal at 80 minutes
 * converts B; a ping at 100 minutes starts C, which completes an hour later, its news up to 3 hours late; a ping
 * at 8 hours, when every news has come, starts D. Every 10 minutes a probe checks that a running run holds the
 * lock and that no customer has two running runs; at the end every customer has exactly A and B converted, C
 * and D completed, one refused ping, and no lock.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJourneyRuntime, createRunEndedHandler } from '../../functions/journeys';
import { documentClient } from '../../functions/profile';
import { PROFILE_TABLE, type Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { runsOf } from '../helpers/journeys';
import { scheduleEvents } from '../helpers/virtual';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const START = Date.parse('2026-03-02T10:00:00Z');
const SEED = 11;
const CUSTOMERS = 10;
const ids = Array.from({ length: CUSTOMERS }, (_, i) => `late-${i}`);
/** Status changes arrive up to this late; the last run starts when every one has come. */
const MAX_LATE = 3 * HOUR;

const PING_WITH_GOAL = [
  'id: ping',
  'name: Ping',
  'version: 1',
  'trigger:',
  '  event: Ping Requested',
  'entry:',
  '  reentry: always',
  'goals:',
  '  - event: Pong',
  'steps:',
  '  - id: send-ping',
  '    send: { channel: email, template: welcome, kind: transactional }',
  '  - id: wait-an-hour',
  '    wait: 1h',
  '',
].join('\n');

/** Each customer's pings and goals (see the file's comment), 7 minutes apart from one customer to the next. */
function population(): Array<Record<string, unknown>> {
  return ids.flatMap((id, i) => {
    const t = START + i * 7 * MINUTE;
    const at = (ms: number) => new Date(t + ms).toISOString();
    const event = (suffix: string, ms: number, name: string) => ({ type: 'track', userId: id, messageId: `${id}-${suffix}`, timestamp: at(ms), event: name, properties: {} });
    return [
      { type: 'identify', userId: id, messageId: `${id}-id`, timestamp: at(0), traits: { email: `${id}@example.com` } },
      event('a', 0, 'Ping Requested'),
      event('a-goal', 20 * MINUTE, 'Pong'),
      event('b', 40 * MINUTE, 'Ping Requested'),
      event('refused', 60 * MINUTE, 'Ping Requested'),
      event('b-goal', 80 * MINUTE, 'Pong'),
      event('c', 100 * MINUTE, 'Ping Requested'),
      event('d', 8 * HOUR, 'Ping Requested'),
    ];
  });
}

describe(`the AWS twin delivers status changes late and twice; each ends its own run and frees its own lock (seed ${SEED})`, () => {
  let clock: VirtualClock;
  let engine: Engine;
  let journeysDir: string;
  /** What the probe saw wrong, and how often it looked. */
  const violations: string[] = [];
  let probes = 0;
  /** Status changes that arrived while a newer run of their customer held the lock. */
  let afterReentry = 0;
  let delivered = 0;
  let runEnded: ((event: never, context: Context) => Promise<unknown>) | undefined;

  /** The test's own client of the engine's dynalite: its reads are no function's (the engine's client authorises those of an invocation). */
  let doc: ReturnType<typeof documentClient>;
  const lockOf = async (id: string) =>
    (await doc.send(new GetCommand({ TableName: PROFILE_TABLE, Key: { PK: `C#${id}`, SK: 'L#ping#*' }, ConsistentRead: true }))).Item as { executionName?: string } | undefined;
  const pingRuns = async (id: string) => (await runsOf(engine, id)).filter((r) => r.journeyId === 'ping');

  beforeAll(async () => {
    journeysDir = mkdtempSync(path.join(tmpdir(), 'rapport-twin-late-'));
    writeFileSync(path.join(journeysDir, 'ping.yaml'), PING_WITH_GOAL);
    clock = new VirtualClock(START);
    engine = await startTestEngine({
      clock,
      journeysDir,
      sweepEveryMs: 0,
      sendPolicy: { quietHours: undefined },
      logLevel: 'SILENT',
      twin: { seed: SEED, maxDelayMs: 30_000, duplicateProbability: 0.2, statusChangeMaxDelayMs: MAX_LATE, statusChangeDuplicateProbability: 0.5 },
      // The run-ended function as in AWS (awsRunEndedRuntime: the profile table, no journeys), noting whose lock
      // each status change finds.
      functions: {
        'rapport-run-ended': async (event, context) => {
          const { name, input } = (event as { detail: { name: string; input: string } }).detail;
          const lock = await lockOf((JSON.parse(input) as { customerId: string }).customerId);
          delivered++;
          if (lock?.executionName !== undefined && lock.executionName !== name) afterReentry++;
          // Built in its first invocation (Powertools' metrics need the invocation's store), on the engine's parts.
          runEnded ??= createRunEndedHandler(
            createJourneyRuntime({ journeys: [], profiles: engine.profiles, records: engine.journeys.records, executions: engine.journeys.sfn, clock: clock.forWork, consentMode: 'opt-out' }),
          );
          return runEnded(event, context);
        },
      },
    });
    doc = documentClient(new DynamoDBClient({ endpoint: engine.dynamo.endpoint, region: 'local', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }));
  });
  afterAll(async () => {
    await engine?.stop();
    rmSync(journeysDir, { recursive: true, force: true });
  });

  /** Every 10 minutes, at an idle moment: a running run holds its customer's lock, and no customer has two. */
  function probeEvery10Minutes(until: number): void {
    const probe = async () => {
      probes++;
      for (const id of ids) {
        const running = (await pingRuns(id)).filter((r) => r.status === 'running');
        if (running.length > 1) violations.push(`${clock.now().toISOString()} ${id}: ${running.length} runs running`);
        const live = running.filter((r) => engine.journeys.sfn.executions.get(r.executionName)?.status === 'RUNNING');
        const lock = await lockOf(id);
        for (const run of live) if (lock?.executionName !== run.executionName) violations.push(`${clock.now().toISOString()} ${id}: running ${run.executionName} but the lock names ${lock?.executionName ?? 'nobody'}`);
      }
    };
    const next = (at: number) => {
      if (at > until) return;
      clock.schedule(at, () => {
        void clock.track(probe());
        next(at + 10 * MINUTE);
      });
    };
    next(clock.now().getTime() + 10 * MINUTE);
  }

  it('every customer ends with A and B converted, C and D completed, one ping refused, and no lock; the probe saw nothing wrong', async () => {
    const api = client(engine);
    const end = START + 14 * HOUR;
    const sent = scheduleEvents(clock, (batch) => api.send(batch), population());
    probeEvery10Minutes(end);
    await clock.run(end);
    sent.check();

    // The twin did what this test is about: news late (after a newer run took the lock) and twice.
    expect(engine.bus.twinServiceDuplicates).toBeGreaterThan(0);
    expect(afterReentry).toBeGreaterThan(0);
    expect(probes).toBeGreaterThan(80);
    expect(violations).toEqual([]);

    for (const id of ids) {
      const runs = (await pingRuns(id)).map((r) => ({ status: r.status, started: engine.journeys.sfn.executions.get(r.executionName)?.startedAt.getTime() ?? 0 }));
      expect(
        runs.sort((a, b) => a.started - b.started).map((r) => r.status),
        id,
      ).toEqual(['converted', 'converted', 'completed', 'completed']);
      expect(await lockOf(id), id).toBeUndefined();
    }
    const stats = await engine.journeys.records.stats('ping');
    expect(stats).toMatchObject({ entered: 4 * CUSTOMERS, goal: 2 * CUSTOMERS, completed: 2 * CUSTOMERS });
    // The refused ping, counted at each delivery of it (the twin delivers some customer events twice).
    expect(stats['skipped.already-running']).toBeGreaterThanOrEqual(CUSTOMERS);
    // Each end was heard at least once, some twice; nothing was dead-lettered.
    expect(delivered).toBe(4 * CUSTOMERS + engine.bus.twinServiceDuplicates);
    expect(engine.deadLetters).toEqual([]);
    // The converted runs waited in the run index for the news of their ends (ABORTED by their goals): it came, and
    // took each out, so the sweep has nothing to ask Step Functions about.
    expect((await engine.sweep()).runs).toEqual({ checked: 0, ended: 0, failed: 0 });
  }, 120_000);
});

describe('a goal dated after a run ended on its own, heard before the late news of that end, does not convert it', () => {
  // Found by this twin on 2026-12-06: the router converted such runs (the record still read running), so a goal
  // after the journey was over counted as its conversion. The news carries when the execution ended (stopDate):
  // the run-ended function now records the end the run had, and moves the count from goal to completed.
  it('every run is completed, none converted, but the one whose goal is dated before its end; the counters agree', async () => {
    const journeysDir = mkdtempSync(path.join(tmpdir(), 'rapport-twin-late-goal-'));
    writeFileSync(path.join(journeysDir, 'ping.yaml'), PING_WITH_GOAL);
    const clock = new VirtualClock(START);
    const engine = await startTestEngine({
      clock,
      journeysDir,
      sweepEveryMs: 0,
      sendPolicy: { quietHours: undefined },
      logLevel: 'SILENT',
      twin: { seed: 2, maxDelayMs: 1000, duplicateProbability: 0, statusChangeMaxDelayMs: MAX_LATE },
    });
    try {
      const api = client(engine);
      const late = ['goal-0', 'goal-1', 'goal-2', 'goal-3'];
      await api.send(late.flatMap((id) => [{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Ping Requested', properties: {} }]));
      // The runs end an hour on (send, then wait 1h); the goals come 5 minutes after, their ends' news later.
      await clock.run(START + 65 * MINUTE);
      expect([...engine.journeys.sfn.executions.values()].map((e) => e.status)).toEqual(late.map(() => 'SUCCEEDED'));
      const heardBefore = (await Promise.all(late.map(async (id) => (await runsOf(engine, id)).filter((r) => r.status !== 'running').length))).reduce((a, b) => a + b, 0);
      // goal-0's goal is dated a minute before its run ended (sent late): heard before the news, it converts the run.
      await api.send(late.map((id) => ({ type: 'track', userId: id, event: 'Pong', properties: {}, ...(id === 'goal-0' && { timestamp: new Date(START + 59 * MINUTE).toISOString() }) })));
      await clock.run(START + 5 * HOUR);

      expect(heardBefore).toBe(0); // every news was later than the goals: the case at hand
      expect((await runsOf(engine, 'goal-0')).map((r) => r.status)).toEqual(['converted']);
      for (const id of late.slice(1)) expect((await runsOf(engine, id)).map((r) => r.status), id).toEqual(['completed']);
      const stats = await engine.journeys.records.stats('ping');
      expect({ completed: stats.completed, goal: stats.goal }).toEqual({ completed: late.length - 1, goal: 1 });
      expect(engine.deadLetters).toEqual([]);
    } finally {
      await engine.stop();
      rmSync(journeysDir, { recursive: true, force: true });
    }
  }, 60_000);
});
