/**
 * The link-mark migration keeps the old mark of a customer who came back, so the erasure of their new life reaches the
 * visitor it names (found by the twelfth audit). Under the old code M was erased and came back (a new life); M's new
 * life then linked visitor V (an identify with both ids) and that profile write failed for good, leaving the old-shape
 * mark `C#M / N#anon:V`. At the upgrade `migrateOldLinkMarkers` deleted, instead of rewriting, every mark whose ids had
 * a tombstone: M's from the first erasure was still there, though M lives again, and DELETE M then left V's profile
 * with V's email. Now an id counts as erased for the migration only if it has not come back (`erasedNow`). Control:
 * M never erased before, the mark is rewritten and V goes with M.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startDynalite } from '../../infra/embedded/dynamo';
import { PROFILE_TABLE, type Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { profileItemsNaming, startTestEngine } from '../helpers/engine';

const dirs: string[] = [];
let engine: Engine | undefined;
afterAll(async () => {
  await engine?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function scenario(tag: string, cameBack: boolean) {
  const dataDir = mkdtempSync(join(tmpdir(), `rapport-a12-mark-life-${tag}-`));
  dirs.push(dataDir);
  const M = `a12-mark-m-${tag}`;
  const V = `a12-mark-visitor-${tag}`;
  const V_EMAIL = `a12.mark.visitor.${tag}@example.org`;
  const clock = new VirtualClock('2026-03-02T10:00:00Z');
  engine = await startTestEngine({ clock, dataDir, sweepEveryMs: 0, logLevel: 'SILENT' });
  await client(engine).sendAndSettle({ type: 'identify', userId: M, traits: { plan: 'basic' } });
  if (cameBack) {
    // M erased, and back a moment later: a new life.
    expect((await client(engine).del(`/v1/customers/${M}`)).status).toBe(200);
    clock.advance(clock.now().getTime() + 60_000);
    await clock.idle();
    await client(engine).sendAndSettle({ type: 'identify', userId: M, traits: { plan: 'pro' } });
    expect((await client(engine).get(`/v1/customers/${M}`)).status).toBe(200);
  }
  // Visitor V, M's device (browsing before logging in).
  await client(engine).sendAndSettle({ type: 'identify', anonymousId: V, traits: { email: V_EMAIL } });
  await engine.stop();
  engine = undefined;

  // The old engine marked M's link of V before a profile write that then failed for good; no `link-marks-hashed` yet.
  rmSync(join(dataDir, 'link-marks-hashed'), { force: true });
  const dynamo = await startDynalite(join(dataDir, 'dynamodb'));
  await dynamo.client.send(new PutItemCommand({ TableName: PROFILE_TABLE, Item: { PK: { S: `C#${M}` }, SK: { S: `N#anon:${V}` }, itemType: { S: 'link-marker' } } }));
  await dynamo.close();

  // The upgraded engine rewrites the old marks at start; then M asks to be erased.
  engine = await startTestEngine({ clock, dataDir, sweepEveryMs: 0, logLevel: 'SILENT' });
  expect((await client(engine).del(`/v1/customers/${M}`)).status).toBe(200);
  await engine.settle();
  const left = (await profileItemsNaming(engine, [V, V_EMAIL])).length;
  await engine.stop();
  engine = undefined;
  return { itemsNamingVisitor: left };
}

describe("an old-shape link mark of a customer who came back, at the upgrade (audit 12)", () => {
  it('control: M never erased before, the rewritten mark takes V with M', async () => {
    expect(await scenario('ctl', false)).toEqual({ itemsNamingVisitor: 0 });
  }, 60_000);

  it('M living a new life, the mark still takes V with M', async () => {
    expect(await scenario('brk', true)).toEqual({ itemsNamingVisitor: 0 });
  }, 60_000);
});
