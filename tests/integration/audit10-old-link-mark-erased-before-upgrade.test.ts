/**
 * A link mark of the old shape naming a visitor erased before the upgrade is rewritten naming them in clear.
 * Before 2026-12 a link mark was `C#<customer>` / `N#<linked id>`, and the erasure of the linked id did not reach it
 * (docs/operations.md: "the erasure of the id they name misses them: rewrite them once after the upgrade"). So a data
 * folder (or table) from before the upgrade can hold such a mark naming a visitor the operator had already erased:
 * customer A with visitor V is erased; M's link of V had failed for good, leaving `C#M` / `N#anon:V`.
 * At the upgrade `migrateOldLinkMarkers` rewrites every old mark as `markLinks` writes it now
 * (`X#<hash(M)>` / `N#<hash(anon:V)>`, holding `id: "anon:V"`, and a pointer back under V's tombstone partition)
 * without asking whether either id is erased. V's erasure is over: nothing will ever delete the new mark, which names
 * the erased visitor in clear in the profile table (until M is erased, if ever).
 * Control: the same old mark naming a visitor erased after the upgrade is deleted by that erasure.
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

  // BREAK (audit 10): migrateOldLinkMarkers rewrites an old mark naming an id erased before the upgrade as a new mark holding `id: "anon:V"` in clear, which no erasure will reach again; fix idea: in the migration, read the linked id's (and the customer's) tombstone and delete the old mark instead of rewriting it when either is erased (write, then check for a racing erasure too).
  it.fails('the visitor erased before the upgrade, nothing names them after it', async () => {
    expect(await scenario('brk', true)).toEqual([]);
  }, 60_000);
});
