/**
 * A one-click unsubscribe clicked after the erasure, whose delivery to the profile consumer dead-letters, still reaches
 * the comeback (found by the twelfth audit). With no new life yet, the consumer parks the click's denial beside the
 * tombstone for the comeback to fold in. Here DynamoDB refuses the parked denial's write on every attempt of the
 * delivery, and the event is dead-lettered. The sink's `handOnDenials` judged the click by `belongsAfter` (dated and
 * received after the erasure: "a new life's event"), handed nothing on, and the redaction removed the letter (its
 * source, the link, starts no new life): the person who came back 31 days later (ingest's hold expired) got the
 * welcome email. It now judges by the source-aware `startsNewLife`, as the consumer does: the click is parked.
 * Control: delivered, the click is parked and folded in.
 */
import { describe, expect, it } from 'vitest';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import type { DynamoCall } from '../../infra/embedded/faults';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { laterOn, startTestEngine } from '../helpers/engine';
import { outboxFor } from '../helpers/journeys';

async function scenario(id: string, parkFails: boolean) {
  const clock = new VirtualClock('2026-03-02T10:00:00Z');
  let armed = false;
  let refused = 0;
  const engine = await startTestEngine({
    clock,
    sweepEveryMs: 0,
    logLevel: 'SILENT',
    sendPolicy: { quietHours: undefined },
    faults: {
      dynamo: (call: DynamoCall) => {
        const hit = armed && call.table === PROFILE_TABLE && call.operation === 'PutItem' && JSON.stringify(call.input).includes('parked-denial');
        if (hit) refused++;
        return hit ? 'InternalServerError' : undefined;
      },
    },
  });
  const later = laterOn(clock, { engine });
  try {
    const api = client(engine);
    await api.send([{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Signed Up' }]);
    await later(60_000);
    const welcome = outboxFor(engine, id).find((m) => m.channel === 'email' && 'headers' in m && m.headers['List-Unsubscribe']) as { headers: Record<string, string> } | undefined;
    const link = /^<(.+)>$/.exec(welcome!.headers['List-Unsubscribe']!)![1]!;
    expect((await api.del(`/v1/customers/${id}`)).status).toBe(200);
    await later(60_000);

    // The person clicks the old email's one-click link; the consumer's parking fails on every attempt (or not).
    armed = parkFails;
    const lettered: string[] = [];
    const push = engine.deadLetters.push.bind(engine.deadLetters);
    engine.deadLetters.push = (...letters) => {
      lettered.push(...letters.map((l) => `${l.rule} ${String((l.event.detail as { event?: string }).event)}`));
      return push(...letters);
    };
    const res = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    const clicked = res.status === 200 && (await res.text()).includes('You are unsubscribed');
    await clock.idle();
    await engine.settle();
    for (let minute = 0; minute < 60; minute++) await later(60_000);
    armed = false;
    engine.deadLetters.push = push;
    const letters = ((await api.get('/v1/admin/dead-letters')).json as unknown as { deadLetters: unknown[] }).deadLetters.length;

    // 31 days later (ingest's 30-day hold has expired; the 47-day tombstone lives) they come back and sign up.
    await later(31 * 86_400_000);
    const before = outboxFor(engine, id).length;
    await api.send([{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Signed Up' }]);
    await later(60_000);
    return {
      clicked,
      deadLettered: refused > 0 && lettered.includes('profile-consumer Unsubscribed'),
      letters,
      consent: (await api.customer(id)).consent.email?.status,
      emailsToNewLife: outboxFor(engine, id).slice(before).filter((m) => m.channel === 'email').length,
    };
  } finally {
    await engine.stop();
  }
}

describe('a one-click unsubscribe after the erasure whose delivery dead-letters', () => {
  it('control: delivered, it is parked and the comeback 31 days later is unsubscribed', async () => {
    expect(await scenario('a12-click-ctl', false)).toEqual({ clicked: true, deadLettered: false, letters: 0, consent: 'denied', emailsToNewLife: 0 });
  }, 60_000);

  it('dead-lettered, it is still parked and the comeback 31 days later is unsubscribed', async () => {
    expect(await scenario('a12-click-dlq', true)).toEqual({ clicked: true, deadLettered: true, letters: 0, consent: 'denied', emailsToNewLife: 0 });
  }, 60_000);
});
