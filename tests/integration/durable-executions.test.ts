/**
 * Durable executions (issue 12 item 3): the engine runs as a child process on a data folder, is
 * killed with SIGKILL while a complaint run waits (or in the middle of a send), and is started again
 * on the same folder. The run must go on: on the `Complaint Resolved` sent after the restart, at its
 * escalation deadline set before the crash, and without sending a message twice.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import type { OutboxEntry } from '../../infra/embedded/outbox';
import { killDurableChildren, startDurableChild, type DurableChild } from '../helpers/durable-child';
import { TEST_SECRET } from '../helpers/engine';
import { eventually, messagesOf, runsOf } from '../helpers/journeys';
import { post, signedRequest } from '../helpers/webhook';

const JOURNEY = 'complaint-follow-up';
/**
 * Journey ms per real ms where a test waits out the 24 h escalation deadline across a crash: 6 hours a second, so
 * the whole day takes 4 real seconds; the clock then notes where it is every 20 real ms (8 journey minutes).
 */
const SCALE = 21_600;
const NOTE_MS = '20';
const dirs: string[] = [];
afterEach(killDurableChildren);
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const send = async (engine: Engine, event: Record<string, unknown>) => expect((await post(`${engine.url}/v1/events`, signedRequest(TEST_SECRET, event))).status).toBe(202);

/** A customer files a complaint; resolves once their run waits for its resolution (the wait record is in DynamoDB). */
async function fileComplaint(running: DurableChild, customerId: string, complaintId: string): Promise<void> {
  await send(running.engine, { type: 'identify', userId: customerId, traits: { email: `${customerId}@example.com` } });
  await send(running.engine, { type: 'track', userId: customerId, event: 'Complaint Filed', properties: { complaintId } });
  await eventually(() => running.lines.includes('WAITING Complaint Resolved await-resolution'), 'the run to wait for the resolution', 20_000);
}

/** The outbox as the engine's data folder holds it (outbox.ndjson). */
function outbox(dataDir: string, customerId: string): OutboxEntry[] {
  const file = join(dataDir, 'outbox.ndjson');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as OutboxEntry)
    .filter((m) => ('tags' in m && m.tags.customer === customerId) || (m.channel === 'webhook' && m.body.includes(JSON.stringify(customerId))));
}
const templates = (dataDir: string, customerId: string) => outbox(dataDir, customerId).map((m) => ('tags' in m ? m.tags.step : m.target));

