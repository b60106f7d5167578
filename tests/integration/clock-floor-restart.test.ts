/**
 * Audit 6 (issue 10, consent under an unlucky clock; the fifth audit's MonotonicClock fix).
 *
 * Promise (README "Which consent change wins"; commit f7115de): "a denial received after a grant happened always
 * wins"; the engine's clock never goes back, "floored at start by the last event its data folder's bus log
 * recorded, so a restart on a clock set back orders receipts after what came before".
 *
 * How it breaks: the floor is the bus log's last `time`, which the local bus writes truncated to the second
 * (`toISOString().replace(/\.\d{3}Z$/, 'Z')`), while receipts (and so consent keys) keep milliseconds. A
 * `Subscribed` received at hh:mm:ss.400 is logged as hh:mm:ss. The engine stops and starts again on a clock
 * set back (an NTP step while it was down, a VM restored): its clock starts at hh:mm:ss.000, and a one-click
 * unsubscribe right away is received at hh:mm:ss.000 — before the grant's key. "You are unsubscribed", and
 * consent stays `granted`. (The bus log's `time` of an ingested event is also the raw wall clock, `new Date()`
 * in LocalEventBus.putEvents, not the engine's monotonic clock: a step back while the engine runs lowers the
 * floor the next start reads by the whole step.)
 *
 * Cause: infra/embedded/engine.ts:237-239 floors the clock at `bus.log.at(-1)?.time`; infra/embedded/event-bus.ts:183
 * writes that time at second precision (and from `new Date()`, not the engine clock, when the entry has no Time).
 *
 * Suggested fix: persist the monotonic clock's high-water mark itself (ms, written with each receipt or before
 * answering, e.g. in the data folder or the profile table) and floor from it, or floor at the log's time + 1 s;
 * stamp bus entries with the engine clock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { unsubscribeUrl } from '../../functions/journeys/unsubscribe';
import type { Clock } from '../../shared';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';

const KEY = 'k-a6-clock-floor';
const dataDir = mkdtempSync(join(tmpdir(), 'rapport-a6-clock-'));

describe('a one-click unsubscribe right after a restart on a clock set back', () => {
  let engine: Engine | undefined;
  afterAll(async () => {
    await engine?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('still wins over the grant received before the restart', async () => {
    let offsetMs = 0;
    const clock: Clock = { now: () => new Date(Date.now() + offsetMs), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };
    const options = { dataDir, clock, unsubscribeKeys: [KEY], sweepEveryMs: 0, logLevel: 'SILENT' as const, sendPolicy: { quietHours: undefined } };
    engine = await startTestEngine(options);
    let api = client(engine);
    const id = 'a6-clock-floor-1';

    await api.sendAndSettle([{ type: 'identify', userId: id, messageId: `${id}-1`, traits: { email: 'a6.clock.floor@example.org' } }]);
    // The grant, received well inside a second (nothing else is logged after it in that second).
    while (Date.now() % 1000 < 50 || Date.now() % 1000 > 200) await new Promise((r) => setTimeout(r, 5));
    await api.sendAndSettle([{ type: 'track', userId: id, messageId: `${id}-sub`, event: 'Subscribed', properties: { channel: 'email' } }]);
    const grant = (await api.customer(id)).consent.email as { status: string; key?: string };
    expect(grant.status).toBe('granted');

    // Stopped; the machine's clock is set back ten minutes; started again on the same data folder.
    await engine.stop();
    engine = undefined;
    offsetMs = -10 * 60_000;
    engine = await startTestEngine(options);
    api = client(engine);

    const res = await fetch(unsubscribeUrl(engine.url, KEY, id, 'email'), { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/You are unsubscribed/);
    await engine.settle();

    const after = (await api.customer(id)).consent.email as { status: string; key?: string };
    expect(after, `grant key ${grant.key}; the floor after the restart is the bus log's time, to the second`).toMatchObject({ status: 'denied' });
  }, 60_000);
});
