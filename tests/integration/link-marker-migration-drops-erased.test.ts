/**
 * An old-shape link mark naming an id erased before the upgrade is deleted by the migration, never rewritten (audit 10).
 * A and A's visitor V are erased under the old code; M's old-shape mark `C#M / N#anon:V` outlives them (it was in M's
 * partition, which V's erasure did not reach). At the upgrade, `migrateOldLinkMarkers` reads the tombstones of both
 * ids of a mark: an erased one's mark goes, instead of becoming a new-shape mark holding `anon:V` in clear that no
 * erasure would reach again. Write, then check, for an erasure racing the live AWS migration.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startDynalite } from '../../infra/embedded/dynamo';
import { PROFILE_TABLE, type Engine } from '../../infra/embedded/engine';
import { client } from '../helpers/client';
import { profileItemsNaming, startTestEngine } from '../helpers/engine';

const dirs: string[] = [];
let engine: Engine | undefined;
afterAll(async () => {
  await engine?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A's visitor V, M's old-shape mark of V, A erased before (`erasedBeforeUpgrade`) or after the upgrade: what still names V or A. */
async function scenario(tag: string, erasedBeforeUpgrade: boolean): Promise<string[]> {
  const dataDir = mkdtempSync(join(tmpdir(), `rapport-a10-old-mark-${tag}-`));
  dirs.push(dataDir);
  const A = `a10-old-mark-a-${tag}`;
  const M = `a10-old-mark-m-${tag}`;
  const V = `a10-old-mark-visitor-${tag}`;
  engine = await startTestEngine({ dataDir, sweepEveryMs: 0, logLevel: 'SILENT' });
  await client(engine).sendAndSettle({ type: 'identify', userId: A, anonymousId: V, traits: { email: `${A}@example.org` } });
  await client(engine).sendAndSettle({ type: 'identify', userId: M, traits: { plan: 'basic' } });
  if (erasedBeforeUpgrade) {
    expect((await client(engine).del(`/v1/customers/${A}`)).status).toBe(200);
    await engine.settle();
  }
  await engine.stop();
  engine = undefined;

  // The mark the engine from before wrote (M's write of the link then failed for good), which A's erasure then did
  // not reach; that engine wrote no `link-marks-hashed` marker in its data folder.
  rmSync(join(dataDir, 'link-marks-hashed'), { force: true });
  const dynamo = await startDynalite(join(dataDir, 'dynamodb'));
  await dynamo.client.send(new PutItemCommand({ TableName: PROFILE_TABLE, Item: { PK: { S: `C#${M}` }, SK: { S: `N#anon:${V}` }, itemType: { S: 'link-marker' } } }));
  await dynamo.close();

  // The upgraded engine: its start rewrites the old marks.
  engine = await startTestEngine({ dataDir, sweepEveryMs: 0, logLevel: 'SILENT' });
  if (!erasedBeforeUpgrade) {
    expect((await client(engine).del(`/v1/customers/${A}`)).status).toBe(200);
    await engine.settle();
  }
  const left = await profileItemsNaming(engine, [V, A]);
  await engine.stop();
  engine = undefined;
  return left;
}

describe("an old-shape link mark naming another customer's erased visitor", () => {
  it('control: the visitor erased after the upgrade, the rewritten mark goes with them', async () => {
    expect(await scenario('ctl', false)).toEqual([]);
  }, 60_000);

  it('the visitor erased before the upgrade, nothing names them after it', async () => {
    expect(await scenario('brk', true)).toEqual([]);
  }, 60_000);
});
