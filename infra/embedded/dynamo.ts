import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { RetryStrategyV2 } from '@smithy/types';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceInUseException, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { PROFILE_TABLE_LAYOUT as L } from '../../shared';
import dynalite from 'dynalite';
import { cacheDynaliteParses } from './dynalite-parse-cache';
import { createHttpGuard, parseHost } from './http-guard';
import { dynaliteDirect } from './dynalite-direct';
import { DYNALITE_UNSIGNED_HEADERS, inProcessClientConfig, sharedConfigFilesRead, withoutTransportMiddleware, type DirectRoute, type RequestListener } from './in-process';
import { cacheMiddlewareOrder } from './middleware-order';
import { inProcessShortcuts } from './sdk-shortcuts';

/** Local credentials: dynalite and the local bus accept any; the SDK needs some. */
export const LOCAL_AWS = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } as const;

export interface LocalDynamo {
  /**
   * dynalite over HTTP, for processes and SDK clients outside the engine (the AWS entry points in
   * tests). Guarded (see `guardDynaliteListener`): it answers only Host 127.0.0.1/localhost:<port>
   * and refuses any request with an Origin, so no web page can reach the tables.
   */
  endpoint: string;
  /** The engine's client: requests go straight to dynalite's request listener, unsigned (see in-process.ts). */
  client: DynamoDBClient;
  /**
   * Compact the LevelDB files (a no-op in memory): LevelDB keeps a deleted item's bytes in its
   * log and table files until compaction, so erasure compacts to make them really gone.
   */
  compact(): Promise<void>;
  /** Close; with `rewrite`, then copy the live entries to fresh LevelDB files and drop the old ones (see `rewriteLevelDb`). */
  close(options?: { rewrite?: boolean }): Promise<void>;
}

interface LevelStore {
  db: { compactRange(start: string, end: string): Promise<void>; status: string };
}
/**
 * Where dynalite's store module puts the store it created last: its `create` is wrapped once per process so the engine
 * can reach the LevelDB it opens (dynalite does not expose it). The hook lives on dynalite's module, not in this one:
 * this module can be evaluated more than once in a process (a test worker giving each file a fresh registry of the
 * repository's modules, vitest.config.ts HANDLER_TESTS), and a second evaluation must not wrap `create` again.
 */
const STORE_HOOK = Symbol.for('rapport.dynalite-store-hook');
const dynaliteDb = createRequire(import.meta.url)('dynalite/db') as { create: (options: unknown) => LevelStore; [STORE_HOOK]?: { last?: LevelStore } };
const storeHook = (dynaliteDb[STORE_HOOK] ??= (() => {
  const hook: { last?: LevelStore } = {};
  const createStore = dynaliteDb.create;
  dynaliteDb.create = (options: unknown) => (hook.last = createStore(options));
  return hook;
})());

// The CommonJS build the SDK clients load (sdk-shortcuts.ts checks the client's strategy against the same class).
const smithyRetry = createRequire(import.meta.url)('@smithy/core/retry') as {
  StandardRetryStrategy: new (options: { maxAttempts: number; backoff: { computeNextBackoffDelay(retryCount: number): number; setDelayBase(ms: number): void } }) => RetryStrategyV2;
};

/** The engine's DynamoDB client: three attempts, as the functions' clients in AWS. */
const MAX_ATTEMPTS = 3;

/**
 * The SDK's standard retries (which errors, how many attempts, the retry quota) with a backoff of at most 1 real ms:
 * on virtual time a retry happens inside held work, where no virtual time can pass (as `VirtualClock.forWork.sleep`),
 * and the SDK's real backoff (up to seconds for a throttle) would only make a test or a simulation wait on the wall
 * clock. The same call is retried the same number of times, only sooner.
 */
function virtualTimeRetries(): RetryStrategyV2 {
  return new smithyRetry.StandardRetryStrategy({ maxAttempts: MAX_ATTEMPTS, backoff: { computeNextBackoffDelay: () => 1, setDelayBase: () => undefined } });
}

/**
 * dynalite: a real DynamoDB API server in-process. With `path` it persists to
 * LevelDB files there (survives restarts); without it, it lives in memory.
 * `client` reaches it without HTTP; `endpoint` serves the same store over HTTP.
 * With `virtualTime`, the client's retries back off by at most a real millisecond (see `virtualTimeRetries`).
 */
