/**
 * A broadcast across a crash: the engine runs as a child process on a data folder and is killed with
 * SIGKILL in the middle of a broadcast's send (the message is in the outbox, the provider has not
 * answered). Started again on the same folder, the broadcast's execution resumes at the page it was in:
 * the recipient whose send may have gone out is recorded failed and not sent again, every other member
 * gets the message once, and the broadcast completes.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { OutboxEntry } from '../../infra/embedded/outbox';
import { killDurableChildren, startDurableChild } from '../helpers/durable-child';
import { TEST_SECRET } from '../helpers/engine';
import { eventually } from '../helpers/journeys';
import { post, signedRequest } from '../helpers/webhook';

const dirs: string[] = [];
afterEach(killDurableChildren);
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The broadcast's emails as the data folder's outbox holds them, by customer. */
function broadcastEmails(dataDir: string, id: string): string[] {
  const file = join(dataDir, 'outbox.ndjson');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as OutboxEntry)
    .filter((m) => m.channel === 'email' && m.tags.journey === `broadcast:${id}`)
    .map((m) => (m as { tags: Record<string, string> }).tags.customer!)
    .sort();
}

const MEMBERS = ['x-1', 'x-2', 'x-3', 'x-4', 'x-5'];

describe('a broadcast killed with SIGKILL in the middle of a send', () => {
  it('resumes after the restart: nobody gets it twice, the unknown send is recorded failed, the rest are sent', async () => {
    // Prepare: five members; the first send of the broadcast lands in the outbox and never returns.
    const dataDir = mkdtempSync(join(tmpdir(), 'rapport-broadcast-crash-'));
    dirs.push(dataDir);
    const first = await startDurableChild(dataDir, { RAPPORT_TIME_SCALE: '1', DURABLE_HANG_STEP: 'send' });
    const events = MEMBERS.map((id) => ({ type: 'identify', userId: id, traits: { email: `${id}@example.com`, tags: ['crm-gold'] } }));
    expect((await post(`${first.engine.url}/v1/events`, signedRequest(TEST_SECRET, { batch: events }))).status).toBe(202);
    await eventually(async () => ((await (await fetch(`${first.engine.url}/v1/segments/tag:crm-gold`)).json()) as { count: number }).count === 5, 'the members to be counted');
    // One a second: one recipient per page, so the crash comes in the first page's only send.
    const created = await fetch(`${first.engine.url}/v1/broadcasts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'crash-news', segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you', kind: 'transactional' }, rate: 1 }),
    });
    expect(created.status).toBe(201);
    await eventually(() => first.lines.includes('SENT send'), 'the first send to reach the outbox');

    // Act
    await first.kill();
    expect(broadcastEmails(dataDir, 'crash-news')).toEqual(['x-1']);
    // A minute a second after the restart: the four pages left, one a second at the broadcast's rate, take 70 real ms.
    const second = await startDurableChild(dataDir, { RAPPORT_TIME_SCALE: '60' });
    const done = await eventually(
      async () => {
        const view = (await (await fetch(`${second.engine.url}/v1/broadcasts/crash-news`)).json()) as { status: string };
        return view.status === 'completed' && view;
      },
      'the broadcast to complete after the restart',
      30_000,
    );

    // Assess
    expect(done).toMatchObject({ status: 'completed', recipients: 5, sent: 4, failed: 1, deferred: 0 });
    expect(broadcastEmails(dataDir, 'crash-news')).toEqual(MEMBERS);
    const messages = (await (await fetch(`${second.engine.url}/v1/customers/x-1/messages`)).json()) as { messages: Array<{ journeyId: string; status: string; reason?: string }> };
    expect(messages.messages.find((m) => m.journeyId === 'broadcast:crash-news')).toMatchObject({ status: 'failed', reason: expect.stringContaining('may have gone out') });
    await second.kill();
  }, 120_000);
});
