import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient, ResourceInUseException, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { PROFILE_TABLE_LAYOUT as L } from '../../shared';
import dynalite from 'dynalite';

/** Local credentials: dynalite and the local bus accept any; the SDK needs some. */
export const LOCAL_AWS = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } as const;

export interface LocalDynamo {
  endpoint: string;
  client: DynamoDBClient;
  close(): Promise<void>;
}

/**
 * dynalite: a real DynamoDB API server in-process. With `path` it persists to
 * LevelDB files there (survives restarts); without it, it lives in memory.
 */
export async function startDynalite(path?: string): Promise<LocalDynamo> {
  if (path) mkdirSync(path, { recursive: true });
  const server = dynalite({ ...(path && { path }), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint, maxAttempts: 3 });
  return {
    endpoint,
    client,
    close: async () => {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Create a table if it does not exist yet (idempotent across restarts). dynalite
 * has no TTL (UpdateTimeToLive is not implemented and nothing expires), so
 * readers filter expired items themselves, as they must in AWS too.
 */
export async function ensureTable(client: DynamoDBClient, input: CreateTableCommandInput): Promise<void> {
  try {
    await client.send(new CreateTableCommand(input));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
}

/** The ingest's idempotency table as the CDK stack defines it (Powertools layout: key `id`). */
export function idempotencyTableDefinition(tableName: string): CreateTableCommandInput {
  return { TableName: tableName, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] };
}

/** The profile table as the CDK stack defines it (single table, two sparse KEYS_ONLY indexes), for dynalite. */
export function profileTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [L.partitionKey, L.sortKey, L.dueIndex.partitionKey, L.dueIndex.sortKey, L.lastOrderIndex.partitionKey, L.lastOrderIndex.sortKey].map(
      (AttributeName) => ({ AttributeName, AttributeType: 'S' as const }),
    ),
    KeySchema: [
      { AttributeName: L.partitionKey, KeyType: 'HASH' },
      { AttributeName: L.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [L.dueIndex, L.lastOrderIndex].map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
        { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: 'KEYS_ONLY' as const },
    })),
  };
}
