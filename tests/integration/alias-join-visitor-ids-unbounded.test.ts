import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROFILE_LIMITS } from '../../functions/profile/limits';
import { PROFILE_TABLE, type Engine } from '../../infra/embedded/engine';
import { MAX_ID_LENGTH } from '../../shared';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';

/**
 * Audit 36, issue 10 "Bounded profiles": the stored item can never exceed DynamoDB's 400 KB, and a valid event
 * never becomes a dead letter because of profile size.
 *
 * How it breaks: a profile lists at most PROFILE_LIMITS.anonymousIds (100) visitor ids when visitors are linked
 * one by one, but an alias join unites the two customers' lists whole (apply.ts `mergeInto`:
 * `[...p.anonymousIds, ...v.anonymousIds]`, no cap; consumer.ts keeps `room = max(100, before.length)`), and
 * mergedIds allows 100 joins. A sender that links 100 fresh 256-character visitor ids to each of 25 customers
 * (2,500 plain identifies, each valid) and aliases them one by one into one survivor grows the survivor's
 * packed body to ~405 KB at the 22nd join (2,201 visitor ids listed); the 23rd-25th aliases are dead letters
 * ("Item size has exceeded the maximum allowed size"), and so is a later valid identify adding one 8,000-character
 * trait. Nothing about any one event is out of bounds. Measured: body 405,374-407,121 bytes, 2,201 visitor ids,
 * 22 of 25 joined; 3 Alias + 1 Identify dead letters. (dynalite enforces DynamoDB's 400 KB item limit; not run in AWS.)
 * Found by the thirty-sixth hostile audit. Now: a join keeps the united list at 100 as a link does, the first listed
 * marked evicted before the write (`markEvicted`: still linked, erased with the customer).
 */
let engine: Engine;
let api: ReturnType<typeof client>;
// No journeys: they are not needed here.
const journeys = mkdtempSync(join(tmpdir(), 'rapport-no-journeys-'));
beforeAll(async () => {
  engine = await startTestEngine({ journeysDir: journeys });
  api = client(engine);
});
afterAll(async () => {
  await engine.stop();
  rmSync(journeys, { recursive: true, force: true });
});
/** Printable ASCII without quote or backslash, at random: as incompressible as JSON text gets. */
const noise = (n: number) => Array.from({ length: n }, () => String.fromCharCode(0x23 + Math.floor(Math.random() * 0x39))).join('');

describe('alias joins of customers with full visitor lists', () => {
  it('keep the survivor within the profile bounds: no valid event becomes a dead letter, the item stays under 400 KB', async () => {
    const survivor = 'aj-survivor';
    const customers = 25;
    await api.sendAndSettle({ type: 'identify', userId: survivor, traits: { email: 'aj@example.com' } });
    // Each customer links PROFILE_LIMITS.anonymousIds visitor ids of the longest length a sender may send: each one valid.
    for (let k = 0; k < customers; k += 5) {
      const events = [];
      for (let c = k; c < k + 5; c++) {
        for (let v = 0; v < PROFILE_LIMITS.anonymousIds; v++) events.push({ type: 'identify', userId: `aj-c${c}`, anonymousId: `${c}-${v}-${noise(MAX_ID_LENGTH - 12)}`, traits: {} });
      }
      await api.sendAndSettle(events);
    }
    expect(engine.deadLetters).toEqual([]);
    // Well within mergedIds (100): each alias joins one customer into the survivor.
    for (let c = 0; c < customers; c++) await api.sendAndSettle({ type: 'alias', userId: survivor, previousId: `aj-c${c}` });
    // A later valid identify of the survivor (a new trait of 8,000 characters, half the per-trait limit).
    await api.sendAndSettle({ type: 'identify', userId: survivor, messageId: 'aj-later', traits: { plan: noise(8_000) } });

    const letters = engine.deadLetters.map((d) => `${d.event['detail-type']}: ${d.error.slice(0, 160)}`);
    const { Item } = await engine.dynamo.client.send(new GetItemCommand({ TableName: PROFILE_TABLE, Key: { PK: { S: `C#${survivor}` }, SK: { S: 'P' } } }));
    const stored = (await engine.profiles.get(survivor))!.profile;
    const measured = `body ${Item?.body?.B?.length} bytes, ${stored.anonymousIds.length} visitor ids listed, ${stored.mergedIds?.length ?? 0} joined`;
    // The promise: every valid event applied (none a dead letter), the later trait kept, and the item within 400 KB with headroom.
    expect(letters, measured).toEqual([]);
    expect(stored.mergedIds, measured).toHaveLength(customers);
    expect(stored.traits.plan, measured).toBeDefined();
    expect(Item!.body!.B!.length, measured).toBeLessThan(400 * 1024);
    // The list keeps 100, as a link does; the visitors that left it are still the customer's: erasure reaches them all.
    expect(stored.anonymousIds.length, measured).toBeLessThanOrEqual(PROFILE_LIMITS.anonymousIds);
    // Partitions of visitors (their alias records, their own profiles) and items naming the customers' ids.
    const left = async () => {
      const visitors = new Set<string>();
      let naming = 0;
      for (let start: Record<string, never> | undefined, first = true; first || start !== undefined; first = false) {
        const page = await engine.dynamo.client.send(new ScanCommand({ TableName: PROFILE_TABLE, ConsistentRead: true, ...(start && { ExclusiveStartKey: start }) }));
        for (const item of page.Items ?? []) {
          const pk = item.PK?.S ?? '';
          if (pk.startsWith('A#') || pk.startsWith('C#anon:')) visitors.add(pk);
          if (JSON.stringify(item).includes('aj-')) naming++;
        }
        start = page.LastEvaluatedKey as Record<string, never> | undefined;
      }
      return { visitors: visitors.size, naming };
    };
    expect((await left()).visitors).toBeGreaterThanOrEqual(customers * PROFILE_LIMITS.anonymousIds);
    expect((await fetch(`${engine.url}/v1/customers/${survivor}`, { method: 'DELETE' })).status).toBe(200);
    await engine.settle();
    expect(await left()).toEqual({ visitors: 0, naming: 0 });
  }, 300_000);
});
