/**
 * Audit 6 (issue 10, erasure vs what a failed broadcast send leaves in execution history).
 *
 * Promise (README "Privacy: erasure"): after DELETE answers no file of the data folder names the customer's
 * email; "A running broadcast's execution state names no customer"; of Step Functions history (what erasure
 * cannot reach in AWS): "no traits, no address". The embedded journal: "nothing in it names the customer once its
 * end has been reported" (infra/embedded/execution-journal.ts).
 *
 * How it breaks: a broadcast goes to a segment; the email provider refuses one recipient with an error quoting the
 * address — SES does exactly that: `MessageRejected: Email address is not verified. The following identities failed
 * the check in region EU-WEST-1: <address>`. The gateway rethrows the channel's own error, the page rethrows it,
 * and the broadcast's execution ends FAILED with `error: "...: <address>"`. The customer is then erased and the
 * engine stopped cleanly: `<data>/broadcasts/executions/journal.ndjson` still names their address (for 90 days of
 * history; in AWS: the ExecutionFailed cause in Step Functions history). (Besides: one recipient's refusal fails
 * the whole broadcast for everyone after them.)
 *
 * Cause: functions/journeys/gateway.ts:199 (`throw outcomeUnknown(error)`: the provider's message as is),
 * functions/broadcasts/service.ts:282 (`throw failure.error`: the page fails with it), and
 * infra/embedded/step-functions.ts:393 (the ended execution keeps `error`); erasure compacts only the journeys'
 * journal (infra/embedded/engine.ts:487 `journeys.sfn.compact()`), and compaction keeps `error` anyway.
 *
 * Suggested fix: never let a provider's message leave the gateway: record it in the recipient's message record (in
 * their partition, erased with them) and fail/skip that recipient with an error naming only the channel and the
 * provider's error code; a non-retryable refusal of one recipient should not fail the page.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { client } from '../helpers/client';
import { filesNaming } from '../helpers/data-folder';
import { startTestEngine } from '../helpers/engine';

const dataDir = mkdtempSync(join(tmpdir(), 'rapport-a6-provider-error-'));
const email = 'a6.provider.err@example.org';

describe('a broadcast send the provider refused naming the address, then erasure', () => {
  let engine: Engine | undefined;
  afterAll(async () => {
    await engine?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('leaves no file naming the address', async () => {
    engine = await startTestEngine({
      dataDir,
      sweepEveryMs: 0,
      logLevel: 'SILENT',
      sendPolicy: { quietHours: undefined },
      faults: {
        channels: (call) =>
          call.channel === 'email' && call.message.to === email
            ? { error: Object.assign(new Error(`Email address is not verified. The following identities failed the check in region EU-WEST-1: ${email}`), { name: 'MessageRejected' }) }
            : undefined,
      },
    });
    const api = client(engine);
    const id = 'a6-provider-err-1';
    await api.sendAndSettle([
      { type: 'identify', userId: id, messageId: `${id}-1`, traits: { email, tags: ['crm-gold'] } },
      { type: 'identify', userId: 'a6-provider-ok-1', messageId: 'a6-provider-ok-1-1', traits: { email: 'a6.provider.ok@example.org', tags: ['crm-gold'] } },
    ]);
    // A broadcast to them: the provider refuses their email, quoting the address.
    const res = await fetch(`${engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'a6-provider-news', segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you', kind: 'marketing' } }) });
    expect(res.status).toBe(201);
    let status = '';
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 100));
      await engine.settle();
      const view = (await api.get('/v1/broadcasts/a6-provider-news')).json as unknown as { status: string };
      status = view.status;
      const execution = engine.broadcasts.sfn.executions.get('broadcast-a6-provider-news');
      if (execution && execution.status !== 'RUNNING') break;
    }
    expect(engine.broadcasts.sfn.executions.get('broadcast-a6-provider-news')?.status, `the broadcast's execution ended (broadcast ${status})`).not.toBe('RUNNING');

    expect((await api.del(`/v1/customers/${id}`)).status).toBe(200);
    await engine.stop();
    engine = undefined;
    expect(filesNaming(dataDir, [email]), 'files naming the erased customer\'s address').toEqual([]);
  }, 60_000);
});
