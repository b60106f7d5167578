import dc from 'node:diagnostics_channel';
import { createRequire } from 'node:module';
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  TransactGetItemsCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DeleteCommand, GetCommand, PutCommand, QueryCommand as DocQueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DeserializeMiddleware, HttpRequest, HttpResponse } from '@smithy/types';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { documentClient } from '../../../functions/profile';
import { installAuthorization, type AwsCall } from '../../../infra/embedded/authorization';
import { dynaliteDirect } from '../../../infra/embedded/dynalite-direct';
import { ensureTable, profileTableDefinition, startDynalite, type LocalDynamo } from '../../../infra/embedded/dynamo';
import { installFaults, type DynamoCall } from '../../../infra/embedded/faults';
import { IN_PROCESS_CHANNELS } from '../../../infra/embedded/in-process';
import { invokeLambda } from '../../../infra/embedded/lambda-async';
import { cacheMiddlewareOrder, type MiddlewareOrderStats } from '../../../infra/embedded/middleware-order';

/**
 * The embedded engine's fast DynamoDB calls (dynalite-direct.ts, middleware-order.ts) against the standard path: the
 * same operations on two dynalites, one client each way, must answer the same, byte for byte (but for the random
 * request id), with the same errors, the same middleware run in the same order, the same faults, authorisations and
 * diagnostics messages.
 */

const TABLE = 'things';
const PROFILE = 'profiles';

/** A transcript entry for what a call returned or threw, without the values that are random in any run. */
function outcome(result: PromiseSettledResult<unknown>): unknown {
  if (result.status === 'fulfilled') return { ok: normalise(result.value) };
  const error = result.reason as Error & Record<string, unknown>;
  return {
    error: {
      class: error.constructor.name,
      prototypeChain: prototypeNames(error),
      name: error.name,
      message: error.message,
      own: normalise(Object.fromEntries(Object.entries(error))),
      metadata: normalise(error.$metadata),
      response: error.$response === undefined ? undefined : responseOf(error.$response as HttpResponse),
    },
  };
}
function prototypeNames(value: object): string[] {
  const names: string[] = [];
  for (let p = Object.getPrototypeOf(value) as object | null; p; p = Object.getPrototypeOf(p) as object | null) names.push((p.constructor as { name: string }).name);
  return names;
}
/**
 * Request ids are random, retry delays jittered, table ids and creation times per table, and dynalite shuffles a
 * BatchGetItem's responses on purpose (`Order is pretty random`): sorted here.
 */
function normalise(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalise);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Uint8Array || value instanceof Set) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => {
      if (k === 'Responses' && v !== null && typeof v === 'object' && !Array.isArray(v)) {
        return [k, Object.fromEntries(Object.entries(v).map(([table, items]) => [table, (normalise(items) as unknown[]).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)))]))];
      }
      if (k === 'requestId') return [k, typeof v === 'string' && /^[A-Z0-9]{52}$/.test(v) ? 'REQUEST-ID' : v];
      // A retried call's delay is the SDK's full jitter (random, 0 included); a call not retried has none.
      if (k === 'totalRetryDelay') return [k, typeof v === 'number' && (v > 0 || (value as { attempts?: unknown }).attempts !== 1) ? 'DELAYED' : v];
      if (k === 'CreationDateTime' || k === 'TableId' || k.endsWith('DateTime')) return [k, 'PER-TABLE'];
      return [k, normalise(v)];
    }),
  );
}
const crc32 = createRequire(createRequire(import.meta.url).resolve('dynalite'))('buffer-crc32') as { unsigned(body: string): number };
/** A raw response: its status, headers (CRC32 and length checked against the body) and body (parsed, normalised). */
function responseOf(response: HttpResponse) {
  const { 'x-amzn-requestid': id, 'x-amz-crc32': crc, 'content-length': length, ...headers } = response.headers;
  const text = Buffer.from(response.body as Uint8Array).toString('utf8');
  let body: unknown = text;
  try {
    body = normalise(JSON.parse(text));
  } catch {
    // Not JSON: compared as text.
  }
  return {
    status: response.statusCode,
    reason: response.reason,
    id: id && /^[A-Z0-9]{52}$/.test(id) ? 'REQUEST-ID' : id,
    crc: crc === undefined ? undefined : crc === String(crc32.unsigned(text)) ? 'CRC-OF-BODY' : crc,
    // A table's creation time is as long as its digits: checked against the body.
    length: length === undefined ? undefined : length === String(Buffer.byteLength(text)) ? 'LENGTH-OF-BODY' : length,
    headers,
    body,
  };
}

