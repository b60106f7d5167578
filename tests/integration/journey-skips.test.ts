/**
 * "Why did this customer not enter?" has an answer: a trigger that starts nothing is recorded under the
 * customer (the latest per journey: reason, when, which event) and shown by `GET /v1/customers/{id}/journeys`;
 * erasure removes it with the rest.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { startTestEngine, useTestEngine } from '../helpers/engine';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { PROFILE_TABLE } from '../../infra/embedded/engine';

const START = Date.parse('2026-03-02T10:00:00Z');
const DAY = 86_400_000;
const at = (ms: number) => new Date(ms).toISOString();

describe('journey skips per customer', () => {
  const clock = new VirtualClock(START);
  const world = useTestEngine({ clock, sweepEveryMs: 0, sendPolicy: { quietHours: undefined }, logLevel: 'SILENT' });

  const journeysOf = async (id: string) => (await world.api.get(`/v1/customers/${id}/journeys`)).json as unknown as { runs: Array<{ journeyId: string }>; skipped: Array<Record<string, unknown>> };

  it('records a second sign-up that re-entry refuses, and a stale (imported) trigger, with the event that caused each', async () => {
    await world.api.sendAndSettle([{ type: 'identify', userId: 'sk-1', traits: { email: 'sk-1@example.com' } }, { type: 'track', userId: 'sk-1', event: 'Signed Up', messageId: 'sk-1-a', timestamp: at(START) }]);
    expect((await journeysOf('sk-1')).skipped).toEqual([]);
    await world.api.sendAndSettle({ type: 'track', userId: 'sk-1', event: 'Signed Up', messageId: 'sk-1-b', timestamp: at(START) });
    expect((await journeysOf('sk-1')).skipped).toEqual([{ journeyId: 'welcome', reason: 're-entry', at: at(START), event: 'Signed Up', sourceId: 'default', messageId: 'sk-1-b' }]);

    await world.api.sendAndSettle([{ type: 'identify', userId: 'sk-2', traits: { email: 'sk-2@example.com' } }, { type: 'track', userId: 'sk-2', event: 'Signed Up', messageId: 'sk-2-old', timestamp: at(START - 30 * DAY) }]);
    const view = await journeysOf('sk-2');
    expect(view.runs).toEqual([]);
    expect(view.skipped).toEqual([expect.objectContaining({ journeyId: 'welcome', reason: 'stale', messageId: 'sk-2-old' })]);
    const stats = (await world.api.get('/v1/journeys/welcome/stats')).json as unknown as { counters: Record<string, number> };
    expect(stats.counters['skipped.stale']).toBe(1);
    expect(stats.counters['skipped.re-entry']).toBe(1);
  });

  it('erasure removes the skip records with everything else', async () => {
    expect((await world.api.del('/v1/customers/sk-1')).status).toBe(200);
    const items = (await world.engine.dynamo.client.send(new ScanCommand({ TableName: PROFILE_TABLE, ConsistentRead: true }))).Items ?? [];
    expect(items.filter((item) => JSON.stringify(item).includes('sk-1'))).toEqual([]);
    expect(items.some((item) => JSON.stringify(item).includes('sk-2'))).toBe(true);
  });

  it('a skip of a journey named like a channel never replaces a suppression hold (hostile audit F1)', async () => {
    const { mkdtempSync, readFileSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'rapport-skip-email-'));
    writeFileSync(join(dir, 'email.yaml'), readFileSync('workflows/journeys.d/welcome.yaml', 'utf8').replace(/^id: welcome$/m, 'id: email'));
    const other = await startTestEngine({ clock: new VirtualClock(START), journeysDir: dir, sweepEveryMs: 0, sendPolicy: { quietHours: undefined }, logLevel: 'SILENT' });
    try {
      const c = client(other);
      await c.sendAndSettle([{ type: 'identify', userId: 'sk-e', traits: { email: 'sk-e@example.com' } }, { type: 'track', userId: 'sk-e', event: 'Signed Up', messageId: 'sk-e-a', timestamp: at(START) }]);
      await c.sendAndSettle({ type: 'track', userId: 'sk-e', event: 'Message Bounced', messageId: 'sk-e-bounce', timestamp: at(START), properties: { channel: 'email', bounceType: 'hard' } });
      // Re-entry refuses a second sign-up: its skip record (journey "email") must not land on the hold of channel email.
      await c.sendAndSettle({ type: 'track', userId: 'sk-e', event: 'Signed Up', messageId: 'sk-e-b', timestamp: at(START) });
      const view = (await c.get('/v1/customers/sk-e/journeys')).json as unknown as { skipped: Array<Record<string, unknown>> };
      expect(view.skipped).toEqual([expect.objectContaining({ journeyId: 'email', reason: 're-entry' })]);
      const items = (await other.dynamo.client.send(new ScanCommand({ TableName: PROFILE_TABLE, ConsistentRead: true }))).Items ?? [];
      const hold = items.find((item) => item.PK?.S === 'C#sk-e' && item.SK?.S === 'S#email');
      expect(hold?.itemType?.S).toBe('suppression-hold');
    } finally {
      await other.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
