/**
 * Issue 10 (a one-click link of the erased life, clicked after the comeback was received; found by the seventh
 * audit). X is erased; X's comeback identify (`consent: {email: true}`) is received, its delivery to the profile
 * consumer late; X then clicks the one-click link of an email of the erased life and is told "You are unsubscribed".
 * Proves that the click, processed before the new life exists, is parked beside the tombstone (no id in it) and
 * folded into the new life when the comeback starts it: consent ends `denied`, as README promises ("Once the
 * customer came back, the old link unsubscribes their new life"), whatever order the consumer gets them in.
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
