/**
 * `JourneyStore.countEntry` counts a run's entry exactly once when the starter dies between any two of its
 * writes and the trigger is delivered again (the bus redelivers after a crash; Lambda retries): the crash is a
 * client that fails every call after the n-th, the redelivery the starter's path for a run found `entryPending`.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JourneyStore, type RunRecord } from '../../../functions/journeys/store';
import { documentClient } from '../../../functions/profile';
import { ensureTable, profileTableDefinition, startDynalite, type LocalDynamo } from '../../../infra/embedded/dynamo';
import { dyingAfter } from '../../helpers/dying-client';

const TABLE = 'profiles';

describe('JourneyStore.countEntry across a crash', () => {
  let dynamo: LocalDynamo;
  let doc: DynamoDBDocumentClient;

  beforeAll(async () => {
    dynamo = await startDynalite();
    await ensureTable(dynamo.client, profileTableDefinition(TABLE));
    doc = documentClient(dynamo.client);
  });
  afterAll(async () => {
    await dynamo.close();
  });

  const run = (journeyId: string, n: number): RunRecord => ({
    journeyId,
    executionName: `${journeyId}-exec-${n}`,
    customerId: `c-${n}`,
    key: '*',
    status: 'running',
    startedAt: '2026-01-01T00:00:00.000Z',
    triggerMessageId: `m-${n}`,
    entryPending: true,
  });

  // countEntry makes 4 calls; a crash before each of them, and none.
  for (const allowed of [0, 1, 2, 3, 4]) {
    it(`counts once when the first attempt dies after ${allowed} of its 4 writes and the trigger is redelivered`, async () => {
      // Prepare: the run is recorded, pending (the starter's putRun), and another run of the journey is counted already.
      const journeyId = `j${allowed}`;
      const store = new JourneyStore(doc, TABLE);
      await store.putRun(run(journeyId, 0));
      await store.countEntry(run(journeyId, 0));
      await store.putRun(run(journeyId, 1));

      // Act: the first attempt dies part-way; the redelivery finds the run and finishes the count while it is pending.
      await new JourneyStore(dyingAfter(doc, allowed), TABLE).countEntry(run(journeyId, 1)).catch(() => undefined);
      const found = (await store.runs('c-1', journeyId))[0]!;
      if (found.entryPending) await store.countEntry(found);
      // A third delivery finds nothing left to count.
      const again = (await store.runs('c-1', journeyId))[0]!;
      if (again.entryPending) await store.countEntry(again);

      // Assess
      expect(await store.stats(journeyId)).toEqual({ entered: 2 });
      expect(again.entryPending).toBeUndefined();
    });
  }

  // creditConversion reads, writes the credit, then counts in four writes: 6 calls. A crash before each, and none.
  for (const allowed of [0, 1, 2, 3, 4, 5, 6]) {
    it(`credits a conversion once when the first attempt dies after ${allowed} of its 6 calls and the order is redelivered`, async () => {
      const journeyId = `a${allowed}`;
      const store = new JourneyStore(doc, TABLE);
      const credit = { journeyId, stepId: 'send-welcome', channel: 'email', executionName: `${journeyId}-exec`, messageAt: '2026-01-01T00:00:00.000Z', convertedAt: '2026-01-01T02:00:00.000Z', value: 42.5 };
      await new JourneyStore(dyingAfter(doc, allowed), TABLE).creditConversion('c-a', `shop/order-${allowed}`, credit).catch(() => undefined);
      // The redelivery finds the credit (pending or not) and finishes it; a third delivery finds nothing to do.
      for (let delivery = 0; delivery < 2; delivery++) {
        const found = await store.attribution('c-a', `shop/order-${allowed}`);
        if (!found) await store.creditConversion('c-a', `shop/order-${allowed}`, credit);
        else if (found.pending) await store.creditConversion('c-a', `shop/order-${allowed}`, found);
      }
      expect(await store.stats(journeyId)).toEqual({
        'attribution.conversions': 1,
        'attribution.revenue': 42.5,
        'send-welcome.attribution.conversions': 1,
        'send-welcome.attribution.revenue': 42.5,
        'channel.email.attribution.conversions': 1,
        'channel.email.attribution.revenue': 42.5,
      });
      expect((await store.attribution('c-a', `shop/order-${allowed}`))?.pending).toBeUndefined();
    });
  }
});
