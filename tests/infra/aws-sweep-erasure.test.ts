import type { Context } from 'aws-lambda';
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient, ProfileStore } from '../../functions/profile';
import { startAwsStandIn, TABLE, type AwsStandIn } from '../helpers/aws';
import { profileItemsOf } from '../helpers/engine';

/**
 * The sweep's Lambda entry point as deployed (functions/profile/sweep-handler.ts), configured only by the environment
 * the stack sets, against dynalite: an erasure interrupted before its first tombstone and never retried (its progress
 * items, naming the customer's ids, are all that is left of it) is finished once it is over an hour old.
 */

const lambdaContext = { functionName: 'rapport-sweep', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 900_000 } as unknown as Context;

describe('AWS sweep: finishes interrupted erasures', () => {
  let aws: AwsStandIn;
  let handler: (event: unknown, context: Context) => Promise<{ erasures?: { resumed: number; failed: number } }>;

  beforeAll(async () => {
    aws = await startAwsStandIn();
    ({ handler } = (await import('../../functions/profile/sweep-handler')) as unknown as { handler: typeof handler });
  }, 60_000);
  afterAll(() => aws.close());

  it('an erasure that failed at its first tombstone two hours ago: its items deleted, its tombstone completed', async () => {
    const id = 'aws-sweep-erase-8812';
    const doc = documentClient(aws.dynamo.client);
    await doc.send(new PutCommand({ TableName: TABLE, Item: { PK: `C#${id}`, SK: 'K#email', itemType: 'consent-hold' } }));
    // The DELETE two hours ago: its progress written, its first tombstone refused.
    const failing = {
      send: (command: unknown) => {
        const item = (command as { input?: { Item?: { itemType?: unknown } } }).input?.Item;
        if (command instanceof PutCommand && item?.itemType === 'tombstone') return Promise.reject(new Error('InternalServerError'));
        return doc.send(command as never);
      },
    } as unknown as DynamoDBDocumentClient;
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    await expect(new ProfileStore(failing, TABLE).erase(id, { now: () => twoHoursAgo })).rejects.toThrow('InternalServerError');
    expect(await profileItemsOf(aws.dynamo.client, TABLE, (text) => text.includes(id))).not.toEqual([]);

    const result = await handler({}, lambdaContext);

    expect(result.erasures).toEqual({ resumed: 1, failed: 0 });
    expect(await profileItemsOf(aws.dynamo.client, TABLE, (text) => text.includes(id))).toEqual([]);
    expect((await new ProfileStore(doc, TABLE).tombstone(id, new Date()))?.completedAt).toBeDefined();
  });
});