interface Side {
  dynamo: LocalDynamo;
  /** Each middleware run and each raw response, in order. */
  trace: unknown[];
}

/**
 * Both sides retry as the engine's client does on virtual time (`virtualTime`): the SDK's standard strategy, its
 * decisions, tokens and quota, with a backoff of 1 real ms. The paths compared take the strategy's delays as they
 * come (the fast path hands a call's first retryable error to the SDK's retry middleware), so the SDK's real
 * throttling backoff (up to seconds a call) would only make the fault tests wait on the wall clock.
 */
async function side(fastCalls: boolean): Promise<Side> {
  const dynamo = await startDynalite(undefined, { fastCalls, virtualTime: true });
  await ensureTable(dynamo.client, { TableName: TABLE, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] });
  await ensureTable(dynamo.client, profileTableDefinition(PROFILE));
  const trace: unknown[] = [];
  // The raw response of every attempt, as the deserializer reads it.
  const rawResponse: DeserializeMiddleware<object, object> = (next) => async (args) => {
    const result = await next(args);
    trace.push(responseOf(result.response as HttpResponse));
    return result;
  };
  dynamo.client.middlewareStack.addRelativeTo(
    rawResponse as never,
    { name: 'testRawResponse', relation: 'after', toMiddleware: 'deserializerMiddleware' },
  );
  return { dynamo, trace };
}

/** Middleware of every step and priority and relation, as the cost meter and benchmarks add them: each records its run. */
function addTracers(client: DynamoDBClient, trace: unknown[], tag: string) {
  const tracer = (name: string) => (next: (args: never) => Promise<unknown>, context: { commandName?: string }) => async (args: { input: unknown; request?: unknown }) => {
    trace.push(`${tag}:${name}:${context.commandName}:${JSON.stringify(args.input)}:${(args.request as HttpRequest | undefined)?.headers['x-amz-target'] ?? '-'}`);
    return next(args as never);
  };
  const stack = client.middlewareStack as unknown as {
    add(m: unknown, o: object): void;
    addRelativeTo(m: unknown, o: object): void;
  };
  stack.add(tracer('init-low'), { step: 'initialize', priority: 'low', name: `${tag}InitLow` });
  stack.add(tracer('init-high'), { step: 'initialize', priority: 'high', name: `${tag}InitHigh` });
  stack.add(tracer('serialize'), { step: 'serialize', name: `${tag}Serialize` });
  stack.add(tracer('build'), { step: 'build', name: `${tag}Build` });
  stack.add(tracer('finalize'), { step: 'finalizeRequest', name: `${tag}Finalize` });
  stack.add(tracer('deserialize-low'), { step: 'deserialize', priority: 'low', name: `${tag}DeserializeLow` });
  stack.addRelativeTo(tracer('before-serializer'), { relation: 'before', toMiddleware: 'serializerMiddleware', name: `${tag}BeforeSerializer` });
  stack.addRelativeTo(tracer('after-retry'), { relation: 'after', toMiddleware: 'retryMiddleware', name: `${tag}AfterRetry` });
  stack.addRelativeTo(tracer('before-tracer'), { relation: 'before', toMiddleware: `${tag}Build`, name: `${tag}BeforeBuild` });
}

const key = (id: string) => ({ id: { S: id } });

