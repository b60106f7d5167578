/**
 * A spam complaint made after the erasure, on the erased life's email, whose feedback function dead-letters, still
 * reaches the new life (found by the twelfth audit). X gets the welcome email and is erased. Later the person marks
 * that email as spam: SES's complaint event is dated then (after the erasure) and the feedback function, during an
 * EventBridge outage, cannot publish its `Message Complained` (ThrottlingException past the retries): the SES event is
 * dead-lettered. The dead-letter sink's check writes the 30-day hold (`XH#`), then `handOnDenials` hands the complaint
 * on. It took the derived complaint (dated after the erasure, received after it completed) for a new life's event and
 * parked nothing; it now judges by the source-aware `startsNewLife` (SES feedback starts no new life), so the
 * complaint is parked beside the tombstone as a delivered one is, and folded into the comeback 31 days later (the hold
 * expired, the tombstone lives 47 days): suppressed, no welcome email. Control: without the outage, the same.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { laterOn, useTestEngine } from '../helpers/engine';
import { outboxFor } from '../helpers/journeys';

const clock = new VirtualClock('2026-03-02T10:00:00Z');
let outage = false;
let refused = 0;
const t = useTestEngine({
  clock,
  sendPolicy: { quietHours: undefined },
  sweepEveryMs: 0,
  logLevel: 'SILENT',
  faults: { putEvents: ({ entries }) => (outage && entries.some((e) => e.DetailType === 'Message Complained') ? (refused++, 'ThrottlingException') : undefined) },
});
const later = laterOn(clock, t);

async function scenario(id: string, withOutage: boolean) {
  await t.api.send([{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Signed Up' }]);
  await later(60_000);
  const welcome = outboxFor(t.engine, id).find((m) => m.channel === 'email');
  expect(welcome).toBeDefined();
  // SES's complaint event for that email, built now and delivered below (the outbox forgets the email on erasure).
  const rule = t.engine.bus.rules.find((r) => r.name === 'ses-feedback')!;
  const deliver = rule.target;
  const held: Array<Parameters<typeof deliver>> = [];
  rule.target = (...args) => void held.push(args);
  t.engine.feedback(welcome!.outboxId, { type: 'complaint' });
  await clock.idle();
  rule.target = deliver;
  expect(held).toHaveLength(1);

  expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
  await later(60_000);

  // After the erasure the person marks the old welcome email as spam: SES's event is dated now. It reaches the
  // feedback function during an EventBridge outage (or not).
  const now = clock.now().toISOString();
  for (const [event] of held) {
    const detail = event.detail as { complaint: { timestamp: string; arrivalDate: string } };
    detail.complaint.timestamp = now;
    detail.complaint.arrivalDate = now;
    (event as { time: string }).time = now;
  }
  outage = withOutage;
  const lettered: string[] = [];
  const push = t.engine.deadLetters.push.bind(t.engine.deadLetters);
  t.engine.deadLetters.push = (...letters) => {
    lettered.push(...letters.map((l) => String(l.event.source)));
    return push(...letters);
  };
  const delivering = Promise.all(held.map((args) => Promise.resolve(deliver(...args))));
  await clock.idle();
  await later(3_600_000);
  await delivering;
  outage = false;
  t.engine.deadLetters.push = push;
  const letters = ((await t.api.get('/v1/admin/dead-letters')).json as unknown as { deadLetters: unknown[] }).deadLetters.length;

  // 31 days later (the 30-day hold has expired; the 47-day tombstone lives) X comes back with the same address.
  await later(31 * 86_400_000);
  const before = outboxFor(t.engine, id).length;
  await t.api.send([{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Signed Up' }]);
  await later(60_000);
  return {
    deadLettered: lettered.includes('aws.ses') && refused > 0,
    letters,
    suppression: ((await t.api.customer(id)).suppression as { email?: { reason: string } }).email?.reason,
    emailsToNewLife: outboxFor(t.engine, id).slice(before).filter((m) => m.channel === 'email').length,
  };
}

describe('a spam complaint made after the erasure whose feedback function dead-letters', () => {
  it('control: delivered, it is parked and suppresses the comeback 31 days later', async () => {
    expect(await scenario('a12-ses-late-ctl', false)).toEqual({ deadLettered: false, letters: 0, suppression: 'complaint', emailsToNewLife: 0 });
  }, 60_000);

  it('dead-lettered, it still suppresses the comeback 31 days later', async () => {
    expect(await scenario('a12-ses-late', true)).toEqual({ deadLettered: true, letters: 0, suppression: 'complaint', emailsToNewLife: 0 });
  }, 60_000);
});