describe('durable executions: kill -9 and restart on the same data folder', () => {
  it('a run waiting for Complaint Resolved resumes on the event sent after the restart, and completes', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rapport-durable-event-'));
    dirs.push(dataDir);
    const first = await startDurableChild(dataDir, { RAPPORT_TIME_SCALE: '1', DURABLE_WATCH: 'd-1' });
    await fileComplaint(first, 'd-1', 'k-1');
    await first.kill();

    // An hour passes in a second now: the hour after the resolution, then the survey. The 24 h deadline is far off.
    const second = await startDurableChild(dataDir, { RAPPORT_TIME_SCALE: '3600', DURABLE_WATCH: 'd-1' });
    await send(second.engine, { type: 'track', userId: 'd-1', event: 'Complaint Resolved', properties: { complaintId: 'k-1' } });
    await eventually(() => second.lines.includes('WAITING Order Completed await-next-order'), 'the survey, then the wait for the next order', 20_000);
    await send(second.engine, { type: 'track', userId: 'd-1', event: 'Order Completed', properties: { orderId: 'o-1', revenue: 10, currency: 'EUR' } });
    const run = await eventually(async () => (await runsOf(second.engine, 'd-1')).find((r) => r.journeyId === JOURNEY && r.status !== 'running'), 'the run to end', 20_000);
    expect(run.status).toBe('completed');
    // Each step's message went out once, across the crash.
    expect(templates(dataDir, 'd-1')).toEqual(['acknowledge', 'support', 'send-survey']);
    await second.kill();
  }, 120_000);

  it('a run whose escalation deadline comes after the restart escalates at that deadline, not 24 hours after the restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rapport-durable-timeout-'));
    dirs.push(dataDir);
    // Six hours of journey time per real second, before and after the crash (the clock goes on from the data folder).
    const first = await startDurableChild(dataDir, { RAPPORT_TIME_SCALE: String(SCALE), DURABLE_CLOCK_NOTE_MS: NOTE_MS, DURABLE_WATCH: 'd-2' });
    await fileComplaint(first, 'd-2', 'k-2');
    const started = Date.parse(((await runsOf(first.engine, 'd-2')).find((r) => r.journeyId === JOURNEY) as unknown as { startedAt: string }).startedAt);
    // Let the first engine's clock (noted in the data folder every NOTE_MS) get a quarter of the way to the deadline: the
    // kill then comes 3 real seconds before the first engine could escalate, and a deadline wrongly restarted by the
    // resume would be 6 hours (a real second) after the right one.
    const noted = () => (JSON.parse(readFileSync(join(dataDir, 'clock.json'), 'utf8')) as { journeyTime: number }).journeyTime;
    await eventually(() => noted() >= started + 6 * 3_600_000, 'the journey clock to pass 6 hours into the run', 30_000);
    await first.kill();
    const killedAt = noted();
    expect(templates(dataDir, 'd-2')).toEqual(['acknowledge', 'support']);

    const second = await startDurableChild(dataDir, { RAPPORT_TIME_SCALE: String(SCALE), DURABLE_CLOCK_NOTE_MS: NOTE_MS, DURABLE_WATCH: 'd-2' });
    const escalation = await eventually(() => outbox(dataDir, 'd-2').find((m) => m.channel === 'webhook' && m.target === 'supervisor'), 'the escalation to the supervisor', 60_000);
    // At the deadline set before the crash (24 hours of journey time after the run started), not before it; and
    // before any deadline restarted by the resume could come (the second engine's clock starts where the first stopped).
    const at = Date.parse(escalation.at);
    expect(at).toBeGreaterThanOrEqual(started + 86_400_000);
    expect(at).toBeLessThan(killedAt + 86_400_000);
    expect(templates(dataDir, 'd-2')).toEqual(['acknowledge', 'support', 'supervisor']);
    // And the run goes on to the next wait (48 hours for a resolution after the escalation).
    await eventually(() => second.lines.includes('WAITING Complaint Resolved await-escalated-resolution'), 'the wait after the escalation', 20_000);
    await second.kill();
  }, 120_000);

  it('a kill in the middle of a send: after the restart the message is not sent again, and the run ends failed, its lock freed', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rapport-durable-send-'));
    dirs.push(dataDir);
    const first = await startDurableChild(dataDir, { RAPPORT_TIME_SCALE: '1', DURABLE_HANG_STEP: 'acknowledge' });
    await send(first.engine, { type: 'identify', userId: 'd-3', traits: { email: 'd-3@example.com' } });
    await send(first.engine, { type: 'track', userId: 'd-3', event: 'Complaint Filed', properties: { complaintId: 'k-3' } });
    await eventually(() => first.lines.includes('SENT acknowledge'), 'the acknowledgement to reach the outbox', 20_000);
    await first.kill();
    expect(templates(dataDir, 'd-3')).toEqual(['acknowledge']);

    const second = await startDurableChild(dataDir, { RAPPORT_TIME_SCALE: '1' });
    const run = await eventually(async () => (await runsOf(second.engine, 'd-3')).find((r) => r.journeyId === JOURNEY && r.status !== 'running'), 'the run to end', 30_000);
    // The step found its own unfinished claim: the message may have gone out, so it is not sent again.
    expect(run.status).toBe('failed');
    const acknowledge = (await messagesOf(second.engine, 'd-3')).find((m) => m.stepId === 'acknowledge');
    expect(acknowledge).toMatchObject({ status: 'failed', reason: expect.stringContaining('not sent again') as unknown });
    expect(templates(dataDir, 'd-3')).toEqual(['acknowledge']);
    await second.kill();
  }, 120_000);
});