/** The operations, each through the raw client and the Document client, successes and every kind of failure. */
function operations(client: DynamoDBClient) {
  const doc = documentClient(client);
  const big = 'x'.repeat(410 * 1024);
  return [
    () => client.send(new PutItemCommand({ TableName: TABLE, Item: { ...key('a'), n: { N: '1' }, s: { SS: ['x', 'y'] }, m: { M: { l: { L: [{ N: '1' }, { BOOL: true }, { NULL: true }] } } } } })),
    () => client.send(new GetItemCommand({ TableName: TABLE, Key: key('a'), ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' })),
    () => client.send(new GetItemCommand({ TableName: TABLE, Key: key('nobody') })),
    () => client.send(new UpdateItemCommand({ TableName: TABLE, Key: key('a'), UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': { N: '1' } }, ReturnValues: 'ALL_NEW' })),
    // ConditionalCheckFailedException, with and without the old item asked for.
    () => client.send(new PutItemCommand({ TableName: TABLE, Item: key('a'), ConditionExpression: 'attribute_not_exists(id)' })),
    () => client.send(new UpdateItemCommand({ TableName: TABLE, Key: key('a'), UpdateExpression: 'SET n = :n', ConditionExpression: 'n = :zero', ExpressionAttributeValues: { ':n': { N: '5' }, ':zero': { N: '0' } }, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' })),
    () => client.send(new DeleteItemCommand({ TableName: TABLE, Key: key('a'), ConditionExpression: 'attribute_exists(nope)' })),
    // ValidationException: a wrong key type, an unused value, a syntax error, an empty update, an item too large.
    () => client.send(new GetItemCommand({ TableName: TABLE, Key: { id: { N: '1' } } })),
    () => client.send(new UpdateItemCommand({ TableName: TABLE, Key: key('a'), UpdateExpression: 'SET n = :n', ExpressionAttributeValues: { ':n': { N: '1' }, ':unused': { S: 'u' } } })),
    () => client.send(new UpdateItemCommand({ TableName: TABLE, Key: key('a'), UpdateExpression: 'SET SET n = :n', ExpressionAttributeValues: { ':n': { N: '1' } } })),
    () => client.send(new UpdateItemCommand({ TableName: TABLE, Key: key('a'), UpdateExpression: '' })),
    () => client.send(new PutItemCommand({ TableName: TABLE, Item: { ...key('big'), v: { S: big } } })),
    // SerializationException (a number where a string goes), ResourceNotFoundException, ResourceInUseException.
    () => client.send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: 5 as unknown as string } } })),
    () => client.send(new GetItemCommand({ TableName: TABLE, Key: key('a'), ConsistentRead: 'yes' as unknown as boolean })),
    () => client.send(new ScanCommand({ TableName: TABLE, Limit: 'many' as unknown as number })),
    () => client.send(new GetItemCommand({ TableName: 'no-such-table', Key: key('x') })),
    () => client.send(new CreateTableCommand({ TableName: TABLE, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] })),
    () => client.send(new DescribeTableCommand({ TableName: PROFILE })),
    // Transactions: dynalite 4 does not serve them (UnknownOperationException), the same both ways.
    () => client.send(new TransactWriteItemsCommand({ TransactItems: [{ Put: { TableName: TABLE, Item: key('t') } }] })),
    () => client.send(new TransactGetItemsCommand({ TransactItems: [{ Get: { TableName: TABLE, Key: key('t') } }] })),
    () => doc.send(new TransactWriteCommand({ TransactItems: [{ Put: { TableName: TABLE, Item: { id: 't' } } }] })),
    // Batches, queries, scans, through the index too.
    () => client.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: Array.from({ length: 5 }, (_, i) => ({ PutRequest: { Item: { ...key(`b${i}`), i: { N: String(i) } } } })) } })),
    () => client.send(new BatchGetItemCommand({ RequestItems: { [TABLE]: { Keys: [key('b1'), key('b3'), key('none')] } }, ReturnConsumedCapacity: 'INDEXES' })),
    () => client.send(new ScanCommand({ TableName: TABLE, Limit: 3, FilterExpression: 'i > :one', ExpressionAttributeValues: { ':one': { N: '1' } } })),
    () => doc.send(new PutCommand({ TableName: PROFILE, Item: { pk: 'C#1', sk: 'P', dueAt: '2026-01-01', due: 'D', name: 'x', tags: new Set(['a']), n: 1.5, nested: { a: [1, 'b', null] } } })),
    () => doc.send(new PutCommand({ TableName: PROFILE, Item: { pk: 'C#1', sk: 'E#2', v: undefined } })),
    () => doc.send(new GetCommand({ TableName: PROFILE, Key: { pk: 'C#1', sk: 'P' } })),
    () => doc.send(new UpdateCommand({ TableName: PROFILE, Key: { pk: 'C#1', sk: 'P' }, UpdateExpression: 'SET #n = :n', ConditionExpression: 'attribute_exists(pk)', ExpressionAttributeNames: { '#n': 'name' }, ExpressionAttributeValues: { ':n': 'y' }, ReturnValues: 'UPDATED_OLD' })),
    () => doc.send(new UpdateCommand({ TableName: PROFILE, Key: { pk: 'C#2', sk: 'P' }, UpdateExpression: 'SET #n = :n', ConditionExpression: 'attribute_exists(pk)', ExpressionAttributeNames: { '#n': 'name' }, ExpressionAttributeValues: { ':n': 'y' } })),
    () => doc.send(new DocQueryCommand({ TableName: PROFILE, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :e)', ExpressionAttributeValues: { ':pk': 'C#1', ':e': 'E#' }, ScanIndexForward: false, ReturnConsumedCapacity: 'TOTAL' })),
    () => client.send(new QueryCommand({ TableName: PROFILE, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: 'C#1' } }, Limit: 1 })),
    () => doc.send(new BatchWriteCommand({ RequestItems: { [PROFILE]: [{ PutRequest: { Item: { pk: 'C#3', sk: 'P' } } }, { DeleteRequest: { Key: { pk: 'C#1', sk: 'E#2' } } }] } })),
    () => doc.send(new BatchGetCommand({ RequestItems: { [PROFILE]: { Keys: [{ pk: 'C#3', sk: 'P' }, { pk: 'C#1', sk: 'E#2' }] } } })),
    () => doc.send(new DeleteCommand({ TableName: PROFILE, Key: { pk: 'C#3', sk: 'P' }, ReturnValues: 'ALL_OLD' })),
    // The Document client's own refusals (before any request).
    () => doc.send(new PutCommand({ TableName: PROFILE, Item: { pk: 'C#4', sk: 'P', bad: Number.NaN } })),
    // Binary attributes (base64 on the wire, bytes in the answer), both clients, also as a set and in an update's answer.
    () => client.send(new PutItemCommand({ TableName: TABLE, Item: { ...key('bin'), b: { B: new Uint8Array([0, 1, 2, 255]) }, bs: { BS: [new Uint8Array([1]), new Uint8Array([2, 3])] }, l: { L: [{ B: new Uint8Array(300).fill(7) }] } } })),
    () => client.send(new GetItemCommand({ TableName: TABLE, Key: key('bin') })),
    () => client.send(new UpdateItemCommand({ TableName: TABLE, Key: key('bin'), UpdateExpression: 'SET b2 = :b', ExpressionAttributeValues: { ':b': { B: Buffer.from('héllo') } }, ReturnValues: 'ALL_NEW' })),
    () => doc.send(new PutCommand({ TableName: PROFILE, Item: { pk: 'C#5', sk: 'P', bin: new Uint8Array([9, 8, 7]), bins: new Set([new Uint8Array([1]), new Uint8Array([2])]) } })),
    () => doc.send(new GetCommand({ TableName: PROFILE, Key: { pk: 'C#5', sk: 'P' } })),
    () => doc.send(new PutCommand({ TableName: PROFILE, Item: { pk: 'C#5', sk: 'E', empty: new Uint8Array(0) } })),
    // A large item (just under the 400 KB limit) written and read back, then asked for by a query.
    () => client.send(new PutItemCommand({ TableName: TABLE, Item: { ...key('large'), v: { S: 'y'.repeat(399 * 1024) } } })),
    () => client.send(new GetItemCommand({ TableName: TABLE, Key: key('large') })),
    () => doc.send(new GetCommand({ TableName: TABLE, Key: { id: 'large' }, ProjectionExpression: 'id' })),
  ];
}

