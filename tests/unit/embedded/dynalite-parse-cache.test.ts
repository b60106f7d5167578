/**
 * dynalite with its expression parses kept (`cacheDynaliteParses`, on in every `startDynalite`) answers as
 * dynalite parsing every request: a shape sent again with other values applies those values; an unused name
 * or value, a value of another type, a syntax error and BETWEEN's bounds are refused as before.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../../functions/profile';
import { ensureTable, profileTableDefinition, startDynalite, type LocalDynamo } from '../../../infra/embedded/dynamo';

const TABLE = 'profiles';

describe('dynalite with kept expression parses', () => {
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

  const update = (sk: string, values: Record<string, unknown>, names: Record<string, string> = { '#n': 'n', '#s': 's' }) =>
    doc.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: { PK: 'PC', SK: sk },
        UpdateExpression: 'ADD #n :n SET #s = :s',
        ConditionExpression: 'attribute_not_exists(#s) OR #s < :s',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  const read = async (sk: string) => (await doc.send(new GetCommand({ TableName: TABLE, Key: { PK: 'PC', SK: sk }, ConsistentRead: true }))).Item;

  it('applies each request its own values, conditions included', async () => {
    await update('a', { ':n': 1, ':s': 'b' });
    await update('a', { ':n': 5, ':s': 'c' });
    await expect(update('a', { ':n': 100, ':s': 'a' })).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    expect(await read('a')).toMatchObject({ n: 6, s: 'c' });
  });

  it('refuses what dynalite refuses: an unused value, a value of another type, a syntax error, bounds the wrong way', async () => {
    await update('b', { ':n': 1, ':s': 'x' });
    await expect(update('b', { ':n': 1, ':s': 'y', ':unused': 1 })).rejects.toThrow(/unused in expressions/);
    await expect(update('b', { ':n': 'one', ':s': 'z' })).rejects.toThrow(/Incorrect operand type/);
    await expect(update('b', { ':n': 1, ':s': 'z' }, { '#n': 'n', '#s': 's', '#x': 'x' })).rejects.toThrow(/unused in expressions/);
    const between = (low: string, high: string) =>
      doc.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'PK = :pk AND SK BETWEEN :low AND :high', ExpressionAttributeValues: { ':pk': 'PC', ':low': low, ':high': high } }));
    expect((await between('a', 'z')).Items?.length).toBe(2);
    await expect(between('z', 'a')).rejects.toThrow(/BETWEEN/);
    await expect(
      doc.send(new UpdateCommand({ TableName: TABLE, Key: { PK: 'PC', SK: 'b' }, UpdateExpression: 'ADD #n :n SET', ExpressionAttributeNames: { '#n': 'n' }, ExpressionAttributeValues: { ':n': 1 } })),
    ).rejects.toThrow(/Syntax error/);
    expect(await read('b')).toMatchObject({ n: 1, s: 'x' });
  });
});
