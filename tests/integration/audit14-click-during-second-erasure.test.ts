/**
 * Audit 14 (issue 10, commit 9de2ca5): a repeated erasure keeps a late unsubscribe for the comeback.
 *
 * Promise: a click on an old email's one-click link after erasure E1, still on its way to the profile consumer when
 * the same erasure request comes again (E2, a DSAR tool's retry), is kept for the person's comeback: E2's tombstone
 * carries `erasedSince` (when E1 completed), so "a denial received since counts as received after the erasure".
 *
 * What I did: welcome email, E1, the click held on its way to the consumer (`holdConsumer`). The DSAR tool's second
 * DELETE is interrupted after its tombstone (with `erasedSince`) and deletes, before it is marked complete (DynamoDB
 * fails the completion UpdateItem: a 5xx). The click reaches the consumer now; then the tool retries the DELETE, which
 * resumes and completes E2. A day later the person comes back and signs up.
 *
 * Observed: `receivedAfterErasure` answers false for any tombstone not complete, `erasedSince` or not: the click,
 * received after E1 completed, is judged while E2 runs, taken for the erased life's and dropped (E2 had already
 * deleted its parked hold). The comeback is not unsubscribed and gets the welcome email against the click.
 * Control: the same, the click reaching the consumer once the retried DELETE has completed E2.
 */
import { describe, expect, it } from 'vitest';
import type { DynamoCall } from '../../infra/embedded/faults';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { holdConsumer, useTestEngine } from '../helpers/engine';
import { outboxFor } from '../helpers/journeys';

const clock = new VirtualClock('2026-03-02T10:00:00Z');
let failing = false;
const t = useTestEngine({
  clock,
  sendPolicy: { quietHours: undefined },
  sweepEveryMs: 0,
  logLevel: 'SILENT',
  faults: {
    // The second DELETE's completion fails: its tombstone is written (with `erasedSince`), its deletes done, not complete.
    dynamo: (call: DynamoCall) => failing && call.operation === 'UpdateItem' && String(call.input.UpdateExpression ?? '').includes('#completedAt = :completedAt') ? 'InternalServerError' : undefined,
  },
});
const later = async (ms: number) => {
  const at = clock.now().getTime() + ms;
  while (clock.advance(at)) await clock.idle();
  await t.engine.settle();
};

async function scenario(id: string, clickArrives: 'after-retry' | 'while-interrupted') {
  await t.api.send([{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Signed Up' }]);
  await later(60_000);
  const welcome = outboxFor(t.engine, id).find((m) => m.channel === 'email' && 'headers' in m && m.headers['List-Unsubscribe']) as { headers: Record<string, string> } | undefined;
  const link = /^<(.+)>$/.exec(welcome!.headers['List-Unsubscribe']!)![1]!;
  expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
  await later(60_000);

  // After the erasure the person clicks the old email's one-click link; the consumer is late with it.
  const late = holdConsumer(t.engine, (d) => d.userId === id && d.event === 'Unsubscribed');
  const res = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
  const clicked = res.status === 200 && (await res.text()).includes('You are unsubscribed');
  await later(60_000);

  // The DSAR tool's retry of the same erasure, interrupted before it completes.
  failing = true;
  const interrupted = (await t.api.del(`/v1/customers/${id}`)).status >= 500;
  failing = false;
  const held = late.held.length;
  if (clickArrives === 'while-interrupted') await late.release();
  await later(60_000);
  const retried = await t.api.del(`/v1/customers/${id}`);
  const resumed = retried.status === 200 && retried.json.resumed === true;
  await later(60_000);
  if (clickArrives === 'after-retry') await late.release();
  await later(86_400_000);

  // They come back and sign up.
  const before = outboxFor(t.engine, id).length;
  await t.api.send([{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Signed Up' }]);
  await later(60_000);
  return {
    clicked,
    interrupted,
    resumed,
    held,
    consent: (await t.api.customer(id)).consent.email?.status,
    emailsToNewLife: outboxFor(t.engine, id).slice(before).filter((m) => m.channel === 'email').length,
  };
}

describe('a late click reaching the consumer while the repeated erasure is interrupted', () => {
  it('control: the click arrives once the retried DELETE completed E2; it is kept for the comeback', async () => {
    expect(await scenario('a14-mid-e2-ctl', 'after-retry')).toEqual({ clicked: true, interrupted: true, resumed: true, held: 1, consent: 'denied', emailsToNewLife: 0 });
  }, 60_000);

  // BREAK (audit 14): a click received after E1 completed, applied while E2 is incomplete, is dropped (`receivedAfterErasure`
  // needs `completedAt` even when `erasedSince` says the erasure being repeated completed long ago); fix idea: with
  // `erasedSince` on the tombstone, judge by it alone (`receivedAt >= erasedSince`), complete or not (tried in a scratch
  // copy of store.ts: this test then passes; the parked denial is written after E2's deletes, so it survives them).
  it.fails('the click arrives while E2 is interrupted; it is still kept for the comeback', async () => {
    expect(await scenario('a14-mid-e2', 'while-interrupted')).toEqual({ clicked: true, interrupted: true, resumed: true, held: 1, consent: 'denied', emailsToNewLife: 0 });
  }, 60_000);
});
