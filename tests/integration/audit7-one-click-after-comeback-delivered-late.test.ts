/**
 * Audit 7 (issue 10, consent vs the "came back" rule; the sixth audit's d67b157: a back-dated denial waits
 * NEW_LIFE_WAIT_MS for the new life).
 *
 * Promise (README "Privacy: erasure"): "Once the customer came back, the old link unsubscribes their new life: the
 * click is the person's will now"; "Which consent change wins": "a denial received after a grant happened always
 * wins"; EventBridge delivers "in no order" (ARCHITECTURE, facts), and consent must hold "under any timing".
 *
 * How it breaks: X is erased. X comes back: their `identify` (email, `consent: {email: true}`) is received (202).
 * Then X clicks the one-click link of an email from their erased life: "You are unsubscribed". EventBridge delivers
 * the click to the profile consumer before the comeback (here: the comeback's delivery is late). The click finds
 * no live profile, waits once (1 s) for a new life that is not being written, and is dropped (its hold was undone
 * at ingest: no new life yet either). The comeback then starts the new life `granted`: the customer was told they
 * are unsubscribed, and marketing goes on.
 *
 * Cause: functions/profile/consumer.ts `applyGroup` (the NEW_LIFE_WAIT_MS wait, then the drop) and
 * functions/profile/store.ts `#undoHoldIfErased`: a denial received after the erasure completed is kept only if the
 * new life is already written when it is processed; nothing keeps it for a new life whose first event was received
 * before it but is applied after it.
 *
 * Suggested fix: keep a denial received after the erasure completed (its receipt as key, under the tombstone's
 * hashed key, for the tombstone's life) and have the event that starts the new life fold in the denials received
 * after its own receipt; or keep ingest's hold while a tombstone lives and let the new life's first write read it.
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

describe('a one-click unsubscribe of the old life, after the comeback was received', () => {
  it('unsubscribes the new life, whatever order the consumer gets them in', async () => {
    const id = 'a7-oneclick-comeback';
    await t.api.send([{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Signed Up' }]);
    await clock.idle();
    const welcome = outboxFor(t.engine, id).find((m) => m.channel === 'email' && 'headers' in m && m.headers['List-Unsubscribe']) as { headers: Record<string, string> } | undefined;
    const link = /^<(.+)>$/.exec(welcome!.headers['List-Unsubscribe']!)![1]!;

    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
    await later(60_000);

    // The comeback is received; its delivery to the profile consumer is late.
    const late = holdConsumer(t.engine, (d) => d.messageId === `${id}-comeback`);
    await t.api.send({ type: 'identify', userId: id, messageId: `${id}-comeback`, traits: { email: `${id}@example.com`, consent: { email: true } } });
    await later(60_000);

    // The customer clicks the old link: told they are unsubscribed.
    const res = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('You are unsubscribed');
    await clock.idle();
    await t.engine.settle();

    await late.release();
    await clock.idle();
    expect((await t.api.customer(id)).consent.email.status, 'consent.email of the new life after the click').toBe('denied');
  }, 30_000);
});
