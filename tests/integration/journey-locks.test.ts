import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/profile';
import { PROFILE_TABLE, type Engine } from '../../infra/embedded/engine';
import type { DynamoCall } from '../../infra/embedded/faults';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { PING_JOURNEY as PING, runsOf } from '../helpers/journeys';

/**
 * Run locks against AWS's delivery semantics, on the real parts (dynalite, the compiled ASL on the
 * local executor, virtual time): the news of a run's end (Step Functions' "Execution Status Change",
 * best-effort) can be lost, or its handler can fail past its retries, and a start can fail for good.
 * None of that may leave a customer locked out of a journey: the lock expires (TTL, read as absent
 * once past even where DynamoDB has not deleted it) and the sweep reconciles runs with Step Functions.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const START = Date.parse('2026-03-02T10:00:00Z');
const identify = (userId: string) => ({ type: 'identify', userId, traits: { email: `${userId}@example.com` } });
const ping = (userId: string) => ({ type: 'track', userId, event: 'Ping Requested', properties: {} });

describe('run locks when the news of a run’s end is lost', () => {
  let clock: VirtualClock;
  let engine: Engine;
  let api: ReturnType<typeof client>;
  let journeysDir: string;
  /** Customers whose run-ended handler fails (every write of a run's end), as a handler failing past its retries. */
  const failingEnds = new Set<string>();
  /** Customers whose StartExecution fails. */
  const failingStarts = new Set<string>();

  beforeAll(async () => {
    journeysDir = mkdtempSync(path.join(tmpdir(), 'rapport-locks-'));
    writeFileSync(path.join(journeysDir, 'ping.yaml'), PING);
    copyFileSync('workflows/journeys.d/welcome.yaml', path.join(journeysDir, 'welcome.yaml'));
    clock = new VirtualClock(START);
    engine = await startTestEngine({
      clock,
      journeysDir,
      sweepEveryMs: 0,
      sendPolicy: { quietHours: undefined },
      logLevel: 'SILENT',
      faults: {
        // The status change of lk-lost's executions never arrives.
        loseStatusChange: ({ customerId }) => customerId === 'lk-lost',
        dynamo: (call: DynamoCall) => {
          const key = call.input.Key as { PK?: { S?: string }; SK?: { S?: string } } | undefined;
          const ending = (call.input.ExpressionAttributeValues as Record<string, { S?: string }> | undefined)?.[':s']?.S;
          const customer = key?.PK?.S?.slice(2) ?? '';
          if (call.operation === 'UpdateItem' && failingEnds.has(customer) && key?.SK?.S?.startsWith('R#ping#') && ending === 'completed') return 'InternalServerError';
          return undefined;
        },
        stepFunctions: (call) => (call.operation === 'StartExecution' && call.customerId !== undefined && failingStarts.has(call.customerId) ? new Error('ServiceUnavailable: injected') : undefined),
      },
    });
    api = client(engine);
  });
  afterAll(async () => {
    await engine.stop();
    rmSync(journeysDir, { recursive: true, force: true });
  });

  const doc = () => documentClient(engine.dynamo.client);
  const lockOf = async (customerId: string) => (await doc().send(new GetCommand({ TableName: PROFILE_TABLE, Key: { PK: `C#${customerId}`, SK: 'L#ping#*' } }))).Item;
  const pingRuns = async (customerId: string) => (await runsOf(engine, customerId)).filter((r) => r.journeyId === 'ping').map((r) => r.status);
  const executionsOf = (customerId: string) => [...engine.journeys.sfn.executions.values()].filter((e) => e.input.customerId === customerId && e.journeyId === 'ping').map((e) => e.status);
  const stats = () => engine.journeys.records.stats('ping');

  it('a lost status-change event leaves a running run and its lock, which the sweep reconciles with Step Functions: re-entry works again', async () => {
    // Prepare: a run whose execution ends after an hour; its status change is lost.
    const t0 = clock.now().getTime();
    await api.send([identify('lk-lost'), ping('lk-lost')]);
    await clock.run(t0 + 2 * HOUR);
    expect(executionsOf('lk-lost')).toEqual(['SUCCEEDED']);
    expect(await pingRuns('lk-lost')).toEqual(['running']);
    // The lock holds: a new trigger is skipped (and counted).
    const before = await stats();
    await api.send(ping('lk-lost'));
    await clock.run(t0 + 3 * HOUR);
    expect(await pingRuns('lk-lost')).toEqual(['running']);
    expect((await stats())['skipped.already-running']).toBe((before['skipped.already-running'] ?? 0) + 1);

    // Act: the sweep, a day on, asks Step Functions (DescribeExecution) about runs still running.
    await clock.run(t0 + DAY + HOUR);
    const swept = await engine.sweep();

    // Assess: the run ended as the lost event would have ended it (completed, counted), the lock is gone, and the customer enters again.
    expect(swept.runs).toMatchObject({ failed: 0 });
    expect(swept.runs?.ended).toBeGreaterThanOrEqual(1);
    expect(await pingRuns('lk-lost')).toEqual(['completed']);
    expect(await lockOf('lk-lost')).toBeUndefined();
    expect((await stats()).completed).toBeGreaterThanOrEqual(1);
    await api.send(ping('lk-lost'));
    await clock.run(clock.now().getTime() + 10 * 60_000);
    expect((await pingRuns('lk-lost')).sort()).toEqual(['completed', 'running']);
  });

  it('a run-ended handler failing past its retries leaves the lock; the sweep frees it, once, and a second sweep finds nothing left', async () => {
    const t0 = clock.now().getTime();
    failingEnds.add('lk-fail');
    await api.send([identify('lk-fail'), ping('lk-fail')]);
    await clock.run(t0 + 2 * HOUR);
    expect(executionsOf('lk-fail')).toEqual(['SUCCEEDED']);
    expect(await pingRuns('lk-fail')).toEqual(['running']);
    expect(await lockOf('lk-fail')).toBeDefined();
    failingEnds.delete('lk-fail'); // DynamoDB is healthy again; no event will come

    await clock.run(t0 + DAY + HOUR);
    const swept = await engine.sweep();

    expect(swept.runs).toMatchObject({ failed: 0 });
    expect(swept.runs?.ended).toBeGreaterThanOrEqual(1);
    expect(await pingRuns('lk-fail')).toEqual(['completed']);
    expect(await lockOf('lk-fail')).toBeUndefined();
    // Nothing is left to check (ended runs leave the run index): a second sweep ends nothing.
    expect((await engine.sweep()).runs).toMatchObject({ ended: 0, failed: 0 });
  });

  it('a run still running is left running, and checked again later', async () => {
    // lk-slow's welcome run waits 3 days in all: a sweep a day on finds it RUNNING and leaves it (and its lock) be.
    const t0 = clock.now().getTime();
    await api.send([identify('lk-slow'), { type: 'track', userId: 'lk-slow', event: 'Signed Up', properties: {} }]);
    await clock.run(t0 + DAY + HOUR);
    const swept = await engine.sweep();
    expect(swept.runs?.checked).toBeGreaterThanOrEqual(1);
    expect((await runsOf(engine, 'lk-slow')).map((r) => [r.journeyId, r.status])).toEqual([['welcome', 'running']]);
    // Its next check is a day on at the earliest: a second sweep does not ask again.
    const again = await engine.sweep();
    expect(again.runs?.checked).toBe(0);
  });

  it('a run whose execution never started (StartExecution failed for good) is ended as failed once no redelivery can start it, and its lock freed', async () => {
    const t0 = clock.now().getTime();
    failingStarts.add('lk-nostart');
    await api.send([identify('lk-nostart'), ping('lk-nostart')]);
    await clock.run(t0 + HOUR);
    expect(executionsOf('lk-nostart')).toEqual([]);
    expect(await pingRuns('lk-nostart')).toEqual(['running']);
    failingStarts.delete('lk-nostart');

    // A day on, Step Functions does not know the execution, but a redelivered trigger could still start it: left.
    await clock.run(t0 + DAY + HOUR);
    expect((await engine.sweep()).runs).toMatchObject({ failed: 0 });
    expect(await pingRuns('lk-nostart')).toEqual(['running']);

    // Past the redelivery window (2 days), at its next check: ended as failed, lock freed, the customer enters again.
    await clock.run(t0 + 3 * DAY + HOUR);
    expect((await engine.sweep()).runs).toMatchObject({ failed: 0 });
    expect(await pingRuns('lk-nostart')).toEqual(['failed']);
    expect(await lockOf('lk-nostart')).toBeUndefined();
    await api.send(ping('lk-nostart'));
    await clock.run(clock.now().getTime() + 10 * 60_000);
    expect((await pingRuns('lk-nostart')).sort()).toEqual(['failed', 'running']);
  });

  it('a lock past its expiry that the table still holds (DynamoDB deletes late, dynalite never) does not block re-entry', async () => {
    // Prepare: a lock left by a run long gone (no run record, no execution), expired a minute ago.
    const now = clock.now().getTime();
    await doc().send(new PutCommand({ TableName: PROFILE_TABLE, Item: { PK: 'C#lk-ttl', SK: 'L#ping#*', itemType: 'lock', executionName: 'ping-long-gone', ttl: Math.floor(now / 1000) - 60 } }));
    // And one still live for another customer: it blocks.
    await doc().send(new PutCommand({ TableName: PROFILE_TABLE, Item: { PK: 'C#lk-live', SK: 'L#ping#*', itemType: 'lock', executionName: 'ping-elsewhere', ttl: Math.floor(now / 1000) + 3600 } }));

    await api.send([identify('lk-ttl'), ping('lk-ttl'), identify('lk-live'), ping('lk-live')]);
    await clock.run(now + 10 * 60_000);

    expect(await pingRuns('lk-ttl')).toEqual(['running']);
    expect(await pingRuns('lk-live')).toEqual([]);
    // The new lock expires after the run's longest life (the compiled maxRunSeconds) and the 2 days a start may take.
    const ping_ = engine.journeys.compiled.find((j) => j.id === 'ping')!;
    expect((await lockOf('lk-ttl'))?.ttl).toBe(Math.ceil(now / 1000) + ping_.maxRunSeconds + 2 * 86_400);
  });
});
