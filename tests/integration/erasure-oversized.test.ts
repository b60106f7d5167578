/**
 * A profile item stored before the profile limits can unpack beyond the 4 MiB the codec reads
 * (ProfileTooLargeError). Export and the view answer a clear 422 naming the problem (not a 500), and
 * erasure still removes it and every partition it names (visitor ids, ids joined into it), found by
 * scanning the body as a stream; a key of the same name inside the traits names nobody.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { documentClient, emptyProfile } from '../../functions/profile';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import { client } from '../helpers/client';
import { allItems } from '../helpers/data-folder';
import { startTestEngine } from '../helpers/engine';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('a profile item too large to unpack', () => {
  it('answers 422 to export and view, and is erased with every partition it names', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rapport-erasure-oversized-'));
    dirs.push(dataDir);
    const engine = await startTestEngine({ dataDir, sweepEveryMs: 0, logLevel: 'SILENT' });
    const api = client(engine);
    const doc = documentClient(engine.dynamo.client);
    const now = new Date().toISOString();
    // Prepare: as written before the limits: 5 MiB of traits, a visitor and a joined id, and a trap in the traits.
    const profile = {
      ...emptyProfile('ovs-1', now),
      anonymousIds: ['ovs-visitor'],
      mergedIds: ['ovs-old'],
      traits: { email: 'ovs-1@example.org', bio: 'x'.repeat(5 * 1024 * 1024), anonymousIds: ['ovs-victim'], nested: { mergedIds: ['ovs-victim'] } },
    };
    await engine.profiles.put({ profile, applied: [], outbox: [], version: 1 }, undefined);
    for (const id of ['ovs-1', 'anon:ovs-visitor', 'ovs-old', 'anon:ovs-victim', 'ovs-victim']) {
      await doc.send(new PutCommand({ TableName: PROFILE_TABLE, Item: { PK: `C#${id}`, SK: 'E#2026-01-01T00:00:00.000Z#default#m', itemType: 'event', event: { userId: id } } }));
    }
    await doc.send(new PutCommand({ TableName: PROFILE_TABLE, Item: { PK: 'A#ovs-visitor', SK: 'A', itemType: 'alias', customerId: 'ovs-1' } }));

    // Act and assess: a clear refusal to show it, a complete erasure.
    for (const path of ['/v1/customers/ovs-1', '/v1/customers/ovs-1/export']) {
      const res = await api.get(path);
      expect(res.status, path).toBe(422);
      expect(res.json.error).toBe('profile_too_large');
      expect(res.json.message).toContain('DELETE /v1/customers/{id} still erases it');
    }
    const del = await api.del('/v1/customers/ovs-1');
    expect(del.status).toBe(200);
    await engine.stop();
    const left = (await allItems(dataDir)).map(({ item }) => item);
    expect(left.filter((item) => /ovs-(1|visitor|old)/.test(item))).toEqual([]);
    // Named only inside the traits: not the profile's, left alone.
    expect(left.filter((item) => item.includes('ovs-victim'))).toHaveLength(2);
  }, 60_000);
});
