/**
 * Found by the fourth audit of issue 10 ("Done when": no file of the data folder names an erased customer): a
 * broadcast's page cursor names the last customer a page listed, and it was carried in the execution's state,
 * which the embedded engine journals in `<data>/broadcasts/executions` (in AWS: the execution's history), where
 * erasure cannot rewrite it. Cursors are now kept in the profile table (functions/profile/broadcast-cursor.ts)
 * and rewound by erasure; the state names no customer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { client } from '../helpers/client';
import { filesNaming } from '../helpers/data-folder';
import { startTestEngine } from '../helpers/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('erasure and the broadcast execution journal', () => {
  it('leaves no file of the data folder naming a customer a running broadcast deferred, once erased', async () => {
    // Prepare: three members, one a page (rate 1 a second): each page's cursor names its last member. Quiet
    // hours around now: each is deferred, and the broadcast waits for them (running, its execution journaled).
    const now = Date.parse('2026-03-02T10:00:00Z');
    const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
    const dataDir = mkdtempSync(join(tmpdir(), 'rapport-audit-bcast-journal-'));
    dirs.push(dataDir);
    const clock = new VirtualClock(now);
    const engine = await startTestEngine({ clock, dataDir, sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: { start: hhmm(now - 3_600_000), end: hhmm(now + 3 * 3_600_000) }, defaultTimeZone: 'UTC' } });
    const api = client(engine);
    const ids = ['bj-a-7781', 'bj-b-7782', 'bj-c-7783'];
    await api.sendAndSettle(ids.map((id) => ({ type: 'identify', userId: id, messageId: `${id}-id`, traits: { email: `${id}@example.org`, tags: ['crm-gold'] } })));
    const res = await fetch(`${engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'bj-news', segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you', kind: 'marketing' }, rate: 1 }) });
    expect(res.status).toBe(201);
    const view = async () => (await api.get('/v1/broadcasts/bj-news')).json as unknown as { status: string; recipients: number; deferred: number };
    // Every page, a second apart, on virtual time; then the broadcast waits for the end of quiet hours.
    await clock.run(now + 60_000);
    expect(await view()).toMatchObject({ status: 'running', recipients: 3, deferred: 3 });

    // Act
    for (const id of ids) expect((await api.del(`/v1/customers/${id}`)).status).toBe(200);
    await engine.settle();
    await engine.stop();

    // Assess
    expect(filesNaming(dataDir, ids).map((f) => f.slice(dataDir.length))).toEqual([]);
  }, 60_000);
});