export async function startDynalite(path?: string, options: { fastCalls?: boolean; virtualTime?: boolean } = {}): Promise<LocalDynamo> {
  if (path) recoverRewrite(path);
  cacheDynaliteParses();
  // Before the client's first configuration lookup: see sharedConfigFilesRead.
  await sharedConfigFilesRead;
  if (path) mkdirSync(path, { recursive: true });
  const server = dynalite({ ...(path && { path }), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const store = storeHook.last!;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const listener = server.listeners('request')[0] as RequestListener;
  guardDynaliteListener(server, listener, port);
  // Calls in flight are let finish before the store closes, and none starts after: a call still running when the
  // engine stops (the rest of a Promise.all whose first call failed) would otherwise reach a closed LevelDB, whose
  // error dynalite throws where nobody catches it.
  let closing = false;
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const tracked: RequestListener = (req, res) => {
    if (closing) throw new Error('dynalite is closed: the engine stopped');
    inFlight++;
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    (res as { end: (...args: unknown[]) => ServerResponse }).end = (...args: unknown[]) => {
      if (--inFlight === 0) drained?.();
      return end(...args);
    };
    listener(req, res);
  };
  // The same admission and the same count for the requests dynalite answers without its listener (dynalite-direct.ts).
  const route = dynaliteDirect(store);
  const direct: DirectRoute = (request, authorized) => {
    const call = route(request, authorized);
    if (!call) return undefined;
    return (respond) => {
      if (closing) throw new Error('dynalite is closed: the engine stopped');
      inFlight++;
      return call((response) => {
        if (--inFlight === 0) drained?.();
        respond(response);
      });
    };
  };
  // Fast calls (dynalite-direct.ts, middleware-order.ts, sdk-shortcuts.ts) answer exactly as the standard path does; RAPPORT_DYNAMO_FAST_CALLS=0
  // (or `fastCalls: false`) takes the standard path, to compare.
  const fast = options.fastCalls ?? process.env.RAPPORT_DYNAMO_FAST_CALLS !== '0';
  const client = withoutTransportMiddleware(
    new DynamoDBClient({ ...inProcessClientConfig(tracked, { service: 'dynamodb', fixedHeaders: DYNALITE_UNSIGNED_HEADERS, ...(fast && { direct }) }), maxAttempts: MAX_ATTEMPTS, ...(options.virtualTime && { retryStrategy: virtualTimeRetries() }) }),
  );
  if (fast) cacheMiddlewareOrder(client, () => new DescribeTableCommand({ TableName: '' }).middlewareStack, undefined, await inProcessShortcuts(client));
  return {
    endpoint,
    client,
    compact: async () => {
      if (path && store.db.status === 'open') await store.db.compactRange('\u0000', '\uffff');
    },
    close: async (options = {}) => {
      closing = true;
      if (inFlight > 0) await Promise.race([new Promise<void>((resolve) => (drained = resolve)), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (path && options.rewrite) await rewriteLevelDb(path);
    },
  };
}

/**
 * dynalite answers every request, with `Access-Control-Allow-Origin: *` for any Origin, and checks
 * no Host: any web page could read and write every table, by a port scan of 127.0.0.1 or through
 * DNS rebinding. The engine itself never uses this listener (its client calls dynalite's request
 * listener in-process); only SDK clients in this machine's processes do, and they send Host
 * 127.0.0.1:<port> (or localhost:<port>) and no Origin. So: a foreign Host gets 421, any Origin
 * (or the Sec-Fetch-Site header a browser adds) gets 403, both before dynalite sees the request, and the
 * answer carries no CORS headers.
 */
function guardDynaliteListener(server: Server, listener: RequestListener, port: number): void {
  const guard = createHttpGuard({ crossSitePaths: new Set() });
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const refuse = (status: number, error: string, message: string) => {
      req.resume();
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error, message }));
    };
    const verdict = guard({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, rawHeaders: req.rawHeaders, ...(req.url !== undefined && { target: req.url }) });
    const host = parseHost(String(req.headers.host ?? ''));
    if (!verdict.ok && verdict.status !== 403) return refuse(verdict.status, verdict.error, verdict.message);
    if (!host || (host.name !== '127.0.0.1' && host.name !== 'localhost') || host.port !== String(port)) {
      return refuse(421, 'host_not_allowed', `this dynalite answers only to Host 127.0.0.1:${port} and localhost:${port}`);
    }
    // Browsers send Sec-Fetch-Site with every request (and Origin with every cross-origin one); Node's fetch sends neither.
    if (req.headers.origin !== undefined || req.headers['sec-fetch-site'] !== undefined) {
      return refuse(403, 'cross_origin_refused', 'requests from web pages are refused');
    }
    listener(req, res);
  });
}

