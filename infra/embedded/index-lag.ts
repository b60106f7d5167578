import type { CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { HttpHandlerOptions, HttpRequest, HttpResponse } from '@smithy/types';
import { ensureTable } from './dynamo';
import type { VirtualClock } from './virtual-time';

/** Where a lagged table's global secondary indexes are answered from: a replica of the table. */
export const INDEX_VIEW_SUFFIX = '.index-view';

const TARGET_PREFIX = 'DynamoDB_20120810.';
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);

export interface IndexLagOptions {
  /** The tables whose indexes lag, by definition (the replica is created alike). */
  tables: readonly CreateTableCommandInput[];
  clock: VirtualClock;
  /** Draws each write's lag. */
  random: () => number;
  /** A write reaches the indexes a uniform 0..maxLagMs of virtual time after it. */
  maxLagMs: number;
}

type Json = Record<string, unknown>;
type Handle = (request: HttpRequest, options?: HttpHandlerOptions) => Promise<{ response: HttpResponse }>;

/**
 * DynamoDB's global secondary indexes as AWS documents them, for the AWS twin (`EngineOptions.twin.indexLagMs`):
 * eventually consistent. A Query or Scan of an index sees a write some time after it, so it misses a recent
 * write and still lists what a recent write changed or deleted (reads of the table itself stay consistent).
 *
 * Each lagged table gets a replica (`<table>.index-view`, same definition), and index reads of the table are
 * answered from the replica's index. A write to the table, once it succeeded, is read back (the item as it is
 * then, or its absence) and applied to the replica after its own seeded lag on the virtual clock, in order per
 * item. Installed on the client's transport, under every middleware: IAM and faults see the request as sent.
 * In memory only: a lag pending when the engine stops is lost with it.
 */
export async function lagIndexes(client: DynamoDBClient, options: IndexLagOptions): Promise<{ pending: () => number }> {
  const replicas = new Map(options.tables.map((t) => [t.TableName!, { replica: `${t.TableName!}${INDEX_VIEW_SUFFIX}`, keys: t.KeySchema!.map((k) => k.AttributeName!) }]));
  for (const table of options.tables) await ensureTable(client, { ...table, TableName: `${table.TableName!}${INDEX_VIEW_SUFFIX}` });
  const handler = client.config.requestHandler as unknown as { handle: Handle };
  const send: Handle = handler.handle.bind(handler);
  const call = async (like: HttpRequest, operation: string, input: Json): Promise<Json> => {
    const { response } = await send({ ...like, headers: { ...like.headers, 'x-amz-target': `${TARGET_PREFIX}${operation}` }, body: JSON.stringify(input) } as HttpRequest);
    const text = bodyText(response.body);
    if (response.statusCode !== 200) throw new Error(`index lag: ${operation} answered ${response.statusCode}: ${text}`);
    return text === '' ? {} : (JSON.parse(text) as Json);
  };
  // Per item: the time its last write reaches the replica (later writes never overtake it), and the chain of applies.
  const due = new Map<string, number>();
  const chains = new Map<string, Promise<void>>();
  let pending = 0;

  const replicate = async (like: HttpRequest, table: string, key: Json) => {
    const { replica } = replicas.get(table)!;
    const { Item } = (await call(like, 'GetItem', { TableName: table, Key: key, ConsistentRead: true })) as { Item?: Json };
    const id = `${table}\n${JSON.stringify(key)}`;
    const at = Math.max(options.clock.now().getTime() + Math.floor(options.random() * (options.maxLagMs + 1)), due.get(id) ?? 0);
    due.set(id, at);
    pending++;
    options.clock.schedule(at, () => {
      const apply = (chains.get(id) ?? Promise.resolve())
        .then(() => (Item ? call(like, 'PutItem', { TableName: replica, Item }) : call(like, 'DeleteItem', { TableName: replica, Key: key })))
        .then(
          () => undefined,
          (error: unknown) => console.error(`index lag: ${table} ${JSON.stringify(key)} not replicated:`, error),
        )
        .finally(() => {
          pending--;
          if (chains.get(id) === apply) chains.delete(id);
          if (due.get(id) === at) due.delete(id);
        });
      chains.set(id, apply);
      void options.clock.track(apply);
    });
  };

  handler.handle = async (request, handleOptions) => {
    const target = String(request.headers['x-amz-target'] ?? '');
    const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
    if (operation !== 'Query' && operation !== 'Scan' && !WRITES.has(operation)) return send(request, handleOptions);
    const input = JSON.parse(bodyText(request.body) || '{}') as Json & { TableName?: string; IndexName?: string };
    if (operation === 'Query' || operation === 'Scan') {
      const lagged = input.IndexName !== undefined && input.TableName !== undefined ? replicas.get(input.TableName) : undefined;
      return send(lagged ? ({ ...request, body: JSON.stringify({ ...input, TableName: lagged.replica }) } as HttpRequest) : request, handleOptions);
    }
    const result = await send(request, handleOptions);
    if (result.response.statusCode === 200) {
      for (const { table, item } of writtenItems(operation, input)) {
        const lagged = replicas.get(table);
        if (lagged) await replicate(request, table, Object.fromEntries(lagged.keys.map((k) => [k, item[k]])));
      }
    }
    return result;
  };
  return { pending: () => pending };
}

/** The tables and items (or keys) a write names. */
function writtenItems(operation: string, input: Json): Array<{ table: string; item: Json }> {
  if (operation === 'BatchWriteItem') {
    return Object.entries((input.RequestItems ?? {}) as Record<string, Array<{ PutRequest?: { Item: Json }; DeleteRequest?: { Key: Json } }>>).flatMap(([table, requests]) =>
      requests.map((r) => ({ table, item: r.PutRequest?.Item ?? r.DeleteRequest?.Key ?? {} })),
    );
  }
  return [{ table: String(input.TableName), item: ((operation === 'PutItem' ? input.Item : input.Key) ?? {}) as Json }];
}

function bodyText(body: unknown): string {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  // Decoded, not Buffer.from: the SDK's JSON body is a Uint8Array whose valueOf() (which Buffer.from calls) warns.
  if (body instanceof Uint8Array) return new TextDecoder().decode(body);
  throw new TypeError(`index lag reads JSON bodies; got ${Object.prototype.toString.call(body)}`);
}
