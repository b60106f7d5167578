/**
 * The stats of a journey a reload removed while its runs are in flight stay readable (audit 15): the runs go on
 * ("runs in flight finish on the version they started on"), send and count under the journey's id and version, and
 * `GET /v1/journeys/{id}/stats` answers with their counters, per version, marked `removed: true`. On virtual time.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { ROOT } from '../cli/helpers';
import { useTestEngine } from '../helpers/engine';

const HOUR = 3_600_000;
const START = Date.parse('2026-03-02T10:00:00Z');
const folder = mkdtempSync(join(tmpdir(), 'rapport-audit15-removed-stats-'));
cpSync(join(ROOT, 'workflows'), join(folder, 'workflows'), { recursive: true });
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('audit 15: stats of a removed journey whose runs are in flight', () => {
  const clock = new VirtualClock(START);
  const world = useTestEngine({ clock, journeysDir: join(folder, 'workflows/journeys.d'), templatesDir: join(folder, 'workflows/templates'), sweepEveryMs: 0, sendPolicy: { quietHours: undefined }, logLevel: 'SILENT' });
  const complaint = (id: string) => [{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Complaint Filed', messageId: `${id}-complaint`, properties: { complaintId: `c-${id}`, category: 'delivery' } }];
  const stats = async () => {
    const res = await world.api.get('/v1/journeys/complaint-follow-up/stats');
    return { status: res.status, entered: (res.json as { counters?: Record<string, number> }).counters?.entered };
  };

  it('control: while the journey is loaded, its stats count the run', async () => {
    await world.api.sendAndSettle(complaint('rs-0'));
    expect(await stats()).toEqual({ status: 200, entered: 1 });
  });

  it('after a reload removed it, the stats of its runs still in flight stay readable', async () => {
    await world.api.sendAndSettle(complaint('rs-1'));
    rmSync(join(folder, 'workflows/journeys.d/complaint-follow-up.yaml'));
    expect((await fetch(`${world.engine.url}/v1/admin/reload`, { method: 'POST' })).status).toBe(200);
    await clock.run(clock.now().getTime() + HOUR);
    expect(await stats()).toEqual({ status: 200, entered: 2 });
  });
});
