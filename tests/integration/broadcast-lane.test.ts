/**
 * Broadcasts never delay triggered journeys (issue 14): a broadcast's page is held in the middle of a send (its
 * provider call blocked) while a customer signs up; the welcome journey's first email goes out all the same,
 * because the page runs in a lane of its own (its own function and concurrency), not in the journeys' steps.
 * Then the broadcast resumes and completes, its recipient sent once.
 */
import { describe, expect, it } from 'vitest';
import type { EmailMessage } from '../../functions/journeys';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { useTestEngine } from '../helpers/engine';
import { eventually } from '../helpers/journeys';

const START = Date.parse('2026-03-02T10:00:00Z');

describe('a broadcast in progress and a triggered journey', () => {
  const clock = new VirtualClock(START);
  const world = useTestEngine({ clock, sweepEveryMs: 0, sendPolicy: { quietHours: undefined }, logLevel: 'SILENT' });

  it("sends the journey's first email while a broadcast page is blocked in its provider call", async () => {
    // Prepare: a member of the broadcast's segment; the broadcast's provider call blocks until released.
    await world.api.sendAndSettle({ type: 'identify', userId: 'bl-member', traits: { email: 'bl-member@example.com', tags: ['crm-gold'] } });
    const outbox = world.engine.outbox;
    const send = outbox.email.bind(outbox);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let held = false;
    outbox.email = async (message: EmailMessage) => {
      if (message.tags?.journey?.startsWith('broadcast:')) {
        held = true;
        await released;
      }
      return send(message);
    };
    const posted = await fetch(`${world.engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'bl-news', segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you' } }) });
    expect(posted.status).toBe(201);
    await eventually(() => held, 'the broadcast page to reach its provider call', 10_000);

    // Act: a sign-up while the page is held.
    await world.api.send([{ type: 'identify', userId: 'bl-new', traits: { email: 'bl-new@example.com' } }, { type: 'track', userId: 'bl-new', event: 'Signed Up', messageId: 'bl-new-signup' }]);

    // Assess: the welcome email goes out while the broadcast is still held in the middle of its page.
    await eventually(() => outbox.entries.some((m) => m.channel === 'email' && m.tags.customer === 'bl-new' && m.tags.step === 'send-welcome'), 'the welcome email during the broadcast', 10_000);
    expect(outbox.entries.filter((m) => m.channel === 'email' && m.tags.journey === 'broadcast:bl-news')).toEqual([]);
    expect(((await world.api.get('/v1/broadcasts/bl-news')).json as unknown as { status: string }).status).toBe('running');

    // The broadcast goes on once its provider answers, and completes.
    release();
    await clock.run(START + 60_000);
    expect(outbox.entries.filter((m) => m.channel === 'email' && m.tags.journey === 'broadcast:bl-news').map((m) => m.channel === 'email' && m.tags.customer)).toEqual(['bl-member']);
    expect(((await world.api.get('/v1/broadcasts/bl-news')).json as unknown as { status: string; sent: number }).status).toBe('completed');
  });
});