type RawLevel = {
  open(): Promise<void>;
  close(): Promise<void>;
  iterator(): AsyncIterable<[Uint8Array, Uint8Array]>;
  batch(ops: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array }>): Promise<void>;
};
const { Level } = createRequire(createRequire(import.meta.url).resolve('dynalite'))('level') as { Level: new (path: string, o: object) => RawLevel };

/**
 * Copy a closed LevelDB's live entries to new files and replace the folder. A compaction drops a
 * deleted item's bytes only from the files it merges; a table file LevelDB wrote straight to a
 * deeper level keeps the deleted value beside its deletion marker until a later compaction reaches
 * it. The copy holds live entries only, so an erased customer's bytes are gone.
 */
export async function rewriteLevelDb(path: string): Promise<void> {
  // A crash mid-copy leaves the old files whole and a partial copy, dropped at the next start; once the copy
  // is complete (marked), the copy wins at the next start, however far the old files were dropped: no crash
  // loses an item (see recoverRewrite).
  const from = new Level(path, { keyEncoding: 'view', valueEncoding: 'view' });
  const to = new Level(`${path}.rewrite`, { keyEncoding: 'view', valueEncoding: 'view' });
  rmSync(`${path}.rewrite`, { recursive: true, force: true });
  await from.open();
  await to.open();
  let ops: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array }> = [];
  for await (const [key, value] of from.iterator()) {
    ops.push({ type: 'put', key, value });
    if (ops.length >= 500) {
      await to.batch(ops);
      ops = [];
    }
  }
  if (ops.length > 0) await to.batch(ops);
  await from.close();
  await to.close();
  writeFileSync(join(`${path}.rewrite`, REWRITE_COMPLETE), '', { flush: true });
  rmSync(path, { recursive: true, force: true });
  renameSync(`${path}.rewrite`, path);
  rmSync(join(path, REWRITE_COMPLETE), { force: true });
}

const REWRITE_COMPLETE = 'REWRITE-COMPLETE';

/** Finish or undo a rewrite a crash interrupted (see `rewriteLevelDb`): never start on an empty folder while the copy waits beside it. */
export function recoverRewrite(path: string): void {
  const copy = `${path}.rewrite`;
  rmSync(join(path, REWRITE_COMPLETE), { force: true });
  if (!existsSync(copy)) return;
  if (!existsSync(join(copy, REWRITE_COMPLETE))) {
    rmSync(copy, { recursive: true, force: true });
    return;
  }
  rmSync(path, { recursive: true, force: true });
  renameSync(copy, path);
  rmSync(join(path, REWRITE_COMPLETE), { force: true });
}

/**
 * Create a table if it does not exist yet (idempotent across restarts), and wait until it is
 * ACTIVE: a new table is CREATING for a moment (in dynalite, until its next timer turn), and
 * answers ResourceNotFound until then. dynalite has no TTL (UpdateTimeToLive is not implemented
 * and nothing expires), so readers filter expired items themselves, as they must in AWS too.
 */
export async function ensureTable(client: DynamoDBClient, input: CreateTableCommandInput): Promise<void> {
  try {
    await client.send(new CreateTableCommand(input));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  for (let attempt = 1; ; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: input.TableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    if (attempt >= 200) throw new Error(`table ${input.TableName} is still ${Table?.TableStatus} after ${attempt} checks`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(attempt, 50)));
  }
}

/** The ingest's idempotency table as the CDK stack defines it (Powertools layout: key `id`). */
export function idempotencyTableDefinition(tableName: string): CreateTableCommandInput {
  return { TableName: tableName, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] };
}

/** The profile table as the CDK stack defines it (single table, three sparse KEYS_ONLY indexes), for dynalite. */
export function profileTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [L.partitionKey, L.sortKey, L.dueIndex.partitionKey, L.dueIndex.sortKey, L.lastOrderIndex.partitionKey, L.lastOrderIndex.sortKey, L.emailIndex.partitionKey, L.emailIndex.sortKey].map(
      (AttributeName) => ({ AttributeName, AttributeType: 'S' as const }),
    ),
    KeySchema: [
      { AttributeName: L.partitionKey, KeyType: 'HASH' },
      { AttributeName: L.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [L.dueIndex, L.lastOrderIndex, L.emailIndex].map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
        { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: 'KEYS_ONLY' as const },
    })),
  };
}
