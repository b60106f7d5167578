/**
 * The erasure tests' scan of the data folder (tests/helpers/data-folder.ts) finds a customer's bytes in
 * every form the engine's files keep them: in a LevelDB table block (snappy: a repeat is a copy of earlier
 * bytes, so the string is not there as it is), in a LevelDB log record cut by a 32 KB block boundary, and in
 * a profile body (brotli) that dynalite keeps as base64 in its JSON. Each leftover is planted with the real
 * LevelDB (dynalite's) and dynalite; a scan of raw bytes misses every one of them.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync } from 'node:zlib';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureTable, startDynalite } from '../../infra/embedded/dynamo';
import { allItems, filesNaming, filesNamingByteWise } from '../helpers/data-folder';
import { snappyUncompress } from '../helpers/leveldb';

const EMAIL = 'zq.erased.7731@example.org';
const ID = 'zq-erased-7731';
const NEEDLES = [ID, EMAIL];

type RawLevel = { open(): Promise<void>; close(): Promise<void>; put(key: string, value: string): Promise<void>; compactRange(start: string, end: string): Promise<void> };
const { Level } = createRequire(createRequire(import.meta.url).resolve('dynalite'))('level') as { Level: new (path: string, o: object) => RawLevel };

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
/** A fresh data folder with an empty `dynamodb` folder in it, as the engine lays it out. */
function dataFolder(): { dir: string; db: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-scan-'));
  dirs.push(dir);
  return { dir, db: join(dir, 'dynamodb') };
}

describe('snappy', () => {
  it('uncompresses literals and copies, overlapping ones too', () => {
    // Length 13; literal "abcd" (tag (4-1)<<2); a copy of 8 bytes from 4 back, overlapping itself (tag (8-4)<<2 | 1,
    // offset 4); literal "!" (tag 0).
    const compressed = Buffer.from([13, 3 << 2, ...Buffer.from('abcd'), ((8 - 4) << 2) | 1, 4, 0, ...Buffer.from('!')]);
    expect(snappyUncompress(compressed).toString()).toBe('abcdabcdabcd!');
  });
});

describe('the data folder scan finds a planted leftover in each form', () => {
  it('in a snappy-compressed LevelDB table block', async () => {
    const { dir, db } = dataFolder();
    const level = new Level(db, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    await level.open();
    // The email's first 25 bytes came before in the block (another customer's almost identical address): snappy
    // stores the second as a copy of them plus its last byte, so the whole address is nowhere as bytes.
    await level.put('a', JSON.stringify({ email: `${EMAIL.slice(0, -1)}x`, filler: 'y'.repeat(2_000) }));
    await level.put('b', JSON.stringify({ email: EMAIL }));
    await level.compactRange('\u0000', '\uffff');
    await level.close();
    expect(readdirSync(db).some((f) => f.endsWith('.ldb'))).toBe(true);

    expect(filesNamingByteWise(dir, NEEDLES)).toEqual([]);
    expect(filesNaming(dir, NEEDLES)).toEqual([expect.stringMatching(/\.ldb$/)]);
  });

  it('in a LevelDB log record cut by a 32 KB block boundary', async () => {
    const { dir, db } = dataFolder();
    const level = new Level(db, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    await level.open();
    // The log's first record: 7 bytes of header, 12 of batch header, 1 tag, 1 + 1 key, 3 value length: the
    // value starts at byte 25, and the id across byte 32,768 has the next block's 7-byte header inside it.
    await level.put('k', `${'z'.repeat(32_768 - 25 - 5)}${ID}${'z'.repeat(100)}`);
    await level.close();
    expect(readdirSync(db).some((f) => f.endsWith('.log'))).toBe(true);

    expect(filesNamingByteWise(dir, NEEDLES)).toEqual([]);
    expect(filesNaming(dir, NEEDLES)).toEqual([expect.stringMatching(/\.log$/)]);
  });

  it('in a brotli body that dynalite keeps as base64, in its log and, compacted, in its tables', async () => {
    const { dir, db } = dataFolder();
    const dynamo = await startDynalite(db);
    await ensureTable(dynamo.client, { TableName: 'planted', BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] });
    // As a profile item keeps its body: a format byte, then brotli of the JSON.
    const body = Buffer.concat([Buffer.from([1]), brotliCompressSync(JSON.stringify({ profile: { id: ID, traits: { email: EMAIL } } }))]);
    await dynamo.client.send(new PutItemCommand({ TableName: 'planted', Item: { pk: { S: 'C#hashed' }, body: { B: body } } }));
    await dynamo.close();

    expect(filesNamingByteWise(dir, NEEDLES)).toEqual([]);
    expect(filesNaming(dir, NEEDLES)).toEqual([expect.stringMatching(/\.log$/)]);
    const items = await allItems(dir);
    expect(items.filter(({ item }) => item.includes(EMAIL))).toHaveLength(1);

    // Compacted into a table file (snappy blocks), still found.
    const reopened = await startDynalite(db);
    await reopened.compact();
    await reopened.close();
    expect(readdirSync(db).filter((f) => f.endsWith('.log')).map((f) => filesNaming(db, NEEDLES).includes(join(db, f)))).not.toContain(true);
    expect(filesNamingByteWise(dir, NEEDLES)).toEqual([]);
    expect(filesNaming(dir, NEEDLES)).toEqual([expect.stringMatching(/\.ldb$/)]);
  });
});
