/**
 * The AWS twin's global secondary indexes are eventually consistent (`EngineOptions.twin.indexLagMs`), as
 * DynamoDB's are: a query of an index sees a write only after a seeded lag, while reads of the table are
 * consistent. The reconciling sweep reads the run index (GSI1, `RUN#<shard>`) and must take each run it lists
 * as a hint only: a run that ended a moment ago is still listed, and the sweep must not end it again.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/profile';
import { PROFILE_TABLE, type Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { runsOf } from '../helpers/journeys';

const SECOND = 1000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const START = Date.parse('2026-03-02T10:00:00Z');
const LAG_MS = 120_000;
const SEED = 11;
/** Runs past its first reconciling check (a day after its start), so the sweep's index lists it while it runs. */
const LONG = [
  'id: long',
  'name: Long',
  'version: 1',
  'trigger:',
  '  event: Long Requested',
  'entry:',
  '  reentry: always',
  'steps:',
  '  - id: send-long',
  '    send: { channel: email, template: welcome, kind: transactional }',
  '  - id: wait-a-day-and-more',
  '    wait: 25h',
  '',
].join('\n');

describe(`the AWS twin's indexes lag their table (up to ${LAG_MS / SECOND} s, seed ${SEED})`, () => {
  let clock: VirtualClock;
  let engine: Engine;
  let api: ReturnType<typeof client>;
  let journeysDir: string;

  beforeAll(async () => {
    journeysDir = mkdtempSync(path.join(tmpdir(), 'rapport-twin-index-'));
    writeFileSync(path.join(journeysDir, 'long.yaml'), LONG);
    clock = new VirtualClock(START);
    engine = await startTestEngine({
      clock,
      journeysDir,
      sweepEveryMs: 0,
      sendPolicy: { quietHours: undefined },
      logLevel: 'SILENT',
      twin: { seed: SEED, maxDelayMs: SECOND, duplicateProbability: 0, indexLagMs: LAG_MS },
    });
    api = client(engine);
  });
  afterAll(async () => {
    await engine?.stop();
    rmSync(journeysDir, { recursive: true, force: true });
  });

  /** Whether the run index lists a run of the customer (whenever it is due). */
  const indexed = async (customerId: string, dueBy = new Date(START + 400 * DAY)) => (await engine.journeys.records.runsToCheck(dueBy)).some((r) => r.customerId === customerId);
  const statusOf = async (customerId: string) => (await runsOf(engine, customerId))[0]?.status;

  it('a run is in the table at once, and in the index only after its lag', async () => {
    await api.send([{ type: 'identify', userId: 'ix-1', traits: { email: 'ix-1@example.com' } }, { type: 'track', userId: 'ix-1', event: 'Long Requested', properties: {} }]);
    let inTable: number | undefined;
    let inIndex: number | undefined;
    for (let t = START; t <= START + LAG_MS + 10 * SECOND && inIndex === undefined; t += SECOND) {
      await clock.run(t);
      if (inTable === undefined && (await statusOf('ix-1')) === 'running') inTable = t;
      if (await indexed('ix-1')) inIndex = t;
    }
    expect(inTable).toBeDefined();
    expect(inIndex).toBeDefined();
    // Seeded: this write's lag is over a few seconds and within the maximum.
    expect(inIndex! - inTable!).toBeGreaterThan(5 * SECOND);
    expect(inIndex! - inTable!).toBeLessThanOrEqual(LAG_MS + SECOND);
  });

  it('a sweep right after the run ended finds it still listed as due, and ends nothing: the run ends once', async () => {
    // The run's execution ends 25 h after it started; its status change frees its lock and takes it out of the index.
    const execution = [...engine.journeys.sfn.executions.values()].find((e) => e.input.customerId === 'ix-1')!;
    await clock.run(undefined, () => execution.status !== 'RUNNING');
    await engine.settle();
    expect(await statusOf('ix-1')).toBe('completed');

    // The index has not seen that yet: it lists the run as due for its first check (a day after its start).
    expect(await indexed('ix-1', clock.now())).toBe(true);
    const swept = await engine.sweep();
    expect(swept.runs).toEqual({ checked: 0, ended: 0, failed: 0 });
    expect(await statusOf('ix-1')).toBe('completed');
    expect((await engine.journeys.records.stats('long')).completed).toBe(1);
    const lock = await documentClient(engine.dynamo.client).send(new GetCommand({ TableName: PROFILE_TABLE, Key: { PK: 'C#ix-1', SK: 'L#long#*' } }));
    expect(lock.Item).toBeUndefined();

    // Once the lag has passed, the index has let go of it.
    await clock.run(clock.now().getTime() + LAG_MS + SECOND);
    expect(await indexed('ix-1')).toBe(false);
  });
});
