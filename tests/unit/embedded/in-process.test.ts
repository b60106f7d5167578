import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ResourceNotFoundException,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import dynalite from 'dynalite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTable, LOCAL_AWS, startDynalite, type LocalDynamo } from '../../../infra/embedded/dynamo';
import { eventBridgeApiListener, LocalEventBus, serveEventBridgeApi } from '../../../infra/embedded/event-bus';
import { DYNALITE_UNSIGNED_HEADERS, inProcessClientConfig, type RequestListener } from '../../../infra/embedded/in-process';

const TABLE = 'things';

/** What a caller can observe of a failed call: the same over HTTP and in process. */
function observed(error: unknown) {
  const e = error as { name: string; message: string; $fault: string; $metadata: { httpStatusCode?: number }; Item?: unknown };
  return { name: e.name, message: e.message, fault: e.$fault, status: e.$metadata.httpStatusCode, item: e.Item };
}

async function failure(call: Promise<unknown>) {
  try {
    await call;
  } catch (error) {
    return error;
  }
  throw new Error('the call succeeded');
}

describe('in-process DynamoDB client (dynalite without HTTP)', () => {
  let dynamo: LocalDynamo;
  let http: DynamoDBClient;

  beforeAll(async () => {
    dynamo = await startDynalite();
    await ensureTable(dynamo.client, { TableName: TABLE, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] });
    // The same dynalite over HTTP with SigV4: the reference every in-process answer must match.
    http = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint, maxAttempts: 1 });
  });
  afterAll(async () => {
    http.destroy();
    await dynamo.close();
  });

  const both = () => [
    ['http', http],
    ['in-process', dynamo.client],
  ] as const;

  // dynalite 4 ignores ReturnValuesOnConditionCheckFailure (no Item in the error, over HTTP either): asked for, it must
  // still come back the same both ways.
  it('answers a failed condition with ConditionalCheckFailedException, as over HTTP', async () => {
    await dynamo.client.send(new PutItemCommand({ TableName: TABLE, Item: { id: { S: 'c1' }, v: { N: '1' } } }));
    const results = [];
    for (const [, client] of both()) {
      const error = await failure(
        client.send(new PutItemCommand({ TableName: TABLE, Item: { id: { S: 'c1' }, v: { N: '2' } }, ConditionExpression: 'attribute_not_exists(id)', ReturnValuesOnConditionCheckFailure: 'ALL_OLD' })),
      );
      expect(error).toBeInstanceOf(ConditionalCheckFailedException);
      results.push(observed(error));
    }
    expect(results[0]).toMatchObject({ name: 'ConditionalCheckFailedException', message: 'The conditional request failed', status: 400, fault: 'client' });
    expect(results[1]).toEqual(results[0]);
  });

  it('answers a missing table with ResourceNotFoundException, as over HTTP', async () => {
    const results = [];
    for (const [, client] of both()) {
      const error = await failure(client.send(new GetItemCommand({ TableName: 'no-such-table', Key: { id: { S: 'x' } } })));
      expect(error).toBeInstanceOf(ResourceNotFoundException);
      results.push(observed(error));
    }
    expect(results[0]).toMatchObject({ status: 400 });
    expect(results[1]).toEqual(results[0]);
  });

  it('answers an invalid request with a 400 ValidationException naming the problem, as over HTTP', async () => {
    const results = [];
    for (const [, client] of both()) {
      // The key attribute has the wrong type.
      results.push(observed(await failure(client.send(new PutItemCommand({ TableName: TABLE, Item: { id: { N: '7' } } })))));
    }
    expect(results[0]).toMatchObject({ name: 'ValidationException', status: 400, fault: 'client' });
    expect(results[0]!.message).toMatch(/key/i);
    expect(results[1]).toEqual(results[0]);
  });

  it('round-trips an item just under the 400 KB limit and refuses one over it, as over HTTP', async () => {
    const big = 'x'.repeat(399 * 1024);
    await dynamo.client.send(new PutItemCommand({ TableName: TABLE, Item: { id: { S: 'big' }, body: { S: big } } }));
    const [viaHttp, inProcess] = await Promise.all(both().map(([, c]) => c.send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: 'big' } } }))));
    expect(inProcess!.Item?.body?.S).toBe(big);
    expect(inProcess!.Item).toEqual(viaHttp!.Item);

    const results = [];
    for (const [, client] of both()) results.push(observed(await failure(client.send(new PutItemCommand({ TableName: TABLE, Item: { id: { S: 'too-big' }, body: { S: 'y'.repeat(401 * 1024) } } })))));
    expect(results[0]).toMatchObject({ name: 'ValidationException', status: 400 });
    expect(results[0]!.message).toMatch(/size/i);
    expect(results[1]).toEqual(results[0]);
  });

  it('keeps binary attributes byte for byte (bytes that are not UTF-8 included)', async () => {
    const bytes = Uint8Array.from([0x00, 0xff, 0xfe, 0xc3, 0x28, 0x80, ...randomBytes(2048)]);
    const set = [Uint8Array.from([0xde, 0xad]), Uint8Array.from([0xbe, 0xef, 0x00])];
    const item: Record<string, AttributeValue> = { id: { S: 'bin' }, b: { B: bytes }, bs: { BS: set }, text: { S: 'Zoë 😀 \u0000 end' } };
    await dynamo.client.send(new PutItemCommand({ TableName: TABLE, Item: item }));
    for (const [, client] of both()) {
      const { Item } = await client.send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: 'bin' } } }));
      expect(Buffer.from(Item!.b!.B!).equals(Buffer.from(bytes))).toBe(true);
      expect(Item!.bs!.BS!.map((b) => Buffer.from(b).toString('hex')).sort()).toEqual(set.map((b) => Buffer.from(b).toString('hex')).sort());
      expect(Item!.text!.S).toBe('Zoë 😀 \u0000 end');
    }
  });

  it('needs no socket and signs nothing: it works on a dynalite that never listens', async () => {
    const server = dynalite({ createTableMs: 0 });
    const listener = server.listeners('request')[0] as RequestListener;
    const seen: IncomingMessage['headers'][] = [];
    const spy: RequestListener = (req, res) => {
      seen.push(req.headers);
      listener(req, res);
    };
    const client = new DynamoDBClient({ ...inProcessClientConfig(spy, { service: 'dynamodb', fixedHeaders: DYNALITE_UNSIGNED_HEADERS }), maxAttempts: 1 });
    await ensureTable(client, { TableName: TABLE, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] });
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { id: { S: 'a' } } }));
    expect((await client.send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: 'a' } } }))).Item).toEqual({ id: { S: 'a' } });
    expect(server.listening).toBe(false);
    expect(seen.map((h) => h['x-amz-target'])).toEqual(expect.arrayContaining(['DynamoDB_20120810.CreateTable', 'DynamoDB_20120810.PutItem', 'DynamoDB_20120810.GetItem']));
    for (const headers of seen) {
      expect(headers.authorization).toBe(DYNALITE_UNSIGNED_HEADERS.authorization);
      expect(headers['x-amz-content-sha256']).toBeUndefined();
    }
    client.destroy();
  });

  it('fails the call, and keeps the process up, when the service listener throws', async () => {
    const client = new DynamoDBClient({
      ...inProcessClientConfig((req: IncomingMessage, _res: ServerResponse) => req.on('end', () => { throw new Error('listener broke'); }), { service: 'dynamodb' }),
      maxAttempts: 1,
    });
    await expect(client.send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: 'a' } } }))).rejects.toThrow('listener broke');
    client.destroy();
  });
});

