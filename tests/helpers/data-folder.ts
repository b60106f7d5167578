import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { ListTablesCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { startDynalite } from '../../infra/embedded/dynamo';
import { batchEntries, logRecords, tableEntries } from './leveldb';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/**
 * What a file holds, decoded: a LevelDB table's entries (blocks uncompressed, keys whole), a LevelDB log's
 * records (fragments joined) and their entries, or the file's bytes. A file that does not parse as its
 * name says is taken as bytes too.
 */
export function contentsOf(file: string): Buffer[] {
  const bytes = readFileSync(file);
  const name = basename(file);
  try {
    if (/\.(ldb|sst)$/.test(name)) return [bytes, ...tableEntries(bytes).flatMap(({ key, value }) => [key, value])];
    if (/\.log$|^MANIFEST-/.test(name) && dirname(file).split(sep).includes('dynamodb')) {
      const records = logRecords(bytes);
      return [bytes, ...records, ...records.flatMap((r) => (name.endsWith('.log') ? batchEntries(r).flatMap(({ key, value }) => [key, value]) : []))];
    }
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`, { cause: error });
  }
  return [bytes];
}

const BASE64_RUN = /[A-Za-z0-9+/_-]{16,}={0,2}/g;
const INFLATED_MAX = 16 * 1024 * 1024;

/** A compressed body's contents (brotli, gzip, deflate; a profile body starts with a format byte), or undefined. */
function inflated(bytes: Buffer): Buffer | undefined {
  for (const body of [bytes, bytes.subarray(1)]) {
    for (const inflate of [brotliDecompressSync, gunzipSync, inflateSync]) {
      try {
        const out = inflate(body, { maxOutputLength: INFLATED_MAX });
        if (out.length > 0) return out;
      } catch {
        // not this format
      }
    }
  }
  return undefined;
}

/**
 * A chunk and everything packed inside it, recursively: each base64 (or base64url) run decoded, and what
 * decodes or is itself a compressed body, inflated. dynalite keeps a binary attribute as base64 in its
 * JSON, and a profile body is brotli: the bytes of an email in it appear nowhere as they are.
 */
export function unpacked(chunk: Buffer, depth = 0): Buffer[] {
  const out = [chunk];
  if (depth > 3) return out;
  const whole = inflated(chunk);
  if (whole) out.push(...unpacked(whole, depth + 1));
  for (const [run] of chunk.toString('latin1').matchAll(BASE64_RUN)) {
    const decoded = Buffer.from(run, run.includes('-') || run.includes('_') ? 'base64url' : 'base64');
    out.push(decoded);
    const body = inflated(decoded);
    if (body) out.push(...unpacked(body, depth + 1));
  }
  return out;
}

const holds = (bytes: Buffer, needles: readonly string[]) => needles.some((n) => bytes.includes(Buffer.from(n, 'utf8')) || bytes.includes(Buffer.from(n, 'utf16le')));

/**
 * Every file of the folder that holds one of the needles (UTF-8 or UTF-16LE), decoded as it is stored:
 * LevelDB tables uncompressed (snappy) and logs reassembled (`contentsOf`), and base64 and
 * brotli/gzip/deflate bodies inside them unpacked (`unpacked`).
 */
export function filesNaming(dir: string, needles: string[]): string[] {
  return filesUnder(dir).filter((file) => contentsOf(file).some((chunk) => unpacked(chunk).some((bytes) => holds(bytes, needles))));
}

/** The same, as bytes only (what a scan without decoding sees): for the scan's own tests. */
export function filesNamingByteWise(dir: string, needles: string[]): string[] {
  return filesUnder(dir).filter((file) => holds(readFileSync(file), needles));
}

/** A binary attribute as text: its bytes, and what is packed in them (a profile's brotli body), so a check of the item's JSON sees them. */
const readableBinary = (_key: string, value: unknown) => (value instanceof Uint8Array ? unpacked(Buffer.from(value)).map((b) => b.toString('utf8')) : value);

/** Every item of every table in a stopped engine's data folder (dynalite opened on its files), binary attributes unpacked. */
export async function allItems(dataDir: string): Promise<Array<{ table: string; item: string }>> {
  const dynamo = await startDynalite(join(dataDir, 'dynamodb'));
  try {
    const { TableNames = [] } = await dynamo.client.send(new ListTablesCommand({}));
    const out: Array<{ table: string; item: string }> = [];
    for (const table of TableNames) {
      let start: Record<string, never> | undefined;
      do {
        const page = await dynamo.client.send(new ScanCommand({ TableName: table, ConsistentRead: true, ...(start && { ExclusiveStartKey: start }) }));
        for (const item of page.Items ?? []) out.push({ table, item: JSON.stringify(item, readableBinary) });
        start = page.LastEvaluatedKey as typeof start;
      } while (start);
    }
    return out;
  } finally {
    await dynamo.close();
  }
}
