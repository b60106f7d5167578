/**
 * A repeated erasure finished by the sweep keeps a late unsubscribe too (issue 10). As
 * erasure-repeated-keeps-late-click.test.ts, but the second DELETE is interrupted before its tombstone (DynamoDB fails
 * the tombstone PutItem; the DSAR tool does not retry) and the sweep finishes it two hours later
 * (`resumeInterruptedErasures`). The erasure's progress items carry `erasedSince` (when E1 completed, computed by the
 * DELETE), and a resumed erasure takes it from there, so its tombstone keeps it and the late click is parked: the
 * comeback is unsubscribed and gets no welcome email (before, the resumed tombstone lacked it and the click was dropped).
 * Control: the DSAR tool retrying the interrupted DELETE itself.
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
    // The second DELETE's tombstone write fails: its progress items are in (the sweep's entry), no tombstone is.
    dynamo: (call: DynamoCall) => {
      const item = call.input.Item as Record<string, { S?: string }> | undefined;
      return failing && call.operation === 'PutItem' && item?.itemType?.S === 'tombstone' ? 'InternalServerError' : undefined;
    },
  },
});
const later = laterOn(clock, t);

async function scenario(id: string, finishedBy: 'retry' | 'sweep') {
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

  // The DSAR tool's retry of the same erasure, interrupted before its tombstone.
  failing = true;
  const interrupted = (await t.api.del(`/v1/customers/${id}`)).status >= 500;
  failing = false;
  let finished: unknown;
  if (finishedBy === 'retry') finished = (await t.api.del(`/v1/customers/${id}`)).status;
  else {
    await later(2 * 3_600_000);
    finished = (await t.engine.sweep()).erasures;
  }
  await later(60_000);
  const held = late.held.length;
  await late.release();
  await later(86_400_000);

  // They come back and sign up.
  const before = outboxFor(t.engine, id).length;
  await t.api.send([{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Signed Up' }]);
  await later(60_000);
  return {
    clicked,
    interrupted,
    finished,
    held,
    consent: (await t.api.customer(id)).consent.email?.status,
    emailsToNewLife: outboxFor(t.engine, id).slice(before).filter((m) => m.channel === 'email').length,
  };
}

describe('a second erasure interrupted and finished by the sweep while the click is in flight', () => {
  it('control: the DSAR tool retries the interrupted DELETE; the late click is kept for the comeback', async () => {
    expect(await scenario('resume-retry', 'retry')).toEqual({ clicked: true, interrupted: true, finished: 200, held: 1, consent: 'denied', emailsToNewLife: 0 });
  }, 60_000);

  it('the sweep finishes it; the late click is still kept for the comeback', async () => {
    expect(await scenario('resume-sweep', 'sweep')).toEqual({ clicked: true, interrupted: true, finished: { resumed: 1, failed: 0 }, held: 1, consent: 'denied', emailsToNewLife: 0 });
  }, 60_000);
});
