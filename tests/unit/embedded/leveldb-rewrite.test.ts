/**
 * After an erasure the engine rewrites dynalite's LevelDB files with live entries only (rewriteLevelDb): copy,
 * mark the copy complete, drop the old files, rename the copy. A crash at any point of that must lose no item:
 * the next start (recoverRewrite, called by startDynalite) keeps the old files while the copy is partial, and
 * the copy once it is complete, however far the old files were dropped.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recoverRewrite, rewriteLevelDb } from '../../../infra/embedded/dynamo';

const root = mkdtempSync(join(tmpdir(), 'rapport-rewrite-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** dynalite's own LevelDB binding (not a dependency of ours: the one dynalite's files are written with). */
interface Db {
  open(): Promise<void>;
  close(): Promise<void>;
  batch(ops: Array<{ type: 'put'; key: string; value: string }>): Promise<void>;
  iterator(): AsyncIterable<[string, string]>;
}
const { Level } = createRequire(createRequire(import.meta.url).resolve('dynalite'))('level') as { Level: new (path: string) => Db };

async function db(path: string, entries: Record<string, string>): Promise<void> {
  const level = new Level(path);
  await level.open();
  await level.batch(Object.entries(entries).map(([key, value]) => ({ type: 'put' as const, key, value })));
  await level.close();
}
async function read(path: string): Promise<Record<string, string>> {
  const level = new Level(path);
  await level.open();
  const out: Record<string, string> = {};
  for await (const [key, value] of level.iterator()) out[key] = value;
  await level.close();
  return out;
}

describe('rewriting the LevelDB files, and a crash during it', () => {
  it('a whole rewrite keeps every live entry and leaves no marker or copy', async () => {
    const path = join(root, 'whole');
    await db(path, { a: '1', b: '2' });
    await rewriteLevelDb(path);
    expect(await read(path)).toEqual({ a: '1', b: '2' });
    expect(existsSync(`${path}.rewrite`)).toBe(false);
    expect(readdirSync(path)).not.toContain('REWRITE-COMPLETE');
  });

  it('a crash mid-copy: the partial copy is dropped, the old files kept', async () => {
    const path = join(root, 'mid-copy');
    await db(path, { a: '1', b: '2' });
    await db(`${path}.rewrite`, { a: '1' });
    recoverRewrite(path);
    expect(existsSync(`${path}.rewrite`)).toBe(false);
    expect(await read(path)).toEqual({ a: '1', b: '2' });
  });

  it('a crash while the old files were being dropped: the complete copy wins', async () => {
    const path = join(root, 'mid-drop');
    await db(`${path}.rewrite`, { a: '1', b: '2' });
    writeFileSync(join(`${path}.rewrite`, 'REWRITE-COMPLETE'), '');
    // What is left of the old files: a stray table file, no manifest.
    mkdirSync(path);
    writeFileSync(join(path, '000005.ldb'), 'partial');
    recoverRewrite(path);
    expect(await read(path)).toEqual({ a: '1', b: '2' });
    expect(readdirSync(path)).not.toContain('REWRITE-COMPLETE');
  });

  it('a crash between dropping the old files and the rename: the copy is renamed', async () => {
    const path = join(root, 'before-rename');
    await db(`${path}.rewrite`, { a: '1' });
    writeFileSync(join(`${path}.rewrite`, 'REWRITE-COMPLETE'), '');
    recoverRewrite(path);
    expect(await read(path)).toEqual({ a: '1' });
    expect(existsSync(`${path}.rewrite`)).toBe(false);
  });
});
