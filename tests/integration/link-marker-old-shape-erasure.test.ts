/**
 * Link marks written before they were keyed by a hash (`C#<customer>` / `N#<linked id>`, the linked id in clear in
 * the linking customer's partition) are rewritten once per data folder at start (`migrateOldLinkMarkers`, marker
 * `<data>/link-marks-hashed`; in AWS infra/tools/migrate-link-markers.ts): then the erasure of the id such a mark names
 * (another customer's visitor) deletes it, as it does a mark written since.
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

const dataDir = mkdtempSync(join(tmpdir(), 'rapport-old-link-marks-'));
const A = 'old-mark-a-7302';
const M = 'old-mark-m-7302';
const V = 'old-mark-visitor-7302';

describe("a link mark of the old shape naming another customer's visitor", () => {
  let engine: Engine | undefined;
  afterAll(async () => {
    await engine?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is gone once that customer (and the visitor) is erased', async () => {
    engine = await startTestEngine({ dataDir, sweepEveryMs: 0, logLevel: 'SILENT' });
    await client(engine).sendAndSettle({ type: 'identify', userId: A, anonymousId: V, traits: { email: `${A}@example.org` } });
    await client(engine).sendAndSettle({ type: 'identify', userId: M, traits: { plan: 'basic' } });
    await engine.stop();
    engine = undefined;

    // A mark as the consumer wrote it before the hashed key (M's write of the link then failed for good); an engine
    // from before wrote no `link-marks-hashed` marker in its data folder.
    rmSync(join(dataDir, 'link-marks-hashed'), { force: true });
    const dynamo = await startDynalite(join(dataDir, 'dynamodb'));
    await dynamo.client.send(new PutItemCommand({ TableName: PROFILE_TABLE, Item: { PK: { S: `C#${M}` }, SK: { S: `N#anon:${V}` }, itemType: { S: 'link-marker' } } }));
    await dynamo.close();

    engine = await startTestEngine({ dataDir, sweepEveryMs: 0, logLevel: 'SILENT' });
    const api = client(engine);
    expect((await api.del(`/v1/customers/${A}`)).status).toBe(200);
    await engine.settle();
    expect(await profileItemsNaming(engine, [V, A])).toEqual([]);
  }, 60_000);
});
