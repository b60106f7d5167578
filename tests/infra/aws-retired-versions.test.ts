/**
 * Runs in flight end by their own version in AWS too (issue 15): the profile consumer's router, as deployed, reads
 * `journeys.json` with the kept older versions (`retired`, from the releases' `journey.json`). Version 2 of welcome
 * changed its goal from `Order Completed` to `Trial Started`: a version 1 run is still converted (and its execution
 * stopped) by an order, a version 2 run is not. Without `retired`, the version 1 run would run on to its offer email.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJourneysFile, type JourneysFile } from '../../functions/journeys/aws';
import { JourneyStore } from '../../functions/journeys/store';
import { documentClient } from '../../functions/profile';
import { JOURNEY_ENV } from '../../shared/config/journey-env';
import { ACCOUNT, busEvent, REGION, startAwsStandIn, TABLE, type AwsStandIn } from '../helpers/aws';
import { ev } from '../helpers/events';

const lambdaContext = { functionName: 'rapport-profile', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;
const ROOT = path.join(import.meta.dirname, '..', '..');

describe('AWS router: runs of an older journey version end by that version', () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'rapport-retired-'));
  let aws: AwsStandIn;
  let handler: (event: EventBridgeEvent<string, unknown>, context: Context) => Promise<unknown>;
  let store: JourneyStore;

  beforeAll(async () => {
    // journeys.json as synth writes it after welcome's goal changed in version 2, with version 1 kept.
    const v1 = JSON.parse(readFileSync(path.join(ROOT, 'workflows/releases/welcome/v1/journey.json'), 'utf8')) as JourneysFile['journeys'][number];
    const v2 = { ...v1, version: 2, goalPatterns: [{ source: ['rapport.ingest'], 'detail-type': ['Trial Started'] }] };
    const file = path.join(scratch, 'journeys.json');
    writeFileSync(file, JSON.stringify({ format: 1, journeys: [v2], retired: [v1] }));
    expect(readJourneysFile(file).retired.map((j) => `${j.id} v${j.version}`)).toEqual(['welcome v1']);
    aws = await startAwsStandIn({ env: { [JOURNEY_ENV.JOURNEYS_FILE]: file } });
    store = new JourneyStore(documentClient(aws.dynamo.client), TABLE);
    ({ handler } = (await import('../../functions/profile/consumer-handler')) as unknown as { handler: typeof handler });
  }, 60_000);

  afterAll(async () => {
    await aws.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  const run = (customerId: string, version: number) =>
    store.putRun({ journeyId: 'welcome', executionName: `welcome-${customerId}`, customerId, key: 'welcome', status: 'running', startedAt: '2026-11-20T10:00:00.000Z', triggerMessageId: `signup-${customerId}`, version });

  it("converts a version 1 run on version 1's goal and stops its execution", async () => {
    await run('rv-1', 1);
    aws.calls.length = 0;
    await handler(busEvent(ev('Order Completed', '2026-11-21T10:00:00Z', { orderId: 'o-rv-1', total: 20 }, { userId: 'rv-1' })), lambdaContext);
    expect(aws.sfnCalls()).toEqual([
      { target: 'AWSStepFunctions.StopExecution', body: { executionArn: `arn:aws:states:${REGION}:${ACCOUNT}:execution:Rapport-test_welcome:welcome-rv-1`, cause: expect.stringMatching(/^goal: Order Completed/) } },
    ]);
    expect((await store.runs('rv-1', 'welcome')).map((r) => r.status)).toEqual(['converted']);
  });

  it('leaves a version 2 run running: its goal is another event', async () => {
    await run('rv-2', 2);
    aws.calls.length = 0;
    await handler(busEvent(ev('Order Completed', '2026-11-21T10:00:00Z', { orderId: 'o-rv-2', total: 20 }, { userId: 'rv-2' })), lambdaContext);
    expect(aws.sfnCalls()).toEqual([]);
    expect((await store.runs('rv-2', 'welcome')).map((r) => r.status)).toEqual(['running']);
  });
});
