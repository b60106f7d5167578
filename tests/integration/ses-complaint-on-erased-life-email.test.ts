/**
 * An SES complaint on an erased customer's old email, received after the erasure, suppresses their new life. X signs
 * up and gets the welcome email. X is erased. X's comeback identify (same address, `consent: {email: true}`) is
 * received, its delivery to the profile consumer late (as in one-click-before-late-comeback.test.ts). Then X acts on
 * the old email of the erased life:
 * - X clicks its one-click unsubscribe link; the click, processed before the new life exists, is parked beside the
 *   tombstone and folded into the comeback: X's new life ends `denied` (README: "Once the customer came back, the old
 *   link unsubscribes their new life");
 * - X had marked it as spam; SES's complaint reaches the feedback function only now (EventBridge delivers late;
 *   received after the erasure and after the comeback's receipt). The feedback function finds no live profile (the
 *   comeback is not applied yet) but a completed tombstone: it publishes `Message Complained` (`handleSesFeedback`
 *   step 2), which the profile consumer parks beside the tombstone, and the comeback folds it in: the new life is
 *   suppressed (a complaint received after a grant, "nothing lifts it");
 * - the same complaint delivered once the comeback is applied suppresses the new life.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { holdConsumer, useTestEngine } from '../helpers/engine';
import { outboxFor } from '../helpers/journeys';

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
const later = async (ms: number) => {
  const at = clock.now().getTime() + ms;
  while (clock.advance(at)) await clock.idle();
};

/** X's new life after X acted on the old welcome email (`act`) between the comeback's receipt and its delivery. */
async function scenario(id: string, act: 'one-click' | 'complaint' | 'hard-bounce' | 'complaint-after-comeback') {
  await t.api.send([{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Signed Up' }]);
  await clock.idle();
  const welcome = outboxFor(t.engine, id).find((m) => m.channel === 'email' && 'headers' in m && m.headers['List-Unsubscribe']) as { outboxId: string; headers: Record<string, string> } | undefined;
  expect(welcome).toBeDefined();
  const link = /^<(.+)>$/.exec(welcome!.headers['List-Unsubscribe']!)![1]!;

  // SES reports the complaint; EventBridge is late delivering it to the feedback function (after all below).
  const rule = t.engine.bus.rules.find((r) => r.name === 'ses-feedback')!;
  const deliver = rule.target;
  const held: Array<Parameters<typeof deliver>> = [];
  if (act !== 'one-click') {
    rule.target = (...args) => void held.push(args);
    t.engine.feedback(welcome!.outboxId, act === 'hard-bounce' ? { type: 'bounce', bounceType: 'Permanent' } : { type: 'complaint' });
    await clock.idle();
    rule.target = deliver;
    expect(held).toHaveLength(1);
  }

  expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
  await later(60_000);

  // The comeback is received; its delivery to the profile consumer is late.
  const late = holdConsumer(t.engine, (d) => d.messageId === `${id}-comeback`);
  await t.api.send({ type: 'identify', userId: id, messageId: `${id}-comeback`, traits: { email: `${id}@example.com`, consent: { email: true } } });
  await later(60_000);

  if (act === 'one-click') {
    const res = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    expect(res.status).toBe(200);
  } else if (act === 'complaint' || act === 'hard-bounce') {
    await Promise.all(held.map((args) => Promise.resolve(deliver(...args))));
  }
  await clock.idle();
  await t.engine.settle();
  // Parked, not kept: the bus log keeps neither the SES event (the old address) nor the event it became.
  if (act !== 'complaint-after-comeback') expect(t.engine.bus.log.filter((e) => e.source === 'aws.ses' || ['Message Complained', 'Message Bounced'].includes(e['detail-type']))).toEqual([]);

  await late.release();
  await clock.idle();
  if (act === 'complaint-after-comeback') {
    await Promise.all(held.map((args) => Promise.resolve(deliver(...args))));
    await clock.idle();
  }
  const customer = await t.api.customer(id);
  return { consent: customer.consent.email.status, suppression: customer.suppression.email };
}

describe('acting on an old email of the erased life after the comeback was received', () => {
  it('control: a one-click unsubscribe unsubscribes the new life', async () => {
    expect((await scenario('a9-old-mail-click', 'one-click')).consent).toBe('denied');
  }, 30_000);

  it('control: the same SES complaint, delivered once the comeback is applied, suppresses the new life', async () => {
    expect((await scenario('a9-old-mail-complaint-late', 'complaint-after-comeback')).suppression).toMatchObject({ reason: 'complaint' });
  }, 30_000);

  it('an SES complaint suppresses the new life', async () => {
    expect((await scenario('a9-old-mail-complaint', 'complaint')).suppression).toMatchObject({ reason: 'complaint' });
  }, 30_000);

  it('an SES hard bounce suppresses the new life', async () => {
    expect((await scenario('a9-old-mail-bounce', 'hard-bounce')).suppression).toMatchObject({ reason: 'hard-bounce' });
  }, 30_000);
});
