/**
 * Erasure is complete while a journey step is mid-send (decision 8): a welcome
 * email and a support webhook are in the provider's hands when DELETE runs (the
 * step claimed the message, the channel has not answered). When the channel
 * answers after DELETE, the step's late writes (the message record it settles,
 * the outbox line the message leaves) are undone, so once DELETE answered and the
 * steps ended, no item and no file of the data folder names the customer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { client } from '../helpers/client';
import { allItems, filesNaming } from '../helpers/data-folder';
import { startTestEngine } from '../helpers/engine';
import { holdChannel } from '../helpers/journeys';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('erasure while a journey step is mid-send', () => {
  it.each([
    { channel: 'email' as const, id: 'ms-email-5521', address: 'ms.email.5521@example.org', event: { event: 'Signed Up', properties: {} } },
    { channel: 'webhook' as const, id: 'ms-hook-5522', address: 'ms.hook.5522@example.org', event: { event: 'Complaint Filed', properties: { complaintId: 'c-5522', subject: 'late parcel' } } },
  ])('$channel: the message the provider answers for after DELETE leaves no record and no outbox line', async ({ channel, id, address, event }) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rapport-erasure-mid-send-'));
    dirs.push(dataDir);
    const engine = await startTestEngine({ dataDir, sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: undefined } });
    const api = client(engine);
    await api.sendAndSettle([{ type: 'identify', userId: id, traits: { email: address, name: 'Mid Send' } }]);
    const hold = holdChannel(engine, channel, id);

    // Act: the step claims the message and hands it to the channel, which answers only after DELETE did.
    await api.send({ type: 'track', userId: id, ...event });
    await hold.held;
    expect((await api.del(`/v1/customers/${id}`)).status).toBe(200);
    hold.release();
    // The run was stopped mid-step; its step invocation runs on until the channel answered.
    await engine.journeys.sfn.idle();
    await engine.settle();

    // Assess: nothing in memory, no item, no file names the customer.
    expect(engine.outbox.entries.filter((m) => JSON.stringify(m).includes(id))).toEqual([]);
    expect(engine.deadLetters).toEqual([]);
    await engine.stop();
    expect((await allItems(dataDir)).filter(({ item }) => item.includes(id) || item.includes(address))).toEqual([]);
    expect(filesNaming(dataDir, [id, address])).toEqual([]);
  }, 60_000);
});
