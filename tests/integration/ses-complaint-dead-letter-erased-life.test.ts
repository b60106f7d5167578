/**
 * An SES complaint on an erased life's email, dead-lettered by the feedback function, still suppresses the new life
 * (audit 10). X gets the welcome email and marks it as spam; SES's complaint reaches the feedback function after X
 * was erased, and EventBridge throttles the function's `Message Complained` PutEvents past its retries: the SES event
 * is dead-lettered. The dead-letter sink's check hands on what the function would have published (the complaint,
 * naming no address: parked beside the tombstone, or sent to a new life) and writes its hold, then redacts the letter.
 * X comes back with the same address: suppressed. Control: without the outage, the same.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { useTestEngine } from '../helpers/engine';
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
const later = async (ms: number) => {
  const at = clock.now().getTime() + ms;
  while (clock.advance(at)) await clock.idle();
};

async function scenario(id: string, withOutage: boolean) {
  await t.api.send([{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Signed Up' }]);
  await clock.idle();
  const welcome = outboxFor(t.engine, id).find((m) => m.channel === 'email');
  expect(welcome).toBeDefined();

  // X marks it as spam; EventBridge is late delivering SES's complaint to the feedback function.
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

  // The complaint reaches the feedback function after the erasure completed (during an EventBridge outage, or not).
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
  // With the outage: the SES event was dead-lettered, its complaint handed on, the letter redacted.
  expect({ lettered, refused: refused > 0, left: t.engine.deadLetters.length }).toEqual(withOutage ? { lettered: ['aws.ses'], refused: true, left: 0 } : { lettered: [], refused: false, left: 0 });
  await t.engine.settle();
  outage = false;
  await later(60_000);

  // X comes back with the same address.
  await t.api.send({ type: 'identify', userId: id, traits: { email: `${id}@example.com`, consent: { email: true } } });
  await clock.idle();
  await t.engine.settle();
  return (await t.api.customer(id)).suppression.email;
}

describe('an SES complaint on the erased life received after the erasure', () => {
  it('control: delivered, it suppresses the new life', async () => {
    expect(await scenario('a10-ses-dl-ctl', false)).toMatchObject({ reason: 'complaint' });
  }, 60_000);

  it('dead-lettered during an EventBridge outage, it still suppresses the new life', async () => {
    expect(await scenario('a10-ses-dl', true)).toMatchObject({ reason: 'complaint' });
  }, 60_000);
});
