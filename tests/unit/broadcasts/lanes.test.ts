/**
 * The channels' lanes (issue 14): one token bucket per channel in the profile table, shared by every broadcast.
 * On dynalite, with many pages taking at the same instant: together they never get more than the bucket holds
 * (a full second of the rate) plus what the rate adds with time; what a page gives back is taken again; an empty
 * bucket says how long to wait; a channel without a rate is not limited. Bad rates are refused naming the field.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BroadcastLanes } from '../../../functions/broadcasts';
import { documentClient } from '../../../functions/profile';
import { configFromEnv } from '../../../infra/embedded/engine';
import { ensureTable, profileTableDefinition, startDynalite, type LocalDynamo } from '../../../infra/embedded/dynamo';
import { parseBroadcastRates } from '../../../shared/broadcasts';

const TABLE = 'profiles';

describe('broadcast lanes (a token bucket per channel)', () => {
  let dynamo: LocalDynamo;
  let doc: DynamoDBDocumentClient;
  let now = Date.parse('2026-03-02T10:00:00Z');
  const clock = { now: () => new Date(now) };

  beforeAll(async () => {
    dynamo = await startDynalite();
    await ensureTable(dynamo.client, profileTableDefinition(TABLE));
    doc = documentClient(dynamo.client);
  });
  afterAll(async () => {
    await dynamo.close();
  });

  it('grants concurrent pages no more than a full bucket, then the rate as time passes', async () => {
    const lanes = new BroadcastLanes(doc, TABLE, { email: 10 }, clock);
    // 12 pages of 3 at once: a full bucket is 10 messages (one second at 10/s), whoever wins the races.
    const first = await Promise.all(Array.from({ length: 12 }, () => lanes.take('email', 3)));
    expect(first.reduce((sum, g) => sum + g.granted, 0)).toBe(10);
    expect(first.every((g) => g.granted <= 3)).toBe(true);
    // Empty: a page is told to wait until its page's worth is there.
    expect(await lanes.take('email', 5)).toEqual({ granted: 0, waitSeconds: 1 });
    // Half a second adds 5.
    now += 500;
    const second = await Promise.all(Array.from({ length: 6 }, () => lanes.take('email', 2)));
    expect(second.reduce((sum, g) => sum + g.granted, 0)).toBe(5);
    // A long pause fills the bucket to its capacity, not beyond.
    now += 60_000;
    expect((await lanes.take('email', 1_000)).granted).toBe(10);
  });

  it('takes again what a page gave back, and never more than the rate over a long run', async () => {
    const lanes = new BroadcastLanes(doc, TABLE, { sms: 2 }, clock);
    expect((await lanes.take('sms', 2)).granted).toBe(2);
    await lanes.giveBack('sms', 1);
    expect((await lanes.take('sms', 5)).granted).toBe(1);
    // 30 seconds of pages asking for 4 every quarter second, two at a time: 2/s, so 60 in all.
    let granted = 0;
    for (let step = 0; step < 120; step++) {
      now += 250;
      const pair = await Promise.all([lanes.take('sms', 4), lanes.take('sms', 4)]);
      granted += pair[0].granted + pair[1].granted;
    }
    expect(granted).toBe(60);
    // A slow rate waits several seconds for a page's worth.
    const slow = new BroadcastLanes(doc, TABLE, { email: 0.25 }, clock);
    expect((await slow.take('email', 1)).granted).toBe(1);
    expect(await slow.take('email', 1)).toEqual({ granted: 0, waitSeconds: 4 });
  });

  it('does not limit a channel without a rate, and writes nothing for it', async () => {
    const lanes = new BroadcastLanes(doc, TABLE, {}, clock);
    expect(await lanes.take('email', 1_000)).toEqual({ granted: 1_000 });
    await lanes.giveBack('email', 5);
  });

  it('refuses bad rates, naming the field and what was expected', () => {
    expect(parseBroadcastRates('{"email": 14, "sms": 0.5}', 'RAPPORT_BROADCAST_RATES')).toEqual({ email: 14, sms: 0.5 });
    expect(() => parseBroadcastRates('{"email": 0}', 'RAPPORT_BROADCAST_RATES')).toThrow(/RAPPORT_BROADCAST_RATES\.email: expected messages per second, a number above 0/);
    expect(parseBroadcastRates({ whatsapp: 20, push: 100 }, 'broadcastRates')).toEqual({ whatsapp: 20, push: 100 });
    expect(() => parseBroadcastRates({ webhook: 3 }, 'broadcastRates')).toThrow(/broadcastRates\.webhook: expected a channel a broadcast sends on \(email, sms, whatsapp, push\)/);
    expect(() => parseBroadcastRates('email=14', 'RAPPORT_BROADCAST_RATES')).toThrow(/RAPPORT_BROADCAST_RATES: expected a JSON object/);
    expect(() => parseBroadcastRates({ email: '14' }, 'broadcastRates')).toThrow(/broadcastRates\.email: expected messages per second/);
    expect(() => parseBroadcastRates([14], 'broadcastRates')).toThrow(/broadcastRates: expected an object/);
    // `npm start` reads them from the environment, and refuses to start on a bad one.
    const dataDir = mkdtempSync(join(tmpdir(), 'rapport-rates-'));
    expect(configFromEnv({ RAPPORT_DATA_DIR: dataDir, RAPPORT_BROADCAST_RATES: '{"email":10}' }).broadcastRates).toEqual({ email: 10 });
    expect(configFromEnv({ RAPPORT_DATA_DIR: dataDir }).broadcastRates).toEqual({});
    expect(() => configFromEnv({ RAPPORT_DATA_DIR: dataDir, RAPPORT_BROADCAST_RATES: '{"sms":-1}' })).toThrow(/RAPPORT_BROADCAST_RATES\.sms: expected messages per second/);
    rmSync(dataDir, { recursive: true, force: true });
  });
});
