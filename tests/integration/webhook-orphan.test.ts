/**
 * A webhook step claims its message (`sending`) before the POST. When its run ends while the POST is
 * under way (a goal reached, the run stopped), no retry will come: the claim must not read as in
 * progress forever. The run's end marks it `unknown`, with why; an attempt that still finishes
 * records what it knows (`sent`).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { ended, eventually, holdChannel, messagesOf } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-webhook-orphan-'));
let engine: Engine;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
  writeFileSync(
    path.join(dir, 'journeys', 'ticket.yaml'),
    ['id: ticket', 'name: Ticket', 'version: 1', 'trigger: { event: Help Requested }', 'entry: { reentry: always }', 'goals:', '  - event: Order Completed', 'steps:', '  - id: post-ticket', '    webhook: { target: support, template: ticket }', ''].join('\n'),
  );
  writeFileSync(path.join(dir, 'templates', 'ticket.webhook.liquid'), '{ "customerId": {{ profile.id | json }} }');
  engine = await startTestEngine({ journeysDir: path.join(dir, 'journeys'), templatesDir: path.join(dir, 'templates'), sweepEveryMs: 0, logLevel: 'SILENT' });
  api = client(engine);
});
afterAll(async () => {
  await engine.stop();
  rmSync(dir, { recursive: true, force: true });
});

const postTicket = async (id: string) => (await messagesOf(engine, id)).find((m) => m.stepId === 'post-ticket');

describe('a webhook claim whose run ended mid-POST', () => {
  it.each([
    { id: 'orphan-died', outcome: 'the POST then dies', error: new Error('socket hang up'), status: 'unknown' },
    { id: 'orphan-late', outcome: 'the POST then succeeds', error: undefined, status: 'sent' },
  ])('is marked unknown with why when the run ends; $outcome: $status', async ({ id, error, status }) => {
    const hold = holdChannel(engine, 'webhook', id);
    await api.send([{ type: 'identify', userId: id, traits: {} }, { type: 'track', userId: id, event: 'Help Requested' }]);
    await hold.held;
    expect(await postTicket(id)).toMatchObject({ status: 'sending' });

    // The goal ends the run while the POST is in the receiver's hands.
    await api.sendAndSettle([{ type: 'track', userId: id, event: 'Order Completed', properties: { orderId: `o-${id}`, revenue: 10 } }]);
    expect((await ended(engine, id, 'ticket')).status).toBe('converted');
    expect(await postTicket(id)).toMatchObject({ status: 'unknown', reason: 'run converted while the send was under way: it may have gone out' });

    hold.release(error);
    await engine.journeys.sfn.idle();
    await eventually(async () => (await postTicket(id))?.status === status, `post-ticket of ${id} to read ${status}`);
  });
});
