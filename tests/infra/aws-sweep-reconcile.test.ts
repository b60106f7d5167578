import type { Context } from 'aws-lambda';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/profile';
import { JourneyStore, type RunRecord } from '../../functions/journeys/store';
import { ACCOUNT, REGION, startAwsStandIn, TABLE, type AwsStandIn } from '../helpers/aws';

/**
 * The sweep's Lambda entry point as deployed (functions/profile/sweep-handler.ts), configured only by
 * the environment the stack sets (the state machine ARN prefix included), against dynalite; a stand-in
 * answers DescribeExecution as Step Functions would. Runs whose "Execution Status Change" event was
 * lost are ended as that event would have ended them, and their locks freed.
 */

const lambdaContext = { functionName: 'rapport-sweep', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 900_000 } as unknown as Context;
const executionArn = (journeyId: string, name: string) => `arn:aws:states:${REGION}:${ACCOUNT}:execution:Rapport-test_${journeyId}:${name}`;
const DAY = 86_400_000;

describe('AWS sweep: reconciles journey runs with DescribeExecution', () => {
  let aws: AwsStandIn;
  let store: JourneyStore;
  let handler: (event: unknown, context: Context) => Promise<{ runs?: { checked: number; ended: number; failed: number; corrected?: number } }>;
  const answers = new Map<string, { status: string; output?: unknown; stopDate?: Date }>();

  beforeAll(async () => {
    aws = await startAwsStandIn({ onDescribeExecution: (arn) => answers.get(arn) ?? 'missing' });
    store = new JourneyStore(documentClient(aws.dynamo.client), TABLE);
    ({ handler } = (await import('../../functions/profile/sweep-handler')) as unknown as { handler: typeof handler });
  }, 60_000);
  afterAll(() => aws.close());

  /** A run recorded `daysAgo` days ago, with its lock, as the starter leaves it (due for its first check a day on). */
  async function runningRun(customerId: string, journeyId: string, name: string, daysAgo: number): Promise<RunRecord> {
    const startedAt = new Date(Date.now() - daysAgo * DAY);
    const run: RunRecord = { journeyId, executionName: name, customerId, key: '*', status: 'running', startedAt: startedAt.toISOString(), triggerMessageId: `t-${name}` };
    expect(await store.lock(customerId, journeyId, '*', name, { now: startedAt, expiresAt: new Date(startedAt.getTime() + 30 * DAY) })).toBe(true);
    await store.putRun(run, new Date(startedAt.getTime() + DAY));
    return run;
  }
  const lockOf = async (customerId: string, journeyId: string) =>
    (await documentClient(aws.dynamo.client).send(new GetCommand({ TableName: TABLE, Key: { PK: `C#${customerId}`, SK: `L#${journeyId}#*` } }))).Item;

  it('ends a run whose execution ended unreported (its exit outcome counted), leaves a running one, ends one that never started past the redelivery window; DescribeExecution by the stage prefix', async () => {
    // Prepare
    await runningRun('sw-exited', 'win-back', 'wb-1', 3);
    answers.set(executionArn('win-back', 'wb-1'), { status: 'SUCCEEDED', output: { end: { outcome: 'exited', reason: 'opted-out' } } });
    await runningRun('sw-running', 'welcome', 'wel-1', 2);
    answers.set(executionArn('welcome', 'wel-1'), { status: 'RUNNING' });
    await runningRun('sw-never', 'welcome', 'wel-2', 3);
    await runningRun('sw-young', 'welcome', 'wel-3', 0.5); // not due: started 12 hours ago
    const exited = (await store.stats('win-back'))['exited.opted-out'] ?? 0;
    aws.calls.length = 0;

    // Act
    const result = await handler({}, lambdaContext);

    // Assess
    expect(result.runs).toEqual({ checked: 3, ended: 2, failed: 0 });
    expect(aws.sfnCalls().map((c) => c.target)).toEqual(Array(3).fill('AWSStepFunctions.DescribeExecution'));
    expect(aws.sfnCalls().map((c) => c.body.executionArn).sort()).toEqual([executionArn('welcome', 'wel-1'), executionArn('welcome', 'wel-2'), executionArn('win-back', 'wb-1')]);
    expect((await store.runs('sw-exited')).map((r) => r.status)).toEqual(['exited']);
    expect((await store.stats('win-back'))['exited.opted-out']).toBe(exited + 1);
    expect(await lockOf('sw-exited', 'win-back')).toBeUndefined();
    expect((await store.runs('sw-running')).map((r) => r.status)).toEqual(['running']);
    expect(await lockOf('sw-running', 'welcome')).toBeDefined();
    expect((await store.runs('sw-never')).map((r) => r.status)).toEqual(['failed']);
    expect(await lockOf('sw-never', 'welcome')).toBeUndefined();
    expect((await store.runs('sw-young')).map((r) => r.status)).toEqual(['running']);

    // A second sweep the same day asks nothing: the running run's next check is a day or more on.
    aws.calls.length = 0;
    expect((await handler({}, lambdaContext)).runs).toEqual({ checked: 0, ended: 0, failed: 0 });
    expect(aws.sfnCalls()).toEqual([]);
  });

  it('a run a goal converted, its status change lost: completed if its execution had succeeded before the goal (stopDate), else left converted; both leave the index', async () => {
    // Prepare: two runs the router ended by a goal an hour and a half ago, due for their check an hour after it.
    const goalAt = new Date(Date.now() - 90 * 60_000);
    const checkEndAt = new Date(goalAt.getTime() + 3_600_000);
    for (const [customerId, name] of [['sw-late-goal', 'wel-4'], ['sw-goal', 'wel-5']] as const) {
      await runningRun(customerId, 'welcome', name, 1);
      await store.endRun(customerId, 'welcome', name, 'converted', goalAt.toISOString(), { messageId: `goal-${name}`, sourceId: 'web', timestamp: goalAt.toISOString() }, undefined, checkEndAt);
      await store.count('welcome', { goal: 1 });
    }
    // wel-4 had succeeded a minute before the goal's time; wel-5 was stopped by it (ABORTED).
    answers.set(executionArn('welcome', 'wel-4'), { status: 'SUCCEEDED', output: {}, stopDate: new Date(goalAt.getTime() - 60_000) });
    answers.set(executionArn('welcome', 'wel-5'), { status: 'ABORTED', stopDate: goalAt });
    const before = await store.stats('welcome');
    aws.calls.length = 0;

    // Act
    const result = await handler({}, lambdaContext);

    // Assess
    expect(result.runs).toEqual({ checked: 2, ended: 0, failed: 0, corrected: 1 });
    expect((await store.runs('sw-late-goal')).map((r) => r.status)).toEqual(['completed']);
    expect((await store.runs('sw-goal')).map((r) => r.status)).toEqual(['converted']);
    const after = await store.stats('welcome');
    expect({ goal: after.goal, completed: after.completed ?? 0 }).toEqual({ goal: (before.goal ?? 0) - 1, completed: (before.completed ?? 0) + 1 });
    aws.calls.length = 0;
    expect((await handler({}, lambdaContext)).runs).toEqual({ checked: 0, ended: 0, failed: 0 });
    expect(aws.sfnCalls()).toEqual([]);
  });
});
