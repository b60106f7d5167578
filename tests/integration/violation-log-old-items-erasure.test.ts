/**
 * Found by the seventh audit of issue 10 ( tracking-plan violations; the sixth audit's 5e95bcb, on an engine upgraded with its data).
 *
 * Promise (issue 10 "Done when"; README "Privacy: erasure" and the violations route): after DELETE answers no item
 * in any table holds the customer's id or email; violations name the event by a hash of its messageId, "a messageId
 * may name a customer, the list never does".
 *
 * How it broke: the sixth audit found violation items (`TPV#`, outside any customer's partition) storing the
 * sender's raw messageId, often built from a customer id or email, "after DELETE ... 30 days in AWS, for good in
 * dynalite". The fix hashes new items and lists old ones by their hash, but leaves the old items as they are: on an
 * engine upgraded with its data folder, a violation recorded before the upgrade keeps the raw messageId (in an
 * attribute and in its sort key). The customer is erased; the item still holds their email, for good (dynalite
 * never deletes TTL'd items).
 *
 * Was: functions/ingest/violations.ts: no migration of items written before `messageIdHash`; erasure
 * (functions/profile/store.ts `erase`) never looks at `TPV#` partitions.
 *
 * Fix: `hashOldViolations` (functions/ingest/violations.ts) rewrites old items in their hashed form (same TTL, old
 * key deleted); the embedded engine runs it once per data folder at start (marker `<data>/violations-hashed`), and an
 * AWS deployment once as a one-off (infra/tools/hash-old-violations.ts, docs/operations.md).
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startDynalite } from '../../infra/embedded/dynamo';
import { PROFILE_TABLE, type Engine } from '../../infra/embedded/engine';
import { client } from '../helpers/client';
import { profileItemsNaming, startTestEngine } from '../helpers/engine';

const dataDir = mkdtempSync(join(tmpdir(), 'rapport-a7-old-violations-'));

describe('a violation recorded before the hash, then the customer it names is erased', () => {
  let engine: Engine | undefined;
  afterAll(async () => {
    await engine?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('leaves no item naming the customer', async () => {
    const id = 'a7-old-violation-1';
    const email = 'a7.old.violation@example.org';
    engine = await startTestEngine({ dataDir, sweepEveryMs: 0, logLevel: 'SILENT' });
    await client(engine).sendAndSettle({ type: 'identify', userId: id, traits: { email } });
    await engine.stop();
    engine = undefined;

    // The data folder holds a violation as ingest wrote it before 5e95bcb (functions/ingest/violations.ts at
    // 5e95bcb^), for a messageId built from the email; then the upgraded engine starts on it. An engine from before
    // the fix wrote no `violations-hashed` marker in its data folder.
    rmSync(join(dataDir, 'violations-hashed'), { force: true });
    const receivedAt = new Date().toISOString();
    const messageId = `signup-${email}`;
    const shard = createHash('sha256').update(`default\n${messageId}`).digest()[0]! % 8;
    const dynamo = await startDynalite(join(dataDir, 'dynamodb'));
    await dynamo.client.send(
      new PutItemCommand({
        TableName: PROFILE_TABLE,
        Item: {
          PK: { S: `TPV#${receivedAt.slice(0, 10)}#${shard}` },
          SK: { S: `${receivedAt}#default#${messageId}` },
          itemType: { S: 'tracking-plan-violation' },
          receivedAt: { S: receivedAt },
          sourceId: { S: 'default' },
          messageId: { S: messageId },
          event: { S: 'Order Completed' },
          violations: { L: [{ M: { path: { S: '$.properties.revenue' }, message: { S: 'Order Completed: expected a number' } } }] },
          mode: { S: 'flag' },
          ttl: { N: String(Math.ceil(Date.parse(receivedAt) / 1000) + 30 * 86_400) },
        },
      }),
    );
    await dynamo.close();
    engine = await startTestEngine({ dataDir, sweepEveryMs: 0, logLevel: 'SILENT' });
    const api = client(engine);
    // Listed by its hash (the fix's reading of old items).
    expect(JSON.stringify((await api.get('/v1/tracking-plan/violations')).json)).not.toContain(email);

    expect((await api.del(`/v1/customers/${id}`)).status).toBe(200);
    expect((await profileItemsNaming(engine, [email])).map((item) => item.slice(0, 80)), 'items naming the erased customer\'s email').toEqual([]);
  }, 60_000);
});