async function transcript(s: Side, ops: Array<() => Promise<unknown>>, concurrently = false) {
  const results = concurrently ? await Promise.allSettled(ops.map((op) => op())) : [];
  if (!concurrently) for (const op of ops) results.push(...(await Promise.allSettled([op()])));
  return results.map(outcome);
}

describe('fast in-process DynamoDB calls answer as the standard path does', () => {
  let fast: Side;
  let standard: Side;
  beforeAll(async () => {
    [fast, standard] = await Promise.all([side(true), side(false)]);
  });
  afterAll(async () => {
    await Promise.all([fast.dynamo.close(), standard.dynamo.close()]);
  });

  const both = async (ops: (client: DynamoDBClient) => Array<() => Promise<unknown>>, concurrently = false) => {
    const a = await transcript(fast, ops(fast.dynamo.client), concurrently);
    const b = await transcript(standard, ops(standard.dynamo.client), concurrently);
    expect(a).toEqual(b);
    // Concurrent calls answer in the order dynalite's event loop turns: their raw responses compared as a set.
    const inOrder = (trace: unknown[]) => (concurrently ? trace.map((t) => JSON.stringify(t)).sort() : trace);
    const traced = fast.trace.splice(0);
    expect(inOrder(traced)).toEqual(inOrder(standard.trace.splice(0)));
    expect(traced.length).toBeGreaterThanOrEqual(a.length - 1);
    return a;
  };

  it('answers every operation, and fails every failing one, the same, raw responses and all', async () => {
    const results = (await both(operations)) as Array<{ error?: { name: string } }>;
    const errors = results.map((r) => r.error?.name).filter(Boolean);
    // The kinds the comparison covers.
    for (const name of ['ConditionalCheckFailedException', 'ValidationException', 'SerializationException', 'ResourceNotFoundException', 'ResourceInUseException', 'UnknownOperationException', 'Error']) {
      expect(errors).toContain(name);
    }
  });

  it('runs middleware added at run time (every step, priority and relation) in the same order, before and after each change', async () => {
    await both((client) => {
      addTracers(client, fast.dynamo.client === client ? fast.trace : standard.trace, 'one');
      return operations(client).slice(0, 8);
    });
    await both((client) => {
      addTracers(client, fast.dynamo.client === client ? fast.trace : standard.trace, 'two');
      (client.middlewareStack as unknown as { remove(name: string): boolean }).remove('oneSerialize');
      return operations(client).slice(20, 30);
    });
  });

  it('answers concurrent calls the same', async () => {
    // Each call's own context and middleware, whatever the interleaving: no two calls race for one item (dynalite
    // would order them as its event loop turns, which is not what is compared here).
    const ops = (client: DynamoDBClient) => {
      const doc = documentClient(client);
      return Array.from({ length: 24 }, (_, i) => () =>
        i % 3 === 0
          ? doc.send(new UpdateCommand({ TableName: TABLE, Key: { id: `u${i}` }, UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': i }, ReturnValues: 'ALL_NEW' }))
          : i % 3 === 1
            ? doc.send(new PutCommand({ TableName: TABLE, Item: { id: i % 2 ? `b${i % 5}` : `c${i}` }, ConditionExpression: 'attribute_not_exists(id)' }))
            : doc.send(new GetCommand({ TableName: TABLE, Key: { id: i % 4 === 0 ? 'a' : `missing${i}` }, ConsistentRead: true })),
      );
    };
    await both(ops, true);
    const reads = (client: DynamoDBClient) => Array.from({ length: 16 }, (_, i) => () => documentClient(client).send(new GetCommand({ TableName: TABLE, Key: { id: i % 2 ? `u${i * 3}` : `c${i}` } })));
    await both(reads, true);
  });

  it('injects the same faults, retried the same (faults.ts, after the retry middleware)', async () => {
    const decide = (call: DynamoCall) =>
      call.n % 4 === 1 ? ('ThrottlingException' as const) : call.n % 7 === 0 ? { error: 'InternalServerError' as const, afterWrite: true } : call.n === 10 ? ('ProvisionedThroughputExceededException' as const) : undefined;
    const seen = new Map<DynamoDBClient, string[]>();
    await both((client) => {
      const calls: string[] = [];
      seen.set(client, calls);
      installFaults({ dynamo: client, eventBridge: {} as never, bus: {} as never, outbox: {} as never }, { dynamo: (call) => (calls.push(`${call.operation} ${call.table} ${JSON.stringify(call.input)} #${call.n}`), decide(call)) });
      const doc = documentClient(client);
      return [
        ...operations(client).slice(0, 6),
        () => doc.send(new UpdateCommand({ TableName: TABLE, Key: { id: 'f' }, UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': 1 }, ReturnValues: 'ALL_NEW' })),
        () => doc.send(new GetCommand({ TableName: TABLE, Key: { id: 'f' } })),
      ];
    });
    const [a, b] = [...seen.values()];
    expect(a!.length).toBeGreaterThan(8);
    expect(a).toEqual(b);
    (fast.dynamo.client.middlewareStack as unknown as { remove(name: string): boolean }).remove('rapportInjectedDynamoFaults');
    (standard.dynamo.client.middlewareStack as unknown as { remove(name: string): boolean }).remove('rapportInjectedDynamoFaults');
  });

  it("surfaces a throttling error after the SDK's retries, the same (faults.ts on every attempt)", async () => {
    const seen = new Map<DynamoDBClient, string[]>();
    const results = await both((client) => {
      const calls: string[] = [];
      seen.set(client, calls);
      installFaults(
        { dynamo: client, eventBridge: {} as never, bus: {} as never, outbox: {} as never },
        {
          dynamo: (call) => {
            const id = JSON.stringify(call.input.Key ?? call.input.Item ?? '');
            calls.push(`${call.operation} ${id} #${call.n}`);
            if (id.includes('hot')) return 'ThrottlingException';
            if (id.includes('flaky') && call.n % 2 === 0) return 'InternalServerError';
            return undefined;
          },
        },
      );
      const doc = documentClient(client);
      return [
        () => doc.send(new PutCommand({ TableName: TABLE, Item: { id: 'hot', v: 1 } })),
        () => doc.send(new PutCommand({ TableName: TABLE, Item: { id: 'flaky' }, ConditionExpression: 'attribute_not_exists(id)' })),
        () => doc.send(new PutCommand({ TableName: TABLE, Item: { id: 'flaky' }, ConditionExpression: 'attribute_not_exists(id)' })),
        () => doc.send(new GetCommand({ TableName: TABLE, Key: { id: 'cool' } })),
      ];
    });
    // The throttled call failed after the SDK's three attempts; the flaky write succeeded on its second, then its
    // condition failed on the second call's second attempt (not retried); the cool read went through at once.
    expect(results[0]).toMatchObject({ error: { name: 'ThrottlingException', metadata: { attempts: 3, totalRetryDelay: 'DELAYED' } } });
    expect(results[1]).toMatchObject({ ok: { $metadata: { attempts: 2, totalRetryDelay: 'DELAYED' } } });
    expect(results[2]).toMatchObject({ error: { name: 'ConditionalCheckFailedException', metadata: { attempts: 2 } } });
    expect(results[3]).toMatchObject({ ok: { $metadata: { attempts: 1, totalRetryDelay: 0 } } });
    const [a, b] = [...seen.values()];
    expect(a).toEqual(b);
    expect(a!.filter((c) => c.includes('hot'))).toHaveLength(3);
    for (const s of [fast, standard]) (s.dynamo.client.middlewareStack as unknown as { remove(name: string): boolean }).remove('rapportInjectedDynamoFaults');
  });

  it('answers a batch read too large for one answer with the same unprocessed keys', async () => {
    // dynalite returns at most ~1.4 MB per BatchGetItem, the rest as UnprocessedKeys (which ones: shuffled on purpose).
    const projection = (result: unknown) => {
      const r = result as { ok?: { Responses?: Record<string, Array<{ id: { S: string } }>>; UnprocessedKeys?: Record<string, { Keys: Array<{ id: { S: string } }>; ConsistentRead?: boolean }> } };
      const got = (r.ok?.Responses?.[TABLE] ?? []).map((item) => item.id.S);
      const left = r.ok?.UnprocessedKeys?.[TABLE];
      return { got: got.length, left: left?.Keys.length, consistent: left?.ConsistentRead, all: [...got, ...(left?.Keys ?? []).map((k) => k.id.S)].sort() };
    };
    const results = await Promise.all(
      [fast, standard].map(async (s) => {
        const client = s.dynamo.client;
        for (let i = 0; i < 5; i++) await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...key(`huge${i}`), v: { S: String(i).repeat(390 * 1024) } } }));
        const keys = Array.from({ length: 5 }, (_, i) => key(`huge${i}`));
        const [answer] = await transcript(s, [() => client.send(new BatchGetItemCommand({ RequestItems: { [TABLE]: { Keys: keys, ConsistentRead: true } } }))]);
        s.trace.splice(0);
        return projection(answer);
      }),
    );
    expect(results[0]).toEqual(results[1]);
    expect(results[0]).toMatchObject({ got: 3, left: 2, consistent: true, all: ['huge0', 'huge1', 'huge2', 'huge3', 'huge4'] });
  });

  it('runs the lean middleware on the fast path only (sdk-shortcuts.ts), so the comparisons above compare them', async () => {
    const probe = async (s: Side) => {
      const config = s.dynamo.client.config as unknown as { retryStrategy(): Promise<{ acquireInitialRetryToken(scope: string): Promise<unknown> }>; protocol: { serializeRequest(...args: unknown[]): Promise<unknown> } };
      const strategy = await config.retryStrategy();
      const tokens = vi.spyOn(strategy, 'acquireInitialRetryToken');
      const serialize = vi.spyOn(config.protocol, 'serializeRequest');
      try {
        await documentClient(s.dynamo.client).send(new GetCommand({ TableName: TABLE, Key: { id: 'a' } }));
        await s.dynamo.client.send(new GetItemCommand({ TableName: TABLE, Key: { id: { N: '1' } } })).catch(() => undefined);
        s.trace.splice(0);
        const contexts = serialize.mock.calls.map((call) => Object.keys(call[2] as object).length);
        return { tokens: tokens.mock.calls.length, contexts };
      } finally {
        tokens.mockRestore();
        serialize.mockRestore();
      }
    };
    const [onFast, onStandard] = [await probe(fast), await probe(standard)];
    // Neither the successful call nor the one failing validation (never retried) takes a retry token on the fast path.
    expect(onFast.tokens).toBe(0);
    expect(onStandard.tokens).toBe(2);
    // The protocol reads the client's configuration through the context's prototype, not from a copy of it.
    const configKeys = Object.keys(fast.dynamo.client.config).length;
    expect(onFast.contexts.every((n) => n < 20)).toBe(true);
    expect(onStandard.contexts.every((n) => n >= configKeys)).toBe(true);
  });

  it('authorises the same calls and answers a denial the same (authorization.ts)', async () => {
    const judged = new Map<DynamoDBClient, AwsCall[]>();
    await both((client) => {
      const calls: AwsCall[] = [];
      judged.set(client, calls);
      const noBus = { middlewareStack: { addRelativeTo: () => undefined } };
      installAuthorization({ dynamo: client as never, eventBridge: noBus }, (call) => {
        calls.push(call);
        return 'operation' in call && call.operation === 'PutItem' ? { message: `User: role is not authorized to perform: dynamodb:${call.operation}` } : undefined;
      });
      return operations(client)
        .slice(0, 4)
        .map((op) => () => invokeLambda('rapport-test', 5_000, op));
    });
    const [a, b] = [...judged.values()];
    expect(a!.length).toBe(4);
    expect(a).toEqual(b);
  });

  it('publishes the same in-process diagnostics messages, one start and one finish per attempt', async () => {
    const messages: string[] = [];
    const on = (kind: string) => (message: unknown) => {
      const request = (message as { request: HttpRequest }).request;
      messages.push(`${kind} ${request.method} ${request.protocol}//${request.hostname}:${request.port ?? ''}${request.path} ${request.headers['x-amz-target']} ${String(request.body)}`);
    };
    const start = on('start');
    const finish = on('finish');
    dc.subscribe(IN_PROCESS_CHANNELS.start, start);
    dc.subscribe(IN_PROCESS_CHANNELS.finish, finish);
    try {
      const fastMessages = (await transcript(fast, operations(fast.dynamo.client).slice(0, 6)), messages.splice(0));
      const standardMessages = (await transcript(standard, operations(standard.dynamo.client).slice(0, 6)), messages.splice(0));
      expect(fastMessages).toHaveLength(12);
      expect(fastMessages).toEqual(standardMessages);
    } finally {
      dc.unsubscribe(IN_PROCESS_CHANNELS.start, start);
      dc.unsubscribe(IN_PROCESS_CHANNELS.finish, finish);
    }
  });

  it('takes the standard way for what it does not know: command middleware, a re-sent command, request options', async () => {
    const ops = (client: DynamoDBClient) => {
      const withOwnMiddleware = new GetItemCommand({ TableName: TABLE, Key: key('b1') });
      withOwnMiddleware.middlewareStack.add((next) => async (args) => next({ ...args, input: { ...args.input, TableName: TABLE, Key: key('b2') } }), { step: 'initialize', name: 'ownKey' });
      const resent = new GetCommand({ TableName: TABLE, Key: { id: 'b3' } });
      const doc = documentClient(client);
      return [
        () => client.send(withOwnMiddleware),
        () => doc.send(resent),
        () => doc.send(resent),
        () => client.send(new GetItemCommand({ TableName: TABLE, Key: key('b4') }), { abortSignal: new AbortController().signal }),
        () => {
          const aborted = new AbortController();
          aborted.abort();
          return client.send(new GetItemCommand({ TableName: TABLE, Key: key('b4') }), { abortSignal: aborted.signal });
        },
      ];
    };
    await both(ops);
  });
});

describe('closing the engine', () => {
  it('lets a call in flight finish and refuses the next one, as on the standard path', async () => {
    const outcomes = [];
    for (const fastCalls of [true, false]) {
      const dynamo = await startDynalite(undefined, { fastCalls });
      await ensureTable(dynamo.client, { TableName: TABLE, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] });
      const inFlight = dynamo.client.send(new PutItemCommand({ TableName: TABLE, Item: key('last') }));
      await new Promise((resolve) => setImmediate(resolve));
      const closed = dynamo.close();
      const late = dynamo.client.send(new GetItemCommand({ TableName: TABLE, Key: key('last') }));
      outcomes.push((await Promise.allSettled([inFlight, late, closed])).map(outcome));
    }
    expect(outcomes[0]).toEqual(outcomes[1]);
    expect(outcomes[0]).toMatchObject([{ ok: {} }, { error: { message: 'dynalite is closed: the engine stopped' } }, { ok: undefined }]);
  });
});

describe('the middleware order cache', () => {
  it('resolves from a kept order until the client stack changes, and falls back when asked to log', async () => {
    const dynamo = await startDynalite(undefined, { fastCalls: false });
    try {
      const stats: MiddlewareOrderStats = { hits: 0, misses: 0, fallbacks: 0 };
      const client = cacheMiddlewareOrder(dynamo.client, () => new GetItemCommand({ TableName: '', Key: {} }).middlewareStack, stats);
      const doc = documentClient(client);
      for (let i = 0; i < 3; i++) await client.send(new DescribeTableCommand({ TableName: 'none' })).catch(() => undefined);
      expect(stats).toEqual({ hits: 2, misses: 1, fallbacks: 0 });
      for (let i = 0; i < 3; i++) await doc.send(new GetCommand({ TableName: 'none', Key: { id: 'x' } })).catch(() => undefined);
      expect(stats).toEqual({ hits: 4, misses: 2, fallbacks: 0 });
      client.middlewareStack.add((next) => next, { step: 'build', name: 'later' });
      await doc.send(new GetCommand({ TableName: 'none', Key: { id: 'x' } })).catch(() => undefined);
      expect(stats).toEqual({ hits: 4, misses: 3, fallbacks: 0 });
      // A stack asked to log its order on resolve is resolved by the SDK, which logs it.
      const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
      try {
        client.middlewareStack.identifyOnResolve(true);
        await doc.send(new GetCommand({ TableName: 'none', Key: { id: 'x' } })).catch(() => undefined);
        expect(stats).toEqual({ hits: 4, misses: 3, fallbacks: 1 });
        expect(log).toHaveBeenCalledWith(expect.arrayContaining(['later - build']));
      } finally {
        log.mockRestore();
        client.middlewareStack.identifyOnResolve(false);
      }
      await doc.send(new GetCommand({ TableName: 'none', Key: { id: 'x' } })).catch(() => undefined);
      expect(stats).toEqual({ hits: 4, misses: 4, fallbacks: 1 });
    } finally {
      await dynamo.close();
    }
  });
});

describe('dynalite direct', () => {
  const route = dynaliteDirect({});
  const request = (over: Partial<HttpRequest> = {}): HttpRequest =>
    ({
      method: 'POST',
      protocol: 'http:',
      hostname: 'dynamodb.in-process',
      path: '/',
      query: {},
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.GetItem' },
      body: '{"TableName":"t","Key":{"id":{"S":"a"}}}',
      ...over,
    }) as HttpRequest;

  it('takes only requests the listener would answer through validation and action', () => {
    expect(route(request(), true)).toBeTypeOf('function');
    expect(route(request(), false)).toBeUndefined();
    expect(route(request({ method: 'GET' }), true)).toBeUndefined();
    expect(route(request({ query: { 'X-Amz-Algorithm': 'x' } }), true)).toBeUndefined();
    expect(route(request({ headers: { ...request().headers, origin: 'http://evil' } }), true)).toBeUndefined();
    expect(route(request({ headers: { ...request().headers, 'content-type': 'application/json' } }), true)).toBeUndefined();
    expect(route(request({ headers: { ...request().headers, 'x-amz-target': 'DynamoDB_20120810.TransactWriteItems' } }), true)).toBeUndefined();
    expect(route(request({ headers: { ...request().headers, 'x-amz-target': 'DynamoDB_20111205.GetItem' } }), true)).toBeUndefined();
    expect(route(request({ body: '' }), true)).toBeUndefined();
    expect(route(request({ body: '{not json' }), true)).toBeUndefined();
    expect(route(request({ body: '"\ud800"' }), true)).toBeUndefined();
  });
});
