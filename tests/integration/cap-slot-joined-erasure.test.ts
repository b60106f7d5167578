/**
 * Audit 5 (issue 10, erasure while a send races it: the frequency cap's item of a joined customer).
 *
 * Promise (README "Privacy: erasure"): after DELETE answers, no item names the customer; every writer, journey
 * steps' writes included, "writes, then reads the tombstone ... and deletes what it wrote if the customer is
 * erased". DELETE of either id of a customer joined by alias erases both.
 *
 * How it breaks: a run started under id E before an alias joined E into Y goes on under E; its marketing send
 * counts against the cap of the live customer, so the gateway claims the cap slot in Y's partition
 * (`journeys.claimCapSlot(profile.id, ...)`, functions/journeys/gateway.ts:162, `C#Y / CAP`). Its write-then-check
 * after the claim (gateway.ts:177) reads the tombstone of the message's id, E, and undoes the message record and the
 * CAP item only "if this send wrote it under this id" (`profile.id === customerId`): the CAP item it wrote under Y
 * is left. When DELETE Y (which erases E too) queries Y's partition before that cap write lands, DELETE answers 200
 * and then the cap item is written: `C#Y / CAP` (the customer's id as its key, their send's execution and time)
 * outlives the erasure: until its TTL (the cap window, 7 days by default, then AWS's TTL lag of up to days) in AWS,
 * for good in the embedded engine (dynalite never deletes a TTL'd item; its files keep it).
 *
 * Suggested fix: undo the CAP claim under the id it was written under: check the tombstone of `profile.id` too (or
 * of every id of `ids`) after the claim and delete `C#<profile.id> / CAP` (or take this send's claim out of it) when
 * that id is erased (and not of a new life).
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FinalizeRequestMiddleware } from '@smithy/types';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { profileItemsNaming, startTestEngine } from '../helpers/engine';

const dir = mkdtempSync(join(tmpdir(), 'rapport-a5-cap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const OLD = 'a5-cap-old-8851';
const LIVE = 'a5-cap-live-8852';

describe('a send of a run under a joined id, racing the erasure of the customer it was joined into', () => {
  it('leaves no frequency-cap item naming the erased customer', async () => {
    mkdirSync(join(dir, 'journeys'));
    cpSync('workflows/templates', join(dir, 'templates'), { recursive: true });
    writeFileSync(
      join(dir, 'journeys', 'nudge.yaml'),
      ['id: nudge', 'name: Nudge', 'version: 1', 'trigger: { event: Nudge Requested }', 'entry: { reentry: always }', 'steps:', '  - id: pause', '    wait: 2s', '  - id: send-nudge', '    send: { channel: email, template: we-value-you }', ''].join('\n'),
    );
    const clock = new VirtualClock('2026-03-02T10:00:00Z');
    const engine = await startTestEngine({ clock, journeysDir: join(dir, 'journeys'), templatesDir: join(dir, 'templates'), sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: undefined } });
    // Hold the cap claim written under the live customer until DELETE has answered.
    let held: () => void = () => {};
    const reached = new Promise<void>((resolve) => (held = resolve));
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    let hold = true;
    const stall: FinalizeRequestMiddleware<object, object> = (next, context) => async (args) => {
      const input = args.input as { Item?: Record<string, { S?: string }>; Key?: Record<string, { S?: string }> };
      const key = input.Item ?? input.Key;
      if (hold && (context.commandName === 'PutItemCommand' || context.commandName === 'UpdateItemCommand') && key?.PK?.S === `C#${LIVE}` && key.SK?.S === 'CAP') {
        hold = false;
        held();
        await released;
      }
      return next(args);
    };
    engine.dynamo.client.middlewareStack.addRelativeTo(stall as never, { name: 'audit5StallCapClaim', relation: 'after', toMiddleware: 'retryMiddleware' });
    try {
      const api = client(engine);
      await api.sendAndSettle([
        { type: 'identify', userId: OLD, traits: { email: 'a5.cap.old.8851@example.org' } },
        { type: 'identify', userId: LIVE, traits: { email: 'a5.cap.live.8852@example.org' } },
        { type: 'track', userId: OLD, event: 'Nudge Requested', properties: {} },
      ]);
      // The run under OLD waits; meanwhile OLD is joined into LIVE.
      await api.sendAndSettle([{ type: 'alias', previousId: OLD, userId: LIVE }]);
      expect(((await api.get(`/v1/customers/${LIVE}`)).json as { mergedIds?: string[] }).mergedIds).toEqual([OLD]);

      // The run's wait ends on the clock; its send claims the cap slot under LIVE; DELETE LIVE answers before that write lands.
      const running = clock.run(clock.now().getTime() + 60_000);
      await reached;
      expect((await api.del(`/v1/customers/${LIVE}`)).status).toBe(200);
      release();
      await running;
      await engine.journeys.sfn.idle();
      await engine.settle();

      expect(engine.outbox.entries.filter((m) => JSON.stringify(m).includes('a5.cap.')), 'messages sent').toEqual([]);
      expect(await profileItemsNaming(engine, [LIVE, OLD]), 'items naming the erased customer after DELETE answered and the send ended').toEqual([]);
    } finally {
      release();
      await engine.stop();
    }
  }, 120_000);
});
