/**
 * A repeated erasure keeps a late unsubscribe even while it is still running (issue 10: consent is law whatever the
 * timing). Welcome email, erasure E1, then a click on the old email's one-click link, held on its way to the profile
 * consumer (`holdConsumer`). The DSAR tool's second DELETE (E2) is interrupted after its tombstone (with `erasedSince`,
 * when E1 completed) and its deletes, before it is marked complete (DynamoDB fails the completion UpdateItem). The click
 * reaches the consumer now; then the tool retries the DELETE, which completes E2; a day later the person comes back:
 * unsubscribed, no welcome email. `receivedAfterErasure` judges by `erasedSince` whether or not the repeat has
 * completed (before, any incomplete tombstone dropped the click as the erased life's). Control: the click reaching the
 * consumer once E2 completed.
 */
import { describe, expect, it } from 'vitest';
import type { DynamoCall } from '../../infra/embedded/faults';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { holdConsumer, laterOn, useTestEngine } from '../helpers/engine';
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
const later = laterOn(clock, t);

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
    expect(await scenario('mid-e2-ctl', 'after-retry')).toEqual({ clicked: true, interrupted: true, resumed: true, held: 1, consent: 'denied', emailsToNewLife: 0 });
  }, 60_000);

  it('the click arrives while E2 is interrupted; it is still kept for the comeback', async () => {
    expect(await scenario('mid-e2', 'while-interrupted')).toEqual({ clicked: true, interrupted: true, resumed: true, held: 1, consent: 'denied', emailsToNewLife: 0 });
  }, 60_000);
});