describe('in-process EventBridge client (the local bus without HTTP)', () => {
  const entry = (i: number) => ({ Source: 'rapport.test', DetailType: 'Thing Happened', Detail: JSON.stringify({ i }), EventBusName: 'rapport' });

  it('publishes to the bus and refuses an over-limit call with the same ValidationException as over HTTP', async () => {
    const bus = new LocalEventBus();
    const inProcess = new EventBridgeClient({ ...inProcessClientConfig(eventBridgeApiListener(bus), { service: 'events' }), maxAttempts: 1 });
    const api = await serveEventBridgeApi(bus);
    const http = new EventBridgeClient({ ...LOCAL_AWS, endpoint: api.endpoint, maxAttempts: 1 });
    try {
      const at = new Date('2026-03-04T05:06:07Z');
      const answer = await inProcess.send(new PutEventsCommand({ Entries: [{ ...entry(1), Time: at }, entry(2)] }));
      expect(answer.FailedEntryCount).toBe(0);
      expect(answer.Entries?.map((e) => e.EventId)).toEqual(bus.log.map((e) => e.id));
      expect(bus.log.map((e) => [e.detail, e['detail-type']])).toEqual([
        [{ i: 1 }, 'Thing Happened'],
        [{ i: 2 }, 'Thing Happened'],
      ]);
      expect(bus.log[0]!.time).toBe('2026-03-04T05:06:07Z');

      const tooMany = Array.from({ length: 11 }, (_, i) => entry(i));
      const errors = [];
      for (const client of [http, inProcess]) errors.push(observed(await failure(client.send(new PutEventsCommand({ Entries: tooMany })))));
      expect(errors[0]).toMatchObject({ name: 'ValidationException', status: 400, message: 'PutEvents takes 1 to 10 entries, got 11' });
      expect(errors[1]).toEqual(errors[0]);
      expect(bus.log).toHaveLength(2);
    } finally {
      inProcess.destroy();
      http.destroy();
      api.server.closeAllConnections();
      await new Promise<void>((resolve) => api.server.close(() => resolve()));
    }
  });
});
