import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { createIngestHandler, INGEST_PATHS, MAX_BODY_BYTES, powertoolsDeduplicator, staticSources, type IngestSource } from '../../functions/ingest';
import { ENV, systemClock, type Clock } from '../../shared';
import { ensureTable, LOCAL_AWS, startDynalite, type LocalDynamo } from './dynamo';
import { LocalEventBus, serveEventBridgeApi } from './event-bus';
import { invokeHttpLambda } from './lambda-http';

export const IDEMPOTENCY_TABLE = 'rapport-idempotency';
/** HTTP API refuses bodies over 10 MB before the Lambda runs; the adapter does the same. */
const HTTP_API_MAX_BODY = 10 * 1024 * 1024;

export interface EngineOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. @default 3000 */
  port?: number;
  /** Data folder (dynalite files, bus log); `null` keeps everything in memory. @default '.rapport' */
  dataDir?: string | null;
  sources: IngestSource[];
  clock?: Clock;
  /** PutEvents retry settings, passed to the ingest function. */
  publish?: { maxAttempts?: number; baseDelayMs?: number };
}

export interface Engine {
  url: string;
  bus: LocalEventBus;
  dynamo: LocalDynamo;
  stop(): Promise<void>;
}

/**
 * The embedded engine: Rapport whole on a laptop. The ingest Lambda handler runs
 * behind a local HTTP adapter, publishes with the real EventBridge client to the
 * in-process bus, and keeps idempotency records in dynalite.
 */
export async function startEngine(options: EngineOptions): Promise<Engine> {
  const dataDir = options.dataDir === undefined ? '.rapport' : options.dataDir;
  const clock = options.clock ?? systemClock;
  const dynamo = await startDynalite(dataDir ? join(dataDir, 'dynamodb') : undefined);
  await ensureTable(
    dynamo.client,
    {
      TableName: IDEMPOTENCY_TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    },
  );

  const bus = new LocalEventBus({ ...(dataDir && { dataDir }) });
  const busApi = await serveEventBridgeApi(bus);
  const eventBridge = new EventBridgeClient({ ...LOCAL_AWS, endpoint: busApi.endpoint, maxAttempts: 1 });

  const logger = new Logger({ serviceName: 'rapport-ingest' });
  const metrics = new Metrics({ namespace: 'Rapport', serviceName: 'rapport-ingest' });
  const ingest = createIngestHandler(
    {
      sources: staticSources(options.sources),
      dedupe: powertoolsDeduplicator(new DynamoDBPersistenceLayer({ tableName: IDEMPOTENCY_TABLE, awsSdkV3Client: dynamo.client })),
      putEvents: (entries) => eventBridge.send(new PutEventsCommand({ Entries: entries })),
      clock,
      ...(options.publish && { publish: options.publish }),
    },
    { logger, metrics },
  );

  const ingestPaths = new Set<string>(INGEST_PATHS);
  const server: Server = createServer((req, res) => {
    void route(req, res).catch((error: unknown) => {
      logger.error('embedded engine request failed', error as Error);
      if (!res.headersSent) send(res, 500, { error: 'internal', message: 'the embedded engine failed; see its log' });
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (ingestPaths.has(url.pathname.replace(/\/$/, ''))) {
      const body = await readBody(req, HTTP_API_MAX_BODY);
      if (body === undefined) return send(res, 413, { error: 'payload_too_large', message: `body exceeds ${MAX_BODY_BYTES} bytes (1 MiB)` });
      const result = await invokeHttpLambda(ingest, 'rapport-ingest', {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        body,
        ...(req.socket.remoteAddress && { sourceIp: req.socket.remoteAddress }),
      });
      res.writeHead(result.statusCode, result.headers);
      res.end(result.body);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/v1/bus/events') {
      const limit = Math.min(Number(url.searchParams.get('limit') ?? 100) || 100, 10_000);
      const type = url.searchParams.get('detailType');
      const events = type ? bus.log.filter((e) => e['detail-type'] === type) : bus.log;
      return send(res, 200, { total: events.length, events: events.slice(-limit) });
    }
    if (req.method === 'GET' && url.pathname === '/health') return send(res, 200, { status: 'ok' });
    send(res, 404, { error: 'not_found', message: `nothing at ${req.method} ${url.pathname}` });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    bus,
    dynamo,
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await bus.drain();
      eventBridge.destroy();
      busApi.server.closeAllConnections();
      await new Promise<void>((resolve) => busApi.server.close(() => resolve()));
      await dynamo.close();
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Read the whole body; `undefined` when it exceeds `limit` (the rest is drained, not kept). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export interface EnvConfig {
  port: number;
  dataDir: string;
  source: { id: string; webhookSecret: string; writeKey: string };
  generated: { webhookSecret: boolean; writeKey: boolean };
}

/**
 * The embedded engine's configuration from the environment. Without
 * RAPPORT_WEBHOOK_SECRET / RAPPORT_WRITE_KEY, development credentials are
 * generated once and kept in the data folder, so restarts keep them.
 */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): EnvConfig {
  const port = Number(env[ENV.PORT] ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${ENV.PORT} must be a port number, got ${JSON.stringify(env[ENV.PORT])}`);
  const dataDir = env[ENV.DATA_DIR] || '.rapport';
  const devFile = join(dataDir, 'dev-credentials.json');
  const saved = existsSync(devFile) ? (JSON.parse(readFileSync(devFile, 'utf8')) as { webhookSecret?: string; writeKey?: string }) : {};
  const webhookSecret = env[ENV.WEBHOOK_SECRET] || saved.webhookSecret || `whsec_${randomBytes(24).toString('base64')}`;
  const writeKey = env[ENV.WRITE_KEY] || saved.writeKey || `wk_${randomBytes(12).toString('hex')}`;
  const generated = { webhookSecret: !env[ENV.WEBHOOK_SECRET], writeKey: !env[ENV.WRITE_KEY] };
  if (generated.webhookSecret || generated.writeKey) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(devFile, JSON.stringify({ webhookSecret, writeKey }, null, 2), { mode: 0o600 });
  }
  return { port, dataDir, source: { id: 'default', webhookSecret, writeKey }, generated };
}
