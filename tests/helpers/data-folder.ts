import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ListTablesCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { startDynalite } from '../../infra/embedded/dynamo';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Every file of the folder that holds one of the needles, byte-wise (UTF-8 and UTF-16LE). */
export function filesNaming(dir: string, needles: string[]): string[] {
  return filesUnder(dir).filter((file) => {
    const bytes = readFileSync(file);
    return needles.some((n) => bytes.includes(Buffer.from(n, 'utf8')) || bytes.includes(Buffer.from(n, 'utf16le')));
  });
}

/** Every item of every table in a stopped engine's data folder (dynalite opened on its files). */
export async function allItems(dataDir: string): Promise<Array<{ table: string; item: string }>> {
  const dynamo = await startDynalite(join(dataDir, 'dynamodb'));
  try {
    const { TableNames = [] } = await dynamo.client.send(new ListTablesCommand({}));
    const out: Array<{ table: string; item: string }> = [];
    for (const table of TableNames) {
      let start: Record<string, never> | undefined;
      do {
        const page = await dynamo.client.send(new ScanCommand({ TableName: table, ConsistentRead: true, ...(start && { ExclusiveStartKey: start }) }));
        for (const item of page.Items ?? []) out.push({ table, item: JSON.stringify(item) });
        start = page.LastEvaluatedKey as typeof start;
      } while (start);
    }
    return out;
  } finally {
    await dynamo.close();
  }
}
